"""Ingest benchmark: OTLP spans/s into SQLite and PostgreSQL, and the proxy's added latency.

On demand (not in the test suite)::

    .venv/bin/python bench/ingest.py                 # both stores + proxy, ~1 minute
    .venv/bin/python bench/ingest.py --seconds 20 --senders 8 --spans 200

One run does three things, each against ``evallock serve`` as its own process
(auth on, a real ``ingest`` key):

1. **SQLite ingest**: ``--senders`` concurrent clients post OTLP protobuf export
   requests of ``--spans`` GenAI chat spans each (every span its own trace, the
   heaviest case: one row per span) for ``--seconds``; spans/s counts only spans
   whose request was answered 2xx, i.e. committed. The store is counted after.
2. **PostgreSQL ingest**: the same into a fresh schema of ``--postgres-url``
   (skipped when unreachable).
3. **Proxy overhead**: the bundled fake service (0 ms latency) called directly and
   through the recording proxy, one request in flight, alternating, non-streamed
   and streamed; p50/p99 of each and the difference.

The machine has 2 cores: server, store and load generator share them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import aiohttp
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

PYTHON = sys.executable
SERVE = (
    "import sys\n"
    "from evallock.server import ServerSettings, serve\n"
    "serve(ServerSettings(store_url=sys.argv[1], port=0, upstream=sys.argv[2] or None,"
    " log_level='warning'))\n"
)
MESSAGES_IN = (
    '[{"role":"system","parts":[{"type":"text","content":"You answer billing questions using the '
    'refund policy: 30 days, 5 business days to arrive."}]},{"role":"user","parts":[{"type":"text",'
    '"content":"Can I get a refund after 40 days? I was charged twice for order R1041."}]}]'
)
MESSAGES_OUT = (
    '[{"role":"assistant","parts":[{"type":"text","content":"Refunds are available within 30 days '
    'of purchase; a duplicate charge is always refunded within 5 business days."}]}]'
)


# -- processes ------------------------------------------------------------------------------


def start(args: list[str], pattern: str) -> tuple[subprocess.Popen[str], str]:
    """Start a process and wait for the URL it prints on a line matching ``pattern``."""
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    for line in process.stdout:
        found = re.search(pattern, line)
        if found:
            return process, found.group(1)
        if time.monotonic() > deadline:
            break
    process.kill()
    raise RuntimeError(f"{args[:3]} did not start")


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def make_key(store_url: str) -> str:
    from evallock.server import create_api_key
    from evallock.store import open_store

    with open_store(store_url) as store:
        return create_api_key(store, name="bench", scope="ingest").secret


def serve(store_url: str, upstream: str = "") -> tuple[subprocess.Popen[str], str]:
    return start([PYTHON, "-c", SERVE, store_url, upstream], r"listening on (http://\S+)")


# -- OTLP bodies ----------------------------------------------------------------------------


class Bodies:
    """Export requests of ``spans`` one-span traces; each body gets fresh trace ids."""

    def __init__(self, spans: int) -> None:
        request = ExportTraceServiceRequest()
        resource = request.resource_spans.add()
        resource.resource.attributes.append(
            KeyValue(key="service.name", value=AnyValue(string_value="billing-assistant"))
        )
        out = resource.scope_spans.add().spans
        now = time.time_ns()
        self.ids = [os.urandom(16) for _ in range(spans)]
        for i, trace_id in enumerate(self.ids):
            span = out.add(
                trace_id=trace_id,
                span_id=os.urandom(8),
                name="chat gpt-4.1-mini",
                kind=3,
                start_time_unix_nano=now + i,
                end_time_unix_nano=now + i + 812_000_000,
            )
            span.attributes.extend(
                KeyValue(
                    key=k,
                    value=AnyValue(string_value=v) if isinstance(v, str) else AnyValue(int_value=v),
                )
                for k, v in [
                    ("gen_ai.operation.name", "chat"),
                    ("gen_ai.provider.name", "openai"),
                    ("gen_ai.request.model", "gpt-4.1-mini"),
                    ("gen_ai.response.model", "gpt-4.1-mini-2025-04-14"),
                    ("gen_ai.usage.input_tokens", 412),
                    ("gen_ai.usage.output_tokens", 96),
                    ("gen_ai.prompt.version", "refund-v4"),
                    ("gen_ai.input.messages", MESSAGES_IN),
                    ("gen_ai.output.messages", MESSAGES_OUT),
                    ("evallock.intent", "refund"),
                    ("evallock.customer_tier", "enterprise"),
                ]
            )
        self.template = request.SerializeToString()
        self.offsets = [self.template.index(trace_id) for trace_id in self.ids]
        self.spans = spans

    def next(self) -> bytes:
        body = bytearray(self.template)
        fresh = os.urandom(16 * self.spans)
        for i, at in enumerate(self.offsets):
            body[at : at + 16] = fresh[16 * i : 16 * i + 16]
        return bytes(body)


# -- ingest ---------------------------------------------------------------------------------


async def ingest(
    url: str, key: str, *, senders: int, spans: int, seconds: float
) -> tuple[int, int, float]:
    """(spans acknowledged, requests refused, elapsed s) for ``seconds`` of load after a warm-up."""
    bodies = Bodies(spans)
    headers = {"Content-Type": "application/x-protobuf", "Authorization": f"Bearer {key}"}
    acknowledged = refused = 0
    counting = False
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=senders)) as client:

        async def sender(until: float) -> None:
            nonlocal acknowledged, refused
            while time.perf_counter() < until:
                async with client.post(
                    f"{url}/v1/traces", data=bodies.next(), headers=headers
                ) as answer:
                    await answer.read()
                    if not counting:
                        continue
                    if answer.status == 200:
                        acknowledged += spans
                    else:
                        refused += 1

        warm = time.perf_counter() + 2.0
        await asyncio.gather(*(sender(warm) for _ in range(senders)))
        counting = True
        started = time.perf_counter()
        await asyncio.gather(*(sender(started + seconds) for _ in range(senders)))
        elapsed = time.perf_counter() - started
    return acknowledged, refused, elapsed


def run_ingest(label: str, store_url: str, options: argparse.Namespace) -> str:
    key = make_key(store_url)
    process, url = serve(store_url)
    try:
        acked, refused, elapsed = asyncio.run(
            ingest(url, key, senders=options.senders, spans=options.spans, seconds=options.seconds)
        )
    finally:
        stop(process)
    from evallock.store import open_store

    with open_store(store_url) as store:
        stored = store.traces.count()
    rate = acked / elapsed
    return (
        f"{label:<11} {rate:>9,.0f} spans/s  ({acked:,} spans acknowledged in {elapsed:.1f} s, "
        f"{refused} requests refused, {stored:,} traces in the store incl. warm-up)"
    )


# -- proxy ----------------------------------------------------------------------------------


async def latencies(
    direct: str, proxy: str, key: str, *, n: int, stream: bool
) -> tuple[list[float], list[float]]:
    body = {
        "model": "support-bot",
        "messages": [
            {"role": "system", "content": "Refunds: within 30 days, 5 business days to arrive."},
            {"role": "user", "content": "How long does a refund take?"},
        ],
    }
    if stream:
        body |= {"stream": True, "stream_options": {"include_usage": True}}
    auth = {"Authorization": f"Bearer {key}", "X-Evallock-Prompt-Version": "v4"}
    times: dict[str, list[float]] = {"direct": [], "proxy": []}
    async with aiohttp.ClientSession() as client:

        async def one(kind: str, record: bool) -> None:
            url = (direct if kind == "direct" else proxy) + "/chat/completions"
            started = time.perf_counter()
            async with client.post(
                url, json=body, headers=auth if kind == "proxy" else {}
            ) as answer:
                await answer.read()
                assert answer.status == 200, answer.status
            if record:
                times[kind].append((time.perf_counter() - started) * 1000)

        for i in range(n + 200):
            for kind in ("direct", "proxy") if i % 2 else ("proxy", "direct"):
                await one(kind, record=i >= 200)
    return times["direct"], times["proxy"]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_proxy(store_url: str, upstream: str, options: argparse.Namespace) -> list[str]:
    key = make_key(store_url)
    process, url = serve(store_url, upstream)
    lines = []
    try:
        for stream in (False, True):
            direct, proxied = asyncio.run(
                latencies(upstream, f"{url}/v1", key, n=options.requests, stream=stream)
            )
            kind = "streamed" if stream else "whole"
            p50 = pct(proxied, 0.5) - pct(direct, 0.5)
            p99 = pct(proxied, 0.99) - pct(direct, 0.99)
            lines.append(
                f"proxy {kind:<8} direct p50 {pct(direct, 0.5):.2f} ms p99 {pct(direct, 0.99):.2f} ms | "
                f"via proxy p50 {pct(proxied, 0.5):.2f} ms p99 {pct(proxied, 0.99):.2f} ms | "
                f"added p50 {p50:+.2f} ms p99 {p99:+.2f} ms (mean {statistics.fmean(proxied) - statistics.fmean(direct):+.2f} ms)"
            )
    finally:
        stop(process)
    return lines


def postgres_schema(url: str) -> str | None:
    try:
        import psycopg

        schema = f"bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(url, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        return schema
    except Exception as exc:
        print(f"PostgreSQL at {url} not reachable ({exc}); skipped", file=sys.stderr)
        return None


def drop_schema(url: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main() -> int:
    parser = argparse.ArgumentParser(description="evallock ingest and proxy benchmark")
    parser.add_argument("--seconds", type=float, default=10.0, help="timed load per store")
    parser.add_argument("--senders", type=int, default=8, help="concurrent OTLP clients")
    parser.add_argument("--spans", type=int, default=200, help="spans per export request")
    parser.add_argument("--requests", type=int, default=2000, help="proxy requests of each kind")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "EVALLOCK_BENCH_POSTGRES_URL", "postgresql://root@127.0.0.1:5432/test"
        ),
    )
    options = parser.parse_args()
    print(
        f"evallock ingest benchmark: {os.cpu_count()} cores, {options.senders} senders x "
        f"{options.spans} spans/request, {options.seconds:.0f} s per store",
        flush=True,
    )
    fake, upstream = start(
        [PYTHON, "-m", "evallock.demo.fake_service", "--port", "0"], r"listening on (http://\S+)"
    )
    results = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            results.append(run_ingest("SQLite", f"sqlite:///{Path(tmp)}/ingest.db", options))
            print(results[-1], flush=True)
            schema = postgres_schema(options.postgres_url)
            if schema is not None:
                pg_url = f"{options.postgres_url}?options={quote(f'-csearch_path={schema}')}"
                try:
                    results.append(run_ingest("PostgreSQL", pg_url, options))
                    print(results[-1], flush=True)
                finally:
                    drop_schema(options.postgres_url, schema)
            for line in run_proxy(f"sqlite:///{Path(tmp)}/proxy.db", upstream, options):
                results.append(line)
                print(line, flush=True)
    finally:
        stop(fake)
    return 0


if __name__ == "__main__":
    sys.exit(main())
