"""Hostile-input benchmark: what a hostile client costs ``evallock serve`` in memory and time.

On demand (not in the test suite)::

    .venv/bin/python bench/hostile.py              # every scenario, ~1 minute
    .venv/bin/python bench/hostile.py --only otlp   # one scenario

Each scenario starts ``evallock serve`` as its own process (auth on, SQLite in a
temporary directory), so its peak RSS (``VmHWM``) belongs to that scenario alone:

1. ``login``: a 300 MB ``POST /login`` with no key, once with ``Content-Length``
   and once chunked; the status, the time to the answer and the server's RSS growth.
2. ``otlp``: three concurrent 15 MB OTLP/JSON export requests with an ingest key;
   statuses (200, or 429 with ``Retry-After`` past the decode budget) and RSS growth.
3. ``paging``: 20,000 traces sharing one timestamp; the time of the deepest
   ``offset`` page the API allows against walking every page by ``cursor``.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import orjson

PYTHON = sys.executable
SERVE = (
    "import sys\n"
    "from evallock.server import ServerSettings, serve\n"
    "serve(ServerSettings(store_url=sys.argv[1], port=0, log_level='warning'))\n"
)
MB = 1024 * 1024


def start(store_url: str) -> tuple[subprocess.Popen[str], str]:
    """``evallock serve`` over ``store_url``; its process and URL."""
    process = subprocess.Popen(
        [PYTHON, "-c", SERVE, store_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        found = re.search(r"listening on (http://\S+)", line)
        if found:
            return process, found.group(1)
    process.kill()
    raise RuntimeError("evallock serve did not start")


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """A memory figure of a process from ``/proc``, in MB."""
    text = Path(f"/proc/{pid}/status").read_text()
    found = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(found.group(1)) / 1024 if found else float("nan")


def make_key(store_url: str, scope: str) -> str:
    from evallock.server import create_api_key
    from evallock.store import open_store

    with open_store(store_url) as store:
        return create_api_key(store, name=f"bench-{scope}", scope=scope).secret


async def zeros(total: int) -> AsyncIterator[bytes]:
    chunk = b"k" * MB
    sent = 0
    while sent < total:
        yield chunk
        sent += len(chunk)


async def post_login(url: str, total: int, *, chunked: bool) -> tuple[int | str, float]:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if not chunked:
        headers["Content-Length"] = str(total)
    started = time.perf_counter()
    try:
        async with (
            aiohttp.ClientSession() as client,
            client.post(f"{url}/login", data=zeros(total), headers=headers) as answer,
        ):
            await answer.read()
            return answer.status, time.perf_counter() - started
    except aiohttp.ClientError as exc:
        # The server may close the connection once it has answered 413.
        return type(exc).__name__, time.perf_counter() - started


def scenario_login(root: Path) -> None:
    url_store = f"sqlite:///{root}/login.db"
    make_key(url_store, "read")
    process, url = start(url_store)
    try:
        before = rss_mb(process.pid)
        for chunked in (False, True):
            status, seconds = asyncio.run(post_login(url, 300 * MB, chunked=chunked))
            how = "chunked" if chunked else "Content-Length"
            print(f"login 300 MB ({how}): {status} in {seconds:.2f} s")
        peak = rss_mb(process.pid, "VmHWM")
        print(
            f"login: server RSS {before:.0f} MB before, peak {peak:.0f} MB (+{peak - before:.0f})"
        )
    finally:
        stop(process)


def otlp_body(size: int) -> bytes:
    """An OTLP/JSON export of one chat span whose input messages fill ``size`` bytes.

    Many small messages: the shape that costs most once parsed into Python objects.
    """
    message = '{"role":"user","content":"When will order R1041 ship?"}'
    messages = "[" + ",".join([message] * (size // (len(message) + 1))) + "]"
    span = {
        "traceId": "4bf92f3577b34da6a3ce929d0e0e4736",
        "spanId": "00f067aa0ba902b7",
        "name": "chat",
        "startTimeUnixNano": str(time.time_ns()),
        "endTimeUnixNano": str(time.time_ns() + 1_000_000),
        "attributes": [
            {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
            {"key": "gen_ai.input.messages", "value": {"stringValue": messages}},
        ],
    }
    return orjson.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]})


async def post_otlp(url: str, key: str, body: bytes, copies: int) -> list[str]:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    async with aiohttp.ClientSession() as client:

        async def one() -> str:
            async with client.post(f"{url}/v1/traces", data=body, headers=headers) as answer:
                await answer.read()
                retry = answer.headers.get("Retry-After")
                return f"{answer.status}" + (f" (Retry-After {retry})" if retry else "")

        return list(await asyncio.gather(*(one() for _ in range(copies))))


def scenario_otlp(root: Path) -> None:
    store_url = f"sqlite:///{root}/otlp.db"
    key = make_key(store_url, "ingest")
    body = otlp_body(13 * MB)
    process, url = start(store_url)
    try:
        before = rss_mb(process.pid)
        started = time.perf_counter()
        statuses = asyncio.run(post_otlp(url, key, body, 3))
        seconds = time.perf_counter() - started
        peak = rss_mb(process.pid, "VmHWM")
        print(f"otlp 3 x {len(body) / MB:.1f} MB at once: {statuses} in {seconds:.2f} s")
        print(f"otlp: server RSS {before:.0f} MB before, peak {peak:.0f} MB (+{peak - before:.0f})")
    finally:
        stop(process)


async def walk_pages(url: str, key: str, deepest_offset: int) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    async with aiohttp.ClientSession(headers=headers) as client:
        started = time.perf_counter()
        async with client.get(
            f"{url}/api/traces", params={"limit": "100", "offset": str(deepest_offset)}
        ) as answer:
            await answer.read()
            status = answer.status
        print(
            f"paging: offset={deepest_offset:,}: {status} in {time.perf_counter() - started:.3f} s"
        )
        started = time.perf_counter()
        pages = seen = 0
        cursor: str | None = None
        slowest = 0.0
        while True:
            params = {"limit": "1000"} | ({"cursor": cursor} if cursor else {})
            began = time.perf_counter()
            async with client.get(f"{url}/api/traces", params=params) as answer:
                page = orjson.loads(await answer.read())
            slowest = max(slowest, time.perf_counter() - began)
            pages += 1
            seen += len(page["traces"])
            cursor = page.get("next_cursor")
            if not cursor:
                break
        print(
            f"paging: every trace by cursor: {seen:,} traces in {pages} pages, "
            f"{time.perf_counter() - started:.2f} s (slowest page {slowest:.3f} s)"
        )


def scenario_paging(root: Path, count: int = 20_000) -> None:
    from evallock.records import Trace
    from evallock.store import open_store

    store_url = f"sqlite:///{root}/paging.db"
    key = make_key(store_url, "read")
    moment = datetime(2026, 10, 4, 9, 0, tzinfo=UTC)
    with open_store(store_url) as store:
        traces = [
            Trace(trace_id=f"{i:032x}", timestamp=moment, input="q", output="a")
            for i in range(count)
        ]
        store.traces.add(traces)
    process, url = start(store_url)
    try:
        asyncio.run(walk_pages(url, key, 10_000))
    finally:
        stop(process)


SCENARIOS = {"login": scenario_login, "otlp": scenario_otlp, "paging": scenario_paging}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(SCENARIOS), action="append")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="evallock-hostile-") as tmp:
        for name in options.only or SCENARIOS:
            SCENARIOS[name](Path(tmp))


if __name__ == "__main__":
    main()
