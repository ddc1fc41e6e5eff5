"""Candidates in the store: signals, merges, compare-and-set reviews, promotion, slices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from evallock.errors import StoreError, UsageError
from evallock.records import Candidate, CandidateEvent, Feedback, StoredDriftReport, Trace

T0 = datetime(2026, 10, 4, 9, 0, tzinfo=UTC)
HOSTILE = "'; DROP TABLE candidates; -- <script>x</script> \x1b[31m返金 🧾"


def tid(n: int) -> str:
    return f"{n:032x}"


def trace(n: int, **changes) -> Trace:
    fields = {
        "trace_id": tid(n),
        "timestamp": T0 + timedelta(minutes=n),
        "input": f"question {n}",
        "output": f"answer {n}",
        "keys": {"prompt_version": "v4", "customer_tier": "enterprise", "intent": "refund"},
        "source": "import",
    }
    fields.update(changes)
    return Trace(**fields)


def down(n: int, **changes) -> Feedback:
    fields = {
        "feedback_id": f"fb-{n}",
        "trace_id": tid(n),
        "rating": "down",
        "score": 0.0,
        "name": "user_feedback",
        "created_at": T0,
    }
    fields.update(changes)
    return Feedback(**fields)


def candidate(ident: str, trace_ids: tuple[str, ...], **changes) -> Candidate:
    fields = {
        "candidate_id": ident,
        "created_at": T0,
        "updated_at": T0,
        "state": "pending",
        "trace_ids": trace_ids,
        "input": "question",
        "output": "answer",
        "keys": {"customer_tier": "enterprise"},
        "reason": "thumbs-down",
        "signature": "abc",
    }
    fields.update(changes)
    return Candidate(**fields)


def event(ident: str, action: str = "proposed", **detail) -> CandidateEvent:
    return CandidateEvent(
        candidate_id=ident, at=T0 + timedelta(hours=1), actor="alice", action=action, detail=detail
    )


def test_signals_of_each_kind_and_only_for_free_traces(store):
    store.traces.add(
        [
            trace(1),
            trace(2),
            trace(3, error="HTTP 500", output=None),
            trace(4, output="  "),
            trace(5),
            trace(6, input=None, messages=[{"role": "user", "content": "from messages"}]),
            trace(7),
        ]
    )
    store.feedback.add(
        [
            down(1, comment="wrong!"),
            down(2, rating="0.2", score=0.2, name=None),
            down(5, rating="up", score=1.0),
            down(6),
            down(7, name="helpfulness"),  # a judge's evaluation, not a person
        ]
    )
    store.reports.add_drift_report(
        StoredDriftReport(
            window_start=datetime(2026, 10, 1, tzinfo=UTC),
            window_end=datetime(2026, 10, 5, tzinfo=UTC),
            judge_version="j",
            alert=False,
            body={},
        ),
        [(tid(5), 1, "score 1/5: wrong policy"), (tid(1), 5, "fine")],  # as the judge writes it
    )
    thumbs = store.candidates.signals(["thumbs-down"])
    assert [s.trace_id for s in thumbs] == [tid(1), tid(2), tid(6)]
    assert thumbs[0].reason == "thumbs-down: wrong!" and thumbs[2].input == "from messages"
    judged = store.candidates.signals(["low-judge-score"])
    assert [(s.trace_id, s.reason) for s in judged] == [(tid(5), "judge score 1/5: wrong policy")]
    errors = store.candidates.signals(["error"])
    assert [(s.trace_id, s.reason) for s in errors] == [(tid(3), "error: HTTP 500")]
    assert [s.trace_id for s in store.candidates.signals(["empty-output"])] == [tid(4)]
    both = store.candidates.signals(["low-judge-score", "thumbs-down"], max_judge_score=5)
    first = next(s for s in both if s.trace_id == tid(1))
    assert first.kinds == ("low-judge-score", "thumbs-down")
    window = store.candidates.signals(["thumbs-down"], since=T0 + timedelta(minutes=2))
    assert [s.trace_id for s in window] == [tid(2), tid(6)]

    store.candidates.add([candidate("c1", (tid(1), tid(2)))], {}, [event("c1")])
    assert [s.trace_id for s in store.candidates.signals(["thumbs-down"])] == [tid(6)]


def test_candidates_round_trip_with_hostile_text_and_events(store):
    stored = candidate(
        "c1",
        (tid(1),),
        input=HOSTILE,
        output=HOSTILE,
        reason=HOSTILE,
        keys={"intent": HOSTILE},
        asserts=({"type": "icontains", "value": HOSTILE},),
        vars={"plan": "enterprise"},
    )
    store.candidates.add([stored], {}, [event("c1", reason=HOSTILE)])
    assert store.candidates.get("c1") == stored
    [logged] = store.candidates.events("c1")
    assert logged.actor == "alice" and logged.detail == {"reason": HOSTILE}


def test_merges_append_traces_and_a_trace_is_behind_one_candidate_only(store):
    store.candidates.add([candidate("c1", (tid(1),))], {}, [event("c1")])
    store.candidates.add([], {"c1": (tid(2), tid(3))}, [event("c1", "merged")])
    merged = store.candidates.get("c1")
    assert merged.trace_ids == (tid(1), tid(2), tid(3)) and merged.trace_count == 3
    assert [e.action for e in store.candidates.events("c1")] == ["proposed", "merged"]
    with pytest.raises(StoreError):
        store.candidates.add([candidate("c2", (tid(2),))], {}, [event("c2")])
    assert store.candidates.get("c2") is None  # nothing of the failed batch was written
    with pytest.raises(UsageError, match="does not exist"):
        store.candidates.add([], {"nope": (tid(9),)}, [])


def test_list_orders_by_traces_and_filters_by_state(store):
    store.candidates.add(
        [
            candidate("a1", (tid(1),)),
            candidate("b2", (tid(2), tid(3)), state="accepted"),
            candidate("c3", (tid(4),), state="rejected"),
        ],
        {},
        [],
    )
    assert [c.candidate_id for c in store.candidates.find()] == ["b2", "a1", "c3"]
    assert [c.candidate_id for c in store.candidates.find(states=["pending", "rejected"])] == [
        "a1",
        "c3",
    ]
    assert [c.candidate_id for c in store.candidates.find(limit=1, offset=1)] == ["a1"]


def test_get_by_unique_prefix(store):
    store.candidates.add(
        [candidate("abc12345", (tid(1),)), candidate("abd12345", (tid(2),))], {}, []
    )
    assert store.candidates.get("abc").candidate_id == "abc12345"
    assert store.candidates.get("zzz") is None
    assert store.candidates.get("a%") is None  # not a LIKE pattern
    with pytest.raises(UsageError, match="ambiguous"):
        store.candidates.get("ab")


def test_transition_is_a_compare_and_set(store):
    store.candidates.add([candidate("c1", (tid(1),))], {}, [])
    done = store.candidates.transition(
        "c1",
        from_states=["pending"],
        changes={"state": "accepted", "expected": "yes", "asserts": [], "vars": {}},
        event=event("c1", "accepted", expected="yes"),
    )
    assert done.state == "accepted" and done.expected == "yes"
    assert done.updated_at == T0 + timedelta(hours=1)
    again = store.candidates.transition(
        "c1",
        from_states=["pending"],
        changes={"state": "rejected"},
        event=event("c1", "rejected"),
    )
    assert again is None
    assert [e.action for e in store.candidates.events("c1")] == ["accepted"]


def test_mark_promoted_is_all_or_nothing_and_fills_empty_trace_dataset_ids(store):
    store.traces.add([trace(1), trace(2, keys={"dataset_id": "older@1"}), trace(3)])
    store.candidates.add(
        [
            candidate("c1", (tid(1), tid(2)), state="accepted"),
            candidate("c2", (tid(3),)),
        ],
        {},
        [],
    )
    with pytest.raises(UsageError, match="no longer accepted"):
        store.candidates.mark_promoted(
            [("c1", "fb-1"), ("c2", "fb-3")],
            promoted_to="golden.jsonl",
            dataset_id="golden@new",
            events=[event("c1", "promoted")],
        )
    assert store.candidates.get("c1").state == "accepted"
    assert "dataset_id" not in store.traces.get(tid(1)).keys
    store.candidates.mark_promoted(
        [("c1", "fb-1")],
        promoted_to="golden.jsonl",
        dataset_id="golden@new",
        events=[event("c1", "promoted", case_id="fb-1")],
    )
    done = store.candidates.get("c1")
    assert (done.state, done.case_id, done.promoted_to, done.dataset_id) == (
        "promoted",
        "fb-1",
        "golden.jsonl",
        "golden@new",
    )
    assert store.traces.get(tid(1)).keys["dataset_id"] == "golden@new"
    assert store.traces.get(tid(2)).keys["dataset_id"] == "older@1"  # never overwritten


def test_trace_slices_count_each_trace_once(store):
    store.traces.add(
        [
            trace(1),
            trace(2, error="boom"),
            trace(3),
            trace(4, keys={"prompt_version": "v3", "customer_tier": "enterprise", "team": "a"}),
            trace(5, keys={"prompt_version": "v4", "team": "b"}),
        ]
    )
    store.feedback.add([down(1), down(101, trace_id=tid(1)), down(3, rating="up", score=1.0)])
    window = StoredDriftReport(
        window_start=datetime(2026, 10, 1, tzinfo=UTC),
        window_end=datetime(2026, 10, 5, tzinfo=UTC),
        judge_version="j",
        alert=False,
        body={},
    )
    store.reports.add_drift_report(window, [(tid(1), 2, ""), (tid(3), 4, "")])
    store.reports.add_drift_report(window, [(tid(1), 4, ""), (tid(2), None, "err")])
    found = {s.slice.values: s for s in store.traces.slices(["prompt_version", "customer_tier"])}
    assert all(s.slice.keys == ("prompt_version", "customer_tier") for s in found.values())
    assert set(found) == {("v4", "enterprise"), ("v3", "enterprise"), ("v4", None)}
    v4 = found[("v4", "enterprise")]
    assert (v4.n, v4.errors, v4.thumbs_down, v4.judge_n) == (3, 1, 1, 2)
    assert v4.judge_sum == pytest.approx(3.0 + 4.0)  # trace 1 averages its two verdicts
    assert v4.judge_sumsq == pytest.approx(9.0 + 16.0)
    assert v4.first_seen == T0 + timedelta(minutes=1)
    extra = {s.slice.values: s.n for s in store.traces.slices(["team"])}
    assert extra == {(None,): 3, ("a",): 1, ("b",): 1}
    late = store.traces.slices(["prompt_version"], since=T0 + timedelta(minutes=4))
    assert {s.slice.values: s.n for s in late} == {("v3",): 1, ("v4",): 1}
    with pytest.raises(ValueError, match="key"):
        store.traces.slices(["bad key!"])


def test_complaint_traces_are_thumbs_downs_or_bad_judge_scores(store):
    store.traces.add([trace(1), trace(2), trace(3)])
    store.feedback.add([down(1), down(101, trace_id=tid(1))])
    store.reports.add_drift_report(
        StoredDriftReport(
            window_start=datetime(2026, 10, 1, tzinfo=UTC),
            window_end=datetime(2026, 10, 5, tzinfo=UTC),
            judge_version="j",
            alert=True,
            body={},
        ),
        [(tid(2), 1, "bad"), (tid(3), 4, "ok")],
    )
    found = store.traces.complaints()
    assert [(c.trace.trace_id, c.thumbs_down, c.judge_score) for c in found] == [
        (tid(1), True, None),
        (tid(2), False, 1.0),
    ]
    assert [c.trace.trace_id for c in store.traces.complaints(max_judge_score=4)] == [
        tid(1),
        tid(2),
        tid(3),
    ]
