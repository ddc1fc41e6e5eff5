"""Page-time benchmark: the web pages over a store with 100k traces (issue 15's 200 ms target).

On demand (not in the test suite)::

    .venv/bin/python bench/pages.py                  # SQLite, 100k traces, ~1 minute
    .venv/bin/python bench/pages.py --traces 20000 --postgres-url postgresql://root@127.0.0.1:5432/test

Seeds a fresh store (SQLite, and PostgreSQL when ``--postgres-url`` answers) with
``--traces`` traces over 30 days (keys on every trace, an error on 2 %, a
thumbs-down on 3 %, a drift judge score on 5 %) and ``--runs`` complete gate runs of
``--cases`` cases (each compared with the one before), then times each page through the
app in process (httpx's ASGI transport, a read key): the median and the worst of
``--reps`` requests. Page times are server time plus the transport, no socket.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import httpx

from evallock.records import EvalRecord, Feedback, Run, RunSummary, StoredDriftReport, Trace
from evallock.server import ServerSettings, create_api_key, create_app
from evallock.store import Store, open_store

TIERS = ("free", "pro", "enterprise")
INTENTS = ("refund", "billing", "shipping", "login", "other")


def seed(store: Store, count: int) -> str:
    """``count`` traces and their feedback and judge scores; one trace id to open."""
    rng = random.Random(7)
    now = datetime.now(UTC)
    down: list[Feedback] = []
    judged: list[tuple[str, int | None, str]] = []
    batch: list[Trace] = []
    for n in range(count):
        trace_id = uuid.UUID(int=rng.getrandbits(128)).hex
        intent = rng.choice(INTENTS)
        batch.append(
            Trace(
                trace_id=trace_id,
                timestamp=now - timedelta(seconds=rng.uniform(0, 30 * 86400)),
                input=f"Customer {n} asks about {intent}: " + "words " * rng.randint(5, 60),
                output="An answer that cites the policy. " * rng.randint(1, 8),
                latency_ms=rng.uniform(200, 3000),
                tokens_in=rng.randint(50, 900),
                tokens_out=rng.randint(20, 300),
                model="support-bot",
                error="upstream HTTP 500: overloaded" if rng.random() < 0.02 else None,
                keys={
                    "customer_tier": rng.choice(TIERS),
                    "intent": intent,
                    "prompt_version": rng.choice(("refund-v3", "refund-v4")),
                },
            )
        )
        if rng.random() < 0.03:
            rating = Feedback(
                feedback_id=f"fb-{n}", trace_id=trace_id, rating="down", score=0.0, source="b"
            )
            down.append(rating)
        if rng.random() < 0.05:
            judged.append((trace_id, rng.randint(1, 5), "judged"))
        if len(batch) == 5000:
            store.traces.add(batch)
            batch = []
    store.traces.add(batch)
    store.feedback.add(down)
    start = now - timedelta(days=30)
    report = StoredDriftReport(
        window_start=start, window_end=now, judge_version="bench", alert=False, body={}
    )
    store.reports.add_drift_report(report, judged)
    return judged[0][0]


def seed_runs(store: Store, count: int, cases: int) -> str:
    """``count`` complete gate runs of ``cases`` cases each, over 90 days, each compared
    with the one before; the newest run's id."""
    rng = random.Random(11)
    now = datetime.now(UTC)
    previous: str | None = None
    for n in range(count):
        run_id = f"{n:06d}-bench"
        started = now - timedelta(hours=(count - n) * 2)
        prompt = f"refund-v{1 + n // 50}"
        store.runs.create(
            Run(
                run_id=run_id,
                dataset_id="golden@bench",
                dataset_name="golden",
                target_id="http://bench/v1",
                started_at=started,
                keys={"prompt_version": prompt, "model_version": "m-1"},
                settings={"kind": "gate"},
            )
        )
        records = [
            EvalRecord(
                run_id=run_id,
                case_id=f"case-{c:03d}",
                trial=0,
                passed=(passed := rng.random() < 0.9),
                score=1.0 if passed else 0.0,
                reason="ok" if passed else "icontains: expected to contain '5 business days'",
                output=f"Answer {c} for {prompt}: refunds take {rng.choice((5, 30))} days.",
                keys={"intent": rng.choice(INTENTS), "customer_tier": rng.choice(TIERS)},
            )
            for c in range(cases)
        ]
        store.runs.add_records(records)
        passed_n = sum(r.passed for r in records)
        summary = RunSummary(
            n=cases,
            passed=passed_n,
            failed=cases - passed_n,
            errored=0,
            pass_rate=passed_n / cases,
            pass_rate_ci=(max(0.0, passed_n / cases - 0.1), min(1.0, passed_n / cases + 0.05)),
        )
        store.runs.finish(
            run_id,
            status="complete",
            verdict="pass" if passed_n / cases >= 0.9 else "fail",
            summary=summary,
            baseline_run_id=previous,
            finished_at=started + timedelta(minutes=2),
        )
        previous = run_id
    return previous or ""


