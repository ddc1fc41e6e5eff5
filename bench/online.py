"""Online evaluation benchmark: the evaluator worker's throughput, ingest-to-score lag, and
what running evaluators costs ingest.

On demand (not in the test suite)::

    .venv/bin/python bench/online.py              # ~2 minutes
    .venv/bin/python bench/online.py --traces 2000 --rate 200 --seconds 20

Three measurements, the bundled judge (``python -m evallock.demo.fake_service``) answering
after ``--judge-latency-ms`` (50) in its own process:

1. **Worker throughput**: ``--traces`` traces put in the inbox of a SQLite store, one
   judged evaluator (sample 1, the drift rubric), the worker at concurrency 16 draining
   it: traces/s.
2. **Lag at a steady rate**: ``evallock serve`` with that evaluator (settle 1 s) is sent
   one-span OTLP traces at ``--rate`` traces/s for ``--seconds``; per trace, the time from
   its arrival (``traces.received_at``) to its verdict (``online_scores.scored_at``):
   p50, p95, max, and whether the worker kept up.
3. **Ingest with evaluators running**: ``bench/ingest.py``'s load (8 senders × 200 spans)
   into ``evallock serve``: without evaluators; with one that samples nothing (the inbox
   alone); with a checks-only one on every trace (the worker, no judge); with a judged one
   on every trace (the worker and the judge process, on the same cores): spans/s each way
   and the drop.

The machine has 2 cores: server, worker, judge and load generator share them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).parent))
from ingest import PYTHON, Bodies, ingest, make_key, start, stop

SERVE = (
    "import json, sys\n"
    "from evallock.online import EvaluatorRule\n"
    "from evallock.server import ServerSettings, serve\n"
    "from evallock.session import JudgeSpec\n"
    "judge = json.loads(sys.argv[2])\n"
    "rules = tuple(EvaluatorRule(**r) for r in json.loads(sys.argv[3]))\n"
    "serve(ServerSettings(store_url=sys.argv[1], port=0, log_level='warning',"
    " evaluators=rules, judge=JudgeSpec(**judge) if judge else None,"
    " evaluate_settle_s=float(sys.argv[4])))\n"
)


def serve(store_url: str, judge_url: str, rules: list[dict[str, object]], settle: float):
    judge = {"base_url": judge_url, "model": "judge"} if rules else {}
    return start(
        [PYTHON, "-c", SERVE, store_url, json.dumps(judge), json.dumps(rules), str(settle)],
        r"listening on (http://\S+)",
    )


def throughput(store_url: str, judge_url: str, n: int) -> str:
    import anyio

    from evallock.online import EvaluatorRule, OnlineWorker
    from evallock.records import Trace
    from evallock.session import JudgeSpec
    from evallock.store import open_store

    now = datetime.now(UTC)
    with open_store(store_url) as store:
        store.traces.add(
            [
                Trace(
                    trace_id=os.urandom(16).hex(),
                    timestamp=now - timedelta(seconds=n - i),
                    input=f"I was charged twice for order R{1000 + i}, can I get a refund?",
                    output="Duplicate charges are refunded within 5 business days.",
                    keys={"intent": "refund"},
                )
                for i in range(n)
            ],
            evaluate=True,
        )
        worker = OnlineWorker(
            store,
            [EvaluatorRule(name="quality")],
            JudgeSpec(base_url=judge_url, model="judge"),
            settle_s=0,
            batch=256,
            concurrency=16,
        )

        async def drain() -> int:
            total = 0
            while taken := await worker.run_once():
                total += taken
            return total

        started = time.perf_counter()
        done = anyio.run(drain)
        elapsed = time.perf_counter() - started
        scored = store.online.counts("quality")["scored"]
    return (
        f"worker      {done / elapsed:>7,.0f} traces/s  ({done:,} traces judged in {elapsed:.1f} s,"
        f" {scored:,} scored; judge concurrency 16)"
    )


async def steady(url: str, key: str, rate: float, seconds: float) -> int:
    """Send one-span traces at ``rate`` per second for ``seconds``; how many were acknowledged."""
    per_request = 10
    bodies = Bodies(per_request)
    headers = {"Content-Type": "application/x-protobuf", "Authorization": f"Bearer {key}"}
    sent = 0
    interval = per_request / rate
    async with aiohttp.ClientSession() as client:
        started = time.perf_counter()
        tick = 0
        while time.perf_counter() - started < seconds:
            async with client.post(f"{url}/v1/traces", data=bodies.next(), headers=headers) as r:
                await r.read()
                if r.status == 200:
                    sent += per_request
            tick += 1
            delay = started + tick * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
    return sent


def lag(store_url: str, judge_url: str, rate: float, seconds: float) -> str:
    from sqlalchemy import select

    from evallock.store import open_store
    from evallock.store._schema import online_scores, traces

    key = make_key(store_url)
    process, url = serve(store_url, judge_url, [{"name": "quality"}], settle=1.0)
    try:
        sent = asyncio.run(steady(url, key, rate, seconds))
        deadline = time.monotonic() + 120
        with open_store(store_url) as store:
            while store.online.inbox()[0] and time.monotonic() < deadline:
                time.sleep(0.5)
            waiting = store.online.inbox()[0]
            with store._db.read("bench") as conn:  # a benchmark reads the tables
                rows = conn.execute(
                    select(traces.c.received_at, online_scores.c.scored_at).join(
                        online_scores, online_scores.c.trace_id == traces.c.trace_id
                    )
                ).all()
    finally:
        stop(process)
    lags = sorted((scored - received).total_seconds() for received, scored in rows)
    if not lags:
        return "lag: nothing was scored"
    p = lambda q: lags[min(len(lags) - 1, int(q * len(lags)))]  # noqa: E731
    return (
        f"lag         at {rate:.0f} traces/s for {seconds:.0f} s: {len(lags):,} of {sent:,} traces"
        f" scored, {waiting} left waiting; arrival to verdict p50 {p(0.5):.2f} s,"
        f" p95 {p(0.95):.2f} s, max {lags[-1]:.2f} s (settle 1 s)"
    )


def ingest_impact(tmp: Path, judge_url: str, seconds: float) -> list[str]:
    lines = []
    rates = {}
    variants: list[tuple[str, list[dict[str, object]]]] = [
        ("without", []),
        ("sample-0", [{"name": "quality", "sample": 0.0}]),
        ("checks", [{"name": "fmt", "asserts": [{"type": "max-length", "value": 2000}]}]),
        ("judged-3%", [{"name": "quality", "sample": 0.03}]),
        ("judged", [{"name": "quality"}]),
    ]
    for label, rules in variants:
        store_url = f"sqlite:///{tmp}/ingest-{label}.db"
        key = make_key(store_url)
        process, url = serve(store_url, judge_url, rules, settle=1.0)
        try:
            acked, refused, elapsed = asyncio.run(
                ingest(url, key, senders=8, spans=200, seconds=seconds)
            )
        finally:
            stop(process)
        rates[label] = acked / elapsed
        lines.append(
            f"ingest {label:<9} {rates[label]:>8,.0f} spans/s"
            f"  ({acked:,} spans in {elapsed:.1f} s, {refused} refused)"
            + ("" if label == "without" else f", {1 - rates[label] / rates['without']:.1%} below")
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description="evallock online evaluation benchmark")
    parser.add_argument("--traces", type=int, default=2000, help="traces the worker drains")
    parser.add_argument("--rate", type=float, default=200.0, help="traces/s for the lag run")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the lag run")
    parser.add_argument("--ingest-seconds", type=float, default=10.0)
    parser.add_argument("--judge-latency-ms", type=float, default=50.0)
    options = parser.parse_args()
    print(
        f"evallock online benchmark: {os.cpu_count()} cores, judge latency"
        f" {options.judge_latency_ms:.0f} ms",
        flush=True,
    )
    judge, judge_url = start(
        [
            PYTHON,
            "-m",
            "evallock.demo.fake_service",
            "--port",
            "0",
            "--latency-ms",
            str(options.judge_latency_ms),
        ],
        r"listening on (http://\S+)",
    )
    try:
        with tempfile.TemporaryDirectory() as tmp_dir:
            tmp = Path(tmp_dir)
            print(throughput(f"sqlite:///{tmp}/worker.db", judge_url, options.traces), flush=True)
            print(
                lag(f"sqlite:///{tmp}/lag.db", judge_url, options.rate, options.seconds), flush=True
            )
            for line in ingest_impact(tmp, judge_url, options.ingest_seconds):
                print(line, flush=True)
    finally:
        stop(judge)
    return 0


if __name__ == "__main__":
    sys.exit(main())
