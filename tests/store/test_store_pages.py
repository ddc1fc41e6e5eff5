"""Keyset pages of traces and candidates: ``after`` the last row of a page, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from evallock.records import Candidate, Trace
from evallock.store import CandidatePosition, TracePosition

T0 = datetime(2026, 10, 4, 9, 0, tzinfo=UTC)


def _trace(n: int, at: datetime, **keys: str) -> Trace:
    return Trace(trace_id=f"{n:032x}", timestamp=at, keys=dict(keys))


def _walk(store, *, limit: int, **query) -> list[str]:
    seen: list[str] = []
    after = None
    while True:
        page = store.traces.find(limit=limit, after=after, **query)
        seen += [t.trace_id for t in page]
        if len(page) < limit:
            return seen
        after = TracePosition(timestamp=page[-1].timestamp, trace_id=page[-1].trace_id)


def test_pages_after_a_position_walk_ties_once_each_in_order(store):
    # 250 traces share one timestamp, between traces a minute earlier and later.
    tied = [_trace(n, T0, intent="refund" if n % 2 else "billing") for n in range(1, 251)]
    store.traces.add(
        [*tied, _trace(1000, T0 - timedelta(minutes=1)), _trace(1001, T0 + timedelta(minutes=1))]
    )
    newest = _walk(store, limit=7)
    assert newest == [t.trace_id for t in store.traces.find(limit=1000)]
    assert len(newest) == len(set(newest)) == 252
    assert newest[0] == f"{1001:032x}" and newest[-1] == f"{1000:032x}"
    assert newest[1:-1] == sorted((t.trace_id for t in tied), reverse=True)

    oldest = _walk(store, limit=10, newest_first=False)
    assert oldest == list(reversed(newest))

    refunds = _walk(store, limit=9, keys={"intent": "refund"}, since=T0, until=T0 + timedelta(1))
    assert refunds == sorted(
        (t.trace_id for t in tied if t.keys["intent"] == "refund"), reverse=True
    )


def test_a_position_between_rows_and_an_offset_after_it(store):
    store.traces.add([_trace(n, T0 + timedelta(seconds=n // 2)) for n in range(10)])
    # a position that is no stored trace: the page starts at the next one in the order
    after = TracePosition(timestamp=T0 + timedelta(seconds=2), trace_id=f"{4:032x}" + "0")
    page = store.traces.find(after=after, newest_first=False, limit=3)
    assert [int(t.trace_id, 16) for t in page] == [5, 6, 7]
    skipped = store.traces.find(after=after, newest_first=False, limit=3, offset=2)
    assert [int(t.trace_id, 16) for t in skipped] == [7, 8, 9]
    before = store.traces.find(after=after, limit=100)
    assert [int(t.trace_id, 16) for t in before] == [4, 3, 2, 1, 0]


def test_a_naive_position_is_refused(store):
    with pytest.raises(ValueError, match=r"after\.timestamp is a naive datetime"):
        store.traces.find(after=TracePosition(timestamp=datetime(2026, 10, 4), trace_id="a"))


def _candidate(ident: str, traces: int, minute: int) -> Candidate:
    return Candidate(
        candidate_id=ident,
        created_at=T0 + timedelta(minutes=minute),
        updated_at=T0,
        state="pending",
        trace_ids=tuple(f"{ident}-{i}" for i in range(traces)),
        input="question",
        output="answer",
        keys={},
        reason="thumbs-down",
        signature=ident,
    )


def test_candidate_pages_after_a_position(store):
    made = [_candidate(f"c{i:03d}", traces=1 + i % 3, minute=i % 4) for i in range(40)]
    store.candidates.add(made, {}, [])
    everything = [c.candidate_id for c in store.candidates.find(limit=None)]
    seen: list[str] = []
    after = None
    while True:
        page = store.candidates.find(limit=6, after=after)
        seen += [c.candidate_id for c in page]
        if len(page) < 6:
            break
        last = page[-1]
        after = CandidatePosition(
            trace_count=last.trace_count, created_at=last.created_at, candidate_id=last.candidate_id
        )
    assert seen == everything and len(set(seen)) == 40
    with pytest.raises(ValueError, match="not be negative"):
        store.candidates.find(offset=-1)


@pytest.mark.parametrize("page", [{"offset": 2**31}, {"limit": 2**31}, {"offset": 2**63}])
def test_a_page_past_32_bits_is_refused_on_both_backends(store, page):
    with pytest.raises(ValueError, match="at most 2,147,483,647"):
        store.traces.find(**page)
    with pytest.raises(ValueError, match="at most 2,147,483,647"):
        store.candidates.find(**page)
    assert store.traces.find(offset=2**31 - 1, limit=2**31 - 1) == []
