"""Feedback in the store: once per feedback_id, kept before its trace, listed by trace and time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from evallock.limits import FieldLimitError
from evallock.records import Feedback, Trace

T0 = datetime(2026, 10, 4, 9, 0, tzinfo=UTC)
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
HOSTILE = "'; DROP TABLE feedback; -- <script>alert('x')</script> 返金 🧾"


def _feedback(feedback_id: str = "fb-1", **changes) -> Feedback:
    fields = {
        "feedback_id": feedback_id,
        "trace_id": TRACE,
        "rating": "down",
        "score": 0.0,
        "comment": "it was wrong",
        "created_at": T0,
    }
    fields.update(changes)
    return Feedback(**fields)


def test_feedback_round_trips_with_hostile_text(store):
    item = _feedback(comment=HOSTILE, author=HOSTILE, source="langfuse", name="user_feedback")
    assert store.feedback.add([item]) == 1
    assert store.feedback.find() == [item]


def test_feedback_is_idempotent_on_its_id(store):
    assert store.feedback.add([_feedback("fb-1"), _feedback("fb-1", rating="up")]) == 1
    assert store.feedback.add([_feedback("fb-1", rating="up", score=1.0), _feedback("fb-2")]) == 1
    assert store.feedback.add([]) == 0
    stored = store.feedback.find()
    assert [(f.feedback_id, f.rating) for f in stored] == [("fb-1", "down"), ("fb-2", "down")]


def test_feedback_before_its_trace_is_kept_and_linked_by_trace_id(store):
    store.feedback.add([_feedback("fb-early")])
    assert store.traces.get(TRACE) is None
    store.traces.add([Trace(trace_id=TRACE, timestamp=T0, input="q")])
    assert [f.feedback_id for f in store.feedback.find(trace_id=TRACE)] == ["fb-early"]


def test_missing_created_at_is_the_time_of_the_write(store):
    before = datetime.now(UTC)
    store.feedback.add([_feedback(created_at=None)])
    [stored] = store.feedback.find()
    assert (
        before - timedelta(seconds=1)
        <= stored.created_at
        <= datetime.now(UTC) + timedelta(seconds=1)
    )


def test_list_by_trace_since_and_limit(store):
    other = "a" * 32
    store.feedback.add(
        [
            _feedback(
                f"fb-{n}", created_at=T0 + timedelta(minutes=n), trace_id=TRACE if n % 2 else other
            )
            for n in range(6)
        ]
    )
    assert [f.feedback_id for f in store.feedback.find(trace_id=TRACE)] == ["fb-1", "fb-3", "fb-5"]
    assert [f.feedback_id for f in store.feedback.find(since=T0 + timedelta(minutes=4))] == [
        "fb-4",
        "fb-5",
    ]
    assert [f.feedback_id for f in store.feedback.find(limit=2)] == ["fb-0", "fb-1"]


def test_naive_created_at_is_refused(store):
    with pytest.raises(ValueError, match="naive"):
        store.feedback.add([_feedback(created_at=datetime(2026, 10, 4))])


def test_feedback_text_with_nul_and_a_nan_score(store):
    store.feedback.add([_feedback(comment="a\x00b")])
    [stored] = store.feedback.find()
    assert stored.comment == "a\ufffdb"
    with pytest.raises(FieldLimitError) as caught:  # refused alike on both backends
        store.feedback.add([_feedback(feedback_id="nan", score=float("nan"))])
    assert caught.value.field == "score"
    assert store.feedback.find(trace_id="\x00") == []
