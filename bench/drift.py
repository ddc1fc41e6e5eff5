"""Drift benchmark: window selection + sampling over 1,000,000 stored traces, and judging.

On demand (not in the test suite): ``.venv/bin/python bench/drift.py [--n 1000000]``.
Loads N traces spread over 30 days into a fresh SQLite file and a fresh PostgreSQL
schema (127.0.0.1:5432/test), then times ``window_trace_ids`` + ``sample_traces``
for a 7-day window (plain and stratified by customer_tier), and the judging of a
200-trace sample against the bundled service started as its own process.
Target: selection and sampling ≤ 2 s at 1M traces.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from evallock.drift import DriftRequest, run_drift, sample_traces
from evallock.evaluation import JudgeSpec
from evallock.records import Trace
from evallock.store import open_store

T0 = datetime(2026, 9, 1, tzinfo=UTC)
TIERS = ["consumer"] * 6 + ["enterprise"] * 3 + ["pro"]


def traces(n: int, seed: int = 1):
    rng = random.Random(seed)
    batch = []
    for i in range(n):
        batch.append(
            Trace(
                trace_id=f"{rng.getrandbits(128):032x}",
                timestamp=T0 + timedelta(seconds=rng.randrange(30 * 86400)),
                input=f"I was charged twice for order {i}, refund?",
                output="Duplicate charges are refunded automatically within 5 business days.",
                keys={"customer_tier": rng.choice(TIERS), "intent": "refund"},
                source="import",
            )
        )
        if len(batch) == 2000:
            yield batch
            batch = []
    if batch:
        yield batch


def load(url: str, n: int) -> float:
    store = open_store(url)
    start = time.perf_counter()
    try:
        for chunk in traces(n):
            store.traces.add(chunk)
    finally:
        store.close()
    return time.perf_counter() - start


def select_and_sample(url: str) -> dict[str, float]:
    store = open_store(url)
    try:
        since, until = T0 + timedelta(days=20), T0 + timedelta(days=27)
        out = {}
        for label, key in (("plain", None), ("stratified", "customer_tier")):
            start = time.perf_counter()
            rows = store.traces.window_ids(since=since, until=until, key=key)
            selected = time.perf_counter()
            sample = sample_traces(rows, 200, seed=0, stratified=key is not None)
            done = time.perf_counter()
            out[label] = done - start
            out[f"{label}_select"] = selected - start
            out[f"{label}_sample"] = done - selected
            out["window_rows"] = len(rows)
            assert len(sample.trace_ids) >= 200
        return out
    finally:
        store.close()


def judge(url: str) -> float:
    service = subprocess.Popen(
        [sys.executable, "-m", "evallock.demo.fake_service", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert service.stdout is not None
    base_url = service.stdout.readline().split("listening on", 1)[1].strip()
    store = open_store(url)
    try:
        start = time.perf_counter()
        run_drift(
            DriftRequest(
                since=(T0 + timedelta(days=20)).isoformat(),
                until=(T0 + timedelta(days=27)).isoformat(),
                sample=200,
                seed=int(time.time()),
                baseline=4.5,
                judge=JudgeSpec(base_url=base_url, model="judge"),
                concurrency=32,
            ),
            store,
        )
        return time.perf_counter() - start
    finally:
        store.close()
        service.terminate()
        service.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--postgres", default="postgresql://root@127.0.0.1:5432/test")
    args = parser.parse_args()
    import psycopg

    with tempfile.TemporaryDirectory() as tmp:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.postgres, autocommit=True) as admin:
            admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            urls = {
                "sqlite": f"sqlite:///{Path(tmp) / 'drift.db'}",
                "postgresql": f"{args.postgres}?options=-csearch_path%3D{schema}",
            }
            for name, url in urls.items():
                loaded = load(url, args.n)
                timing = select_and_sample(url)
                judged = judge(url)
                print(
                    f"{name:>10}: {args.n:,} traces loaded in {loaded:.1f}s "
                    f"({args.n / loaded:,.0f}/s); 7-day window of {timing['window_rows']:,.0f}: "
                    f"select+sample {timing['plain']:.2f}s (select {timing['plain_select']:.2f}s, "
                    f"sample {timing['plain_sample']:.2f}s), stratified {timing['stratified']:.2f}s; "
                    f"judge 200 + report {judged:.2f}s"
                )
        finally:
            with psycopg.connect(args.postgres, autocommit=True) as admin:
                admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
