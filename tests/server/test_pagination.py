"""Pages of ``GET /api/traces`` and ``GET /api/candidates``: cursors, and bounded offsets.

In process (the ASGI app over the test's store, on SQLite and PostgreSQL): 2,000
traces sharing one timestamp are walked page by page by ``next_cursor``, each
exactly once and in order; an ``offset`` past the bound or past 2^63 is a 400
naming it, and so is a cursor this service did not make.
"""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from evallock.feedback import Candidate
from evallock.records import Trace
from evallock.server import create_api_key
from evallock.server._query import MAX_OFFSET, encode_cursor
from evallock.store import Store

from .conftest import asgi_client

T0 = datetime(2026, 10, 4, 9, 0, tzinfo=UTC)
TIED = 2000


def _read_key(store: Store) -> str:
    return create_api_key(store, name="pages", scope="read").secret


def _seed_tied(store: Store) -> list[str]:
    ids = [f"{n:032x}" for n in range(1, TIED + 1)]
    store.traces.add([Trace(trace_id=i, timestamp=T0, input=f"q{i[-4:]}") for i in ids])
    return ids


async def _walk(client: httpx.AsyncClient, **params: Any) -> tuple[list[str], int, int]:
    """Every page by cursor: the trace ids in order, the totals seen, the pages read."""
    seen: list[str] = []
    totals: set[int] = set()
    cursor = None
    pages = 0
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        answer = await client.get("/api/traces", params=query)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        pages += 1
        seen += [t["trace_id"] for t in body["traces"]]
        totals.add(body["total"])
        cursor = body["next_cursor"]
        if cursor is None:
            return seen, totals.pop() if len(totals) == 1 else -1, pages
        assert len(body["traces"]) == params["limit"]


def test_a_cursor_walks_traces_sharing_a_timestamp_once_each_in_order(store: Store) -> None:
    ids = _seed_tied(store)
    key = _read_key(store)

    async def main() -> None:
        async with asgi_client(store, key=key) as client:
            newest, total, pages = await _walk(client, limit=150)
            assert newest == sorted(ids, reverse=True)  # ties by trace id, newest first
            assert total == TIED and pages == 14
            oldest, _, _ = await _walk(client, limit=1000, oldest_first="true")
            assert oldest == sorted(ids)
            # exactly one page: no cursor to a next, empty one
            whole = (await client.get("/api/traces", params={"limit": 1000})).json()
            assert whole["next_cursor"] is not None
            last = await client.get(
                "/api/traces", params={"limit": 1000, "cursor": whole["next_cursor"]}
            )
            assert len(last.json()["traces"]) == 1000 and last.json()["next_cursor"] is None

    asyncio.run(main())


def test_a_cursor_keeps_the_filters_and_is_for_one_order(store: Store) -> None:
    store.traces.add(
        [
            Trace(
                trace_id=f"{n:032x}",
                timestamp=T0,
                keys={"intent": "refund" if n % 3 == 0 else "billing"},
            )
            for n in range(1, 61)
        ]
    )
    key = _read_key(store)

    async def main() -> None:
        async with asgi_client(store, key=key) as client:
            refunds, total, _ = await _walk(client, limit=7, **{"key.intent": "refund"})
            assert refunds == sorted((f"{n:032x}" for n in range(3, 61, 3)), reverse=True)
            assert total == 20
            first = (await client.get("/api/traces", params={"limit": 5})).json()
            other_order = await client.get(
                "/api/traces",
                params={"limit": 5, "oldest_first": "true", "cursor": first["next_cursor"]},
            )
            assert other_order.status_code == 400
            assert other_order.json()["field"] == "cursor"
            assert "other order" in other_order.json()["detail"]
            # an offset counts from the cursor
            skipped = await client.get(
                "/api/traces", params={"limit": 5, "offset": 5, "cursor": first["next_cursor"]}
            )
            expected = sorted((f"{n:032x}" for n in range(1, 61)), reverse=True)[10:15]
            assert [t["trace_id"] for t in skipped.json()["traces"]] == expected

    asyncio.run(main())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor",
        "!!!!",
        "é",
        _b64(b"not json"),
        _b64(b"[" * 3000),
        _b64(b'{"a": 1}'),
        encode_cursor("traces-newest", "yesterday", "a" * 32),
        encode_cursor("traces-newest", "2026-10-04T09:00:00", "a" * 32),  # naive
        encode_cursor("traces-newest", "2026-10-04T09:00:00+00:00", "a" * 300),
        encode_cursor("traces-newest", "2026-10-04T09:00:00+00:00", "a\x00b"),
        encode_cursor("traces-newest", "2026-10-04T09:00:00+00:00", 7),
        encode_cursor("traces-newest", "2026-10-04T09:00:00+00:00"),
        encode_cursor("candidates", 1, "2026-10-04T09:00:00", "c1"),  # naive
        encode_cursor("candidates", -1, "2026-10-04T09:00:00+00:00", "c1"),
        _b64(b'["candidates", 1180591620717411303424, "2026-10-04T09:00:00+00:00", "c1"]'),
        _b64(b'["candidates", 1.5, "2026-10-04T09:00:00+00:00", "c1"]'),
        _b64(b'["traces-newest", "2026-10-04T09:00:00+00:00", "\\ud800"]'),
        encode_cursor("candidates", 1, "2026-10-04T09:00:00+00:00", "c" * 300),
        "A" * 10_000,
    ],
)
def test_a_cursor_the_service_did_not_make_is_a_400_naming_cursor(
    store: Store, cursor: str
) -> None:
    key = _read_key(store)

    async def main() -> None:
        async with asgi_client(store, key=key) as client:
            for path in ("/api/traces", "/api/candidates"):
                answer = await client.get(path, params={"cursor": cursor})
                assert answer.status_code == 400, (path, answer.text)
                assert answer.json()["field"] == "cursor"
                assert len(answer.text) < 1000  # the cursor is not echoed back

    asyncio.run(main())


