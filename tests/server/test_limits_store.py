"""Hostile sizes on the store's HTTP face: 4xx naming the field, never a 500 or a 503.

In process (the ASGI app over the test's store, on SQLite and PostgreSQL): a 10 KB
id in a path, review text past its limit, ``assert`` and ``vars`` too long or too
deep, key filters no stored key can match; and the writer every ingest route
shares, whose store refuses a row past a limit for its own request only.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from typing import Any

import pytest

from evallock.feedback import Candidate
from evallock.limits import MAX_DEPTH, MAX_KEYS, MAX_SHORT_TEXT, FieldLimitError
from evallock.records import Feedback, Trace
from evallock.server import create_api_key
from evallock.server._candidates import MAX_ASSERTS
from evallock.server._metrics import Metrics
from evallock.server._writer import GroupCommitWriter, StoreSink
from evallock.store import Store

from .conftest import asgi_client

T0 = datetime(2026, 10, 4, 9, 0, tzinfo=UTC)
WIDE = "🧾"
_RANDOM = random.Random(20261206)
# Random, so PostgreSQL cannot compress it under its index row limit.
NINE_KB = "".join(_RANDOM.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=9 * 1024))


def _candidate(ident: str = "c0ffee01") -> Candidate:
    return Candidate(
        candidate_id=ident,
        created_at=T0,
        updated_at=T0,
        state="pending",
        trace_ids=(ident * 4,),
        input="question",
        output="answer",
        keys={},
        reason="thumbs-down",
        signature="abc",
    )


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def _admin(store: Store) -> str:
    return create_api_key(store, name="limits", scope="admin").secret


@pytest.mark.parametrize(
    "hostile",
    ["c" * 10_000, "0" * 10_000, WIDE * 3_000, "%00" * 10, "c0ffee01" + "x" * 300],
)
def test_a_hostile_id_in_a_path_is_a_4xx(store: Store, hostile: str) -> None:
    store.candidates.add([_candidate()], {}, [])
    key = _admin(store)

    async def main() -> None:
        async with asgi_client(store, key=key) as client:
            answers = [
                await client.get(f"/api/candidates/{hostile}"),
                await client.post(f"/api/candidates/{hostile}/accept", json={"expected": "x"}),
                await client.post(f"/api/candidates/{hostile}/reject", json={"reason": "x"}),
                await client.get(f"/api/traces/{hostile}"),
            ]
            for answer in answers:
                assert 400 <= answer.status_code < 500, (answer.request.url, answer.text)
                assert len(answer.text) < 2000  # the id is not echoed back whole
            assert store.candidates.get("c0ffee01").state == "pending"

    asyncio.run(main())


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"expected": "x", "note": "n" * (MAX_SHORT_TEXT + 1)}, 400, "note"),
        ({"assert": [{"type": "icontains", "value": "x"}] * (MAX_ASSERTS + 1)}, 400, "assert"),
        ({"expected": "x", "vars": {f"v{i}": i for i in range(MAX_KEYS + 1)}}, 400, "vars"),
        ({"expected": "x", "vars": {"deep": _nested(MAX_DEPTH)}}, 422, "vars"),
        ({"assert": [{"type": "icontains", "value": _nested(MAX_DEPTH)}]}, 422, "assert"),
    ],
)
def test_an_acceptance_past_a_limit_names_the_field(
    store: Store, body: dict[str, Any], status: int, field: str
) -> None:
    store.candidates.add([_candidate()], {}, [])
    key = _admin(store)

    async def main() -> None:
        async with asgi_client(store, key=key) as client:
            answer = await client.post("/api/candidates/c0ffee01/accept", json=body)
            assert answer.status_code == status, answer.text
            assert answer.json()["field"].split(".")[-1] == field
            assert store.candidates.get("c0ffee01").state == "pending"
            assert store.candidates.events("c0ffee01") == []

    asyncio.run(main())


def test_review_text_at_its_limit_is_taken_and_past_it_refused(store: Store) -> None:
    store.candidates.add([_candidate(), _candidate("c0ffee02")], {}, [])
    key = _admin(store)
    note = WIDE * MAX_SHORT_TEXT  # 64 KB of four-byte characters

    async def main() -> None:
        async with asgi_client(store, key=key) as client:
            accepted = await client.post(
                "/api/candidates/c0ffee01/accept",
                json={"expected": WIDE * 20_000, "note": note, "vars": _nested(MAX_DEPTH - 1)},
            )
            assert accepted.status_code == 200, accepted.text[:300]
            assert accepted.json()["note"] == note
            too_long = await client.post(
                "/api/candidates/c0ffee02/reject", json={"reason": "r" * (MAX_SHORT_TEXT + 1)}
            )
            assert too_long.status_code == 400
            assert too_long.json()["field"].split(".")[-1] == "reason"
            rejected = await client.post(
                "/api/candidates/c0ffee02/reject", json={"reason": WIDE * MAX_SHORT_TEXT}
            )
            assert rejected.status_code == 200 and rejected.json()["state"] == "rejected"

    asyncio.run(main())
    assert store.candidates.get("c0ffee01").note == note
    assert store.candidates.get("c0ffee02").note == WIDE * MAX_SHORT_TEXT


def test_key_filters_past_the_limits_are_a_400_and_nul_finds_what_was_stored(
    store: Store,
) -> None:
    key = create_api_key(store, name="read", scope="read").secret
    # NUL is stored as U+FFFD on both backends; a filter with NUL finds it on both
    store.traces.add([Trace(trace_id="a" * 32, timestamp=T0, keys={"intent": "a\x00b"})])

    async def main() -> None:
        async with asgi_client(store, key=key) as client:
            answer = await client.get("/api/traces", params={"key.intent": NINE_KB})
            assert answer.status_code == 400, answer.text[:300]
            assert answer.json()["field"] == "key.intent" and len(answer.text) < 1000
            many = {f"key.k{i}": "v" for i in range(MAX_KEYS + 1)}
            answer = await client.get("/api/traces", params=many)
            assert answer.status_code == 400 and "key filters" in answer.json()["detail"]
            for value in ("a\x00b", "a\ufffdb"):
                found = await client.get("/api/traces", params={"key.intent": value})
                assert found.status_code == 200 and found.json()["total"] == 1
            for path in (f"/api/traces/{'a' * 31}%00", "/api/feedback?trace_id=%00"):
                assert (await client.get(path)).status_code == 400

    asyncio.run(main())


def test_the_writer_refuses_a_row_past_a_limit_for_its_request_only(store: Store) -> None:
    good = Trace(trace_id="a" * 32, timestamp=T0, keys={"intent": "refund"})
    bad = Trace(trace_id="b" * 32, timestamp=T0, keys={"intent": NINE_KB})
    rating = Feedback(feedback_id="fb-1", trace_id="a" * 32, rating="up", score=1.0)
    hostile_rating = Feedback(feedback_id=NINE_KB, trace_id="a" * 32, rating="up", score=1.0)

    async def main() -> None:
        writer = GroupCommitWriter(StoreSink(store), metrics=Metrics(), linger_s=0.05)
        await writer.start()
        try:
            # submitted together, so the first commit holds all four requests
            results = await asyncio.gather(
                writer.write(traces=[good]),
                writer.write(traces=[bad]),
                writer.write(feedback=[rating]),
                writer.write(feedback=[hostile_rating]),
                return_exceptions=True,
            )
        finally:
            await writer.close()
        assert results[0] is None and results[2] is None
        assert isinstance(results[1], FieldLimitError) and results[1].field == "keys.intent"
        assert isinstance(results[3], FieldLimitError) and results[3].field == "id"

    asyncio.run(main())
    assert [t.trace_id for t in store.traces.find()] == ["a" * 32]
    assert [f.feedback_id for f in store.feedback.find()] == ["fb-1"]
