"""Field limits in the store: both backends refuse the same rows, and take values at the limit.

PostgreSQL's btree index refuses a row past about 2.7 KB where SQLite stores it,
so without the checks a 9 KB key value was a 503 on one store and a 200 on the
other. Here each over-limit value is a :class:`FieldLimitError` naming the field,
with nothing of its batch written, and each value exactly at the limit (in
four-byte characters where the column is indexed) is stored and read back.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from evallock.errors import UsageError
from evallock.limits import (
    MAX_DEPTH,
    MAX_ID,
    MAX_KEY_VALUE,
    MAX_SHORT_TEXT,
    MAX_TEXT,
    FieldLimitError,
)
from evallock.records import Candidate, CandidateEvent, Feedback, Trace

T0 = datetime(2026, 10, 4, 9, 0, tzinfo=UTC)
WIDE = "🧾"  # four bytes in UTF-8: the most an indexed value can cost per character
_RANDOM = random.Random(20261206)
# Random, so PostgreSQL cannot compress it under its index row limit ("x" * 9216 it can).
NINE_KB = "".join(_RANDOM.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=9 * 1024))


def _wide(n: int) -> str:
    """``n`` random four-byte characters: an index entry that does not compress."""
    return "".join(chr(_RANDOM.randrange(0x1F300, 0x1F5FF)) for _ in range(n))


def _trace(n: int = 1, **changes) -> Trace:
    fields = {
        "trace_id": f"{n:032x}",
        "timestamp": T0 + timedelta(minutes=n),
        "input": f"question {n}",
        "output": f"answer {n}",
        "keys": {"prompt_version": "refund-v4", "intent": "refund"},
    }
    fields.update(changes)
    return Trace(**fields)


def _feedback(n: int = 1, **changes) -> Feedback:
    fields = {
        "feedback_id": f"fb-{n}",
        "trace_id": f"{n:032x}",
        "rating": "down",
        "score": 0.0,
        "created_at": T0,
    }
    fields.update(changes)
    return Feedback(**fields)


def _nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def test_a_field_limit_error_is_a_usage_error():
    assert issubclass(FieldLimitError, UsageError)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"keys": {"intent": NINE_KB}}, "keys.intent"),  # an indexed shared key
        ({"keys": {"prompt_version": NINE_KB}}, "keys.prompt_version"),
        ({"keys": {"session_id": NINE_KB}}, "keys.session_id"),  # an extra key
        ({"trace_id": NINE_KB}, "trace_id"),
        ({"output": "x" * 2 * 1024 * 1024}, "output"),
        ({"input": "x" * (MAX_TEXT + 1)}, "input"),
        ({"model": NINE_KB}, "model"),
        ({"error": "x" * (MAX_SHORT_TEXT + 1)}, "error"),
        ({"keys": {f"k{i}": "v" for i in range(100)}}, "keys"),
        ({"latency_ms": float("inf")}, "latency_ms"),
        ({"messages": [_nested(MAX_DEPTH + 1)]}, "messages"),
    ],
)
def test_a_trace_past_a_limit_is_refused_and_nothing_of_its_batch_written(store, changes, field):
    with pytest.raises(FieldLimitError) as caught:
        store.traces.add([_trace(1), _trace(2, **changes), _trace(3)])
    assert caught.value.field == field
    assert store.traces.find() == []
    assert store.traces.count() == 0


def test_a_trace_at_every_limit_is_stored_and_read_back(store):
    at_limit = _trace(
        1,
        trace_id=_wide(MAX_ID),
        input="i" * MAX_TEXT,
        output=WIDE * 1000 + "o" * (MAX_TEXT - 1000),
        model=WIDE * MAX_KEY_VALUE,
        error=WIDE * MAX_SHORT_TEXT,
        keys={
            # every indexed shared key at 256 four-byte characters: 1 KB per index entry
            "prompt_version": _wide(MAX_KEY_VALUE),
            "model_version": _wide(MAX_KEY_VALUE),
            "intent": _wide(MAX_KEY_VALUE),
            "customer_tier": _wide(MAX_KEY_VALUE),
            "session_id": _wide(MAX_KEY_VALUE),
            "k" * 64: "v",
        },
        messages=[_nested(MAX_DEPTH - 1)],
    )
    assert store.traces.add([at_limit]) == 1
    assert store.traces.get(at_limit.trace_id) == at_limit
    assert store.traces.find(keys={"intent": at_limit.keys["intent"]}) == [at_limit]
    # a second trace with the same wide values goes into the same indexes
    twin = _trace(2, keys=dict(at_limit.keys))
    assert store.traces.add([twin]) == 1
    assert store.traces.count(keys={"prompt_version": at_limit.keys["prompt_version"]}) == 2


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"feedback_id": NINE_KB}, "id"),
        ({"feedback_id": WIDE * (MAX_ID + 1)}, "id"),
        ({"trace_id": NINE_KB}, "trace_id"),
        ({"comment": "x" * (MAX_SHORT_TEXT + 1)}, "comment"),
        ({"rating": NINE_KB}, "rating"),
        ({"author": NINE_KB}, "author"),
        ({"name": NINE_KB}, "name"),
        ({"score": float("nan")}, "score"),
    ],
)
def test_feedback_past_a_limit_is_refused_and_nothing_of_its_batch_written(store, changes, field):
    with pytest.raises(FieldLimitError) as caught:
        store.feedback.add([_feedback(1), _feedback(2, **changes)])
    assert caught.value.field == field
    assert store.feedback.find() == []


def test_feedback_at_every_limit_is_stored_and_read_back(store):
    at_limit = _feedback(
        1,
        feedback_id=_wide(MAX_ID),  # the primary key: 1 KB
        trace_id=_wide(MAX_ID),  # indexed: 1 KB
        rating=WIDE * MAX_KEY_VALUE,
        comment=WIDE * MAX_SHORT_TEXT,
        author=WIDE * MAX_KEY_VALUE,
        name=WIDE * MAX_KEY_VALUE,
    )
    assert store.feedback.add([at_limit]) == 1
    assert store.feedback.find(trace_id=at_limit.trace_id) == [at_limit]
    assert store.feedback.add([at_limit]) == 0  # once per feedback_id, the wide one too


def _candidate(ident: str = "c1") -> Candidate:
    return Candidate(
        candidate_id=ident,
        created_at=T0,
        updated_at=T0,
        state="pending",
        trace_ids=("1" * 32,),
        input="question",
        output="answer",
        keys={},
        reason="thumbs-down",
        signature="abc",
    )


def _event(action: str, **detail) -> CandidateEvent:
    return CandidateEvent(candidate_id="c1", at=T0, actor="alice", action=action, detail=detail)


def _accept(store, **changes):
    values = {"state": "accepted", "expected": "yes", "asserts": [], "vars": {}, **changes}
    detail = {k: v for k, v in values.items() if k != "state"}
    return store.candidates.transition(
        "c1",
        from_states=["pending", "accepted"],
        changes=values,
        event=_event("accepted", **detail),
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"expected": "x" * (MAX_TEXT + 1)}, "expected"),
        ({"note": "x" * (MAX_SHORT_TEXT + 1)}, "note"),
        ({"vars": _nested(MAX_DEPTH + 1)}, "vars"),
        ({"asserts": [_nested(MAX_DEPTH)]}, "assert"),
    ],
)
def test_a_review_past_a_limit_is_refused_and_nothing_written(store, changes, field):
    store.candidates.add([_candidate()], {}, [])
    with pytest.raises(FieldLimitError) as caught:
        _accept(store, **changes)
    assert caught.value.field == field
    assert store.candidates.get("c1").state == "pending"
    assert store.candidates.events("c1") == []


def test_a_rejection_reason_past_its_limit_is_refused(store):
    store.candidates.add([_candidate()], {}, [])
    reason = "x" * (MAX_SHORT_TEXT + 1)
    with pytest.raises(FieldLimitError) as caught:
        store.candidates.transition(
            "c1",
            from_states=["pending"],
            changes={"state": "rejected", "note": reason},
            event=_event("rejected", reason=reason),
        )
    assert caught.value.field == "reason"
    assert store.candidates.get("c1").state == "pending"


def test_a_review_at_every_limit_is_stored(store):
    store.candidates.add([_candidate()], {}, [])
    done = _accept(
        store,
        expected=WIDE * MAX_TEXT,
        note=WIDE * MAX_SHORT_TEXT,
        vars=_nested(MAX_DEPTH),
        asserts=[_nested(MAX_DEPTH - 1)],
    )
    assert done.expected == WIDE * MAX_TEXT and done.note == WIDE * MAX_SHORT_TEXT
    assert store.candidates.get("c1").vars == _nested(MAX_DEPTH)


def test_a_hostile_candidate_id_is_simply_not_found(store):
    store.candidates.add([_candidate()], {}, [])
    assert store.candidates.get("c" * 10_000) is None
    assert store.candidates.get(WIDE * 10_000) is None
    assert store.candidates.events("c" * 10_000) == []