@pytest.mark.parametrize("path", ["/api/traces", "/api/candidates"])
def test_offsets_are_bounded_and_never_a_500(store: Store, path: str) -> None:
    key = _read_key(store)

    async def main() -> None:
        async with asgi_client(store, key=key) as client:
            for offset in (2**63, 2**63 - 1, 2**64, 10**100, MAX_OFFSET + 1, -1):
                answer = await client.get(path, params={"offset": offset})
                assert answer.status_code == 400, (offset, answer.text)
                assert answer.json()["field"] == "offset"
                assert answer.json()["detail"].startswith("offset")
            at_bound = await client.get(path, params={"offset": MAX_OFFSET})
            assert at_bound.status_code == 200 and at_bound.json()["next_cursor"] is None

    asyncio.run(main())


def _candidate(n: int) -> Candidate:
    return Candidate(
        candidate_id=f"{n:08x}",
        created_at=T0,
        updated_at=T0,
        state="pending" if n % 4 else "rejected",
        trace_ids=tuple(f"{n:08x}-{i}" for i in range(1 + n % 3)),
        input=f"question {n}",
        output="answer",
        keys={},
        reason="thumbs-down",
        signature=f"{n:08x}",
    )


def test_candidates_page_by_cursor(store: Store) -> None:
    store.candidates.add([_candidate(n) for n in range(1, 121)], {}, [])
    everything = [c.candidate_id for c in store.candidates.find(limit=None)]
    pending = [c.candidate_id for c in store.candidates.find(states=["pending"], limit=None)]
    key = _read_key(store)

    async def walk(client: httpx.AsyncClient, **params: Any) -> list[str]:
        seen: list[str] = []
        cursor = None
        while True:
            query = {**params, **({"cursor": cursor} if cursor else {})}
            body = (await client.get("/api/candidates", params=query)).json()
            seen += [c["candidate_id"] for c in body["candidates"]]
            cursor = body["next_cursor"]
            if cursor is None:
                return seen

    async def main() -> None:
        async with asgi_client(store, key=key) as client:
            assert await walk(client, limit=11) == everything
            assert await walk(client, limit=9, state="pending") == pending
            assert await walk(client, limit=1000) == everything
            # each listing's cursor is its own
            traces_cursor = encode_cursor("traces-newest", T0.isoformat(), "a" * 32)
            wrong = await client.get("/api/candidates", params={"cursor": traces_cursor})
            assert wrong.status_code == 400 and wrong.json()["field"] == "cursor"
            first = (await client.get("/api/candidates", params={"limit": 2})).json()
            wrong = await client.get("/api/traces", params={"cursor": first["next_cursor"]})
            assert wrong.status_code == 400 and wrong.json()["field"] == "cursor"

    asyncio.run(main())