PAGES = {
    "overview /": "/",
    "traces": "/traces",
    "traces, key filter": "/traces?keys=customer_tier%3Denterprise+intent%3Drefund",
    "traces, thumbs-down": "/traces?rating=down",
    "traces, judge <= 2": "/traces?max_judge_score=2",
    "traces, text (rare)": "/traces?q=Customer+4242+",
    "traces, text (none)": "/traces?q=no+trace+says+this",
    "traces, page 3": None,  # the cursor of page 2's "older" link
    "one trace": None,
}


async def time_pages(store: Store, url: str, trace_id: str, run_id: str, reps: int) -> list[str]:
    key = create_api_key(store, name="bench", scope="read").secret
    app = create_app(ServerSettings(store_url=url, auth_cache_s=60), store=store)
    lines = []
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://127.0.0.1", headers=headers, timeout=60
        ) as client:
            paths = dict(PAGES)
            paths["one trace"] = f"/traces/{trace_id}"
            if run_id:
                paths["a run (vs its baseline)"] = f"/runs/{run_id}"
                paths["offline vs online"] = "/compare"
                paths["drift"] = "/drift"
            first = (await client.get("/traces")).text
            second = await client.get(_older(first))
            paths["traces, page 3"] = _older(second.text)
            for name, path in paths.items():
                assert path is not None
                times = []
                for _ in range(reps):
                    started = time.perf_counter()
                    answer = await client.get(path)
                    times.append((time.perf_counter() - started) * 1000)
                    assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
                lines.append(
                    f"  {name:<22} median {statistics.median(times):7.1f} ms"
                    f"   worst {max(times):7.1f} ms   ({len(answer.content):,} bytes)"
                )
    return lines


def _older(html: str) -> str:
    start = html.index('rel="next" href="') + len('rel="next" href="')
    return html[start : html.index('"', start)].replace("&amp;", "&")


def run(label: str, url: str, options: argparse.Namespace) -> None:
    store = open_store(url)
    try:
        started = time.perf_counter()
        trace_id = seed(store, options.traces)
        run_id = seed_runs(store, options.runs, options.cases) if options.runs else ""
        seeded = time.perf_counter() - started
        print(
            f"{label}: {options.traces:,} traces and {options.runs:,} runs of"
            f" {options.cases} cases seeded in {seeded:.1f} s"
        )
        for line in asyncio.run(time_pages(store, url, trace_id, run_id, options.reps)):
            print(line)
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="evallock page-time benchmark")
    parser.add_argument("--traces", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=1000, help="complete gate runs")
    parser.add_argument("--cases", type=int, default=30, help="cases per run")
    parser.add_argument("--reps", type=int, default=7, help="requests per page")
    parser.add_argument("--postgres-url", default=None, help="also bench a fresh PG schema")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="evallock-pages-") as folder:
        run("SQLite", f"sqlite:///{folder}/evallock.db", options)
    if options.postgres_url:
        import psycopg

        schema = "bench_pages_" + uuid.uuid4().hex[:8]
        with psycopg.connect(options.postgres_url, autocommit=True) as admin:
            admin.execute(f'CREATE SCHEMA "{schema}"')
        sep = "&" if "?" in options.postgres_url else "?"
        url = f"{options.postgres_url}{sep}options={quote(f'-csearch_path={schema}')}"
        try:
            run("PostgreSQL", url, options)
        finally:
            with psycopg.connect(options.postgres_url, autocommit=True) as admin:
                admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
