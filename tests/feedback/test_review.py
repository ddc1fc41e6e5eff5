"""Review: the state machine, the audit trail, who acted, and the framework-free API."""

from __future__ import annotations

import orjson
import pytest

from evallock.errors import UsageError
from evallock.feedback import (
    accept_candidate,
    candidate_to_dict,
    event_to_dict,
    list_candidates,
    propose_candidates,
    reject_candidate,
    resolve_actor,
    show_candidate,
)

from .conftest import HOSTILE, complaint, seed, tid


@pytest.fixture
def proposed(store):
    seed(store, [complaint(1, "Our contract was charged twice"), complaint(2, "Is it raining?")])
    plan = propose_candidates(store, actor="alice")
    return store, [c.candidate_id for c in plan.new]


def test_actor_comes_from_the_flag_then_the_environment_then_the_os(monkeypatch) -> None:
    monkeypatch.setenv("EVALLOCK_ACTOR", "ci-bot")
    assert resolve_actor("carol") == "carol"
    assert resolve_actor(None) == "ci-bot"
    monkeypatch.delenv("EVALLOCK_ACTOR")
    monkeypatch.setattr("getpass.getuser", lambda: "os-user")
    assert resolve_actor("  ") == "os-user"

    def no_user() -> str:
        raise KeyError("uid")

    monkeypatch.setattr("getpass.getuser", no_user)
    assert resolve_actor() == "unknown"


def test_accept_then_amend_then_reject_then_reconsider(proposed) -> None:
    store, (first, _) = proposed
    done = accept_candidate(
        store,
        first,
        expected="refunded within 5 business days",
        asserts=[{"type": "not-icontains", "value": "30 days"}],
        variables={"plan": "enterprise"},
        note="v4 said 30 days",
        actor="bob",
    )
    assert done.state == "accepted" and done.vars == {"plan": "enterprise"}
    assert done.asserts == ({"type": "not-icontains", "value": "30 days"},)
    amended = accept_candidate(store, first[:8], expected="5 business days", actor="carol")
    assert amended.expected == "5 business days" and amended.note == "v4 said 30 days"
    assert amended.vars == {"plan": "enterprise"} and amended.asserts == ()
    rejected = reject_candidate(store, first, reason="duplicate of refund-007", actor="dan")
    assert rejected.state == "rejected" and rejected.note == "duplicate of refund-007"
    back = accept_candidate(store, first, expected="5 business days", actor="erin")
    assert back.note is None  # the rejection reason is not the lock's note
    detail = show_candidate(store, first)
    assert [(e.action, e.actor) for e in detail.events] == [
        ("proposed", "alice"),
        ("accepted", "bob"),
        ("accepted", "carol"),
        ("rejected", "dan"),
        ("accepted", "erin"),
    ]
    assert detail.events[1].detail["expected"] == "refunded within 5 business days"
    assert detail.events[3].detail == {"reason": "duplicate of refund-007"}
    assert all(e.at.tzinfo is not None for e in detail.events)


def test_accept_needs_something_to_grade_with_and_a_valid_line(proposed) -> None:
    store, (first, _) = proposed
    with pytest.raises(UsageError, match="--expected"):
        accept_candidate(store, first, expected="  ", actor="bob")
    with pytest.raises(UsageError, match="assert"):
        accept_candidate(store, first, expected=None, asserts=[{"type": "telepathy"}], actor="b")
    with pytest.raises(UsageError, match="regex"):
        accept_candidate(
            store, first, expected=None, asserts=[{"type": "regex", "value": "("}], actor="b"
        )
    assert store.candidates.get(first).state == "pending"
    assert [e.action for e in store.candidates.events(first)] == ["proposed"]


def test_reject_needs_a_reason_and_unknown_ids_are_usage_errors(proposed) -> None:
    store, (first, _) = proposed
    with pytest.raises(UsageError, match="--reason"):
        reject_candidate(store, first, reason=" ", actor="bob")
    with pytest.raises(UsageError, match="no candidate"):
        reject_candidate(store, "ffffffff", reason="x", actor="bob")
    with pytest.raises(UsageError, match="no candidate"):
        show_candidate(store, "nope")


def test_a_promoted_candidate_is_final(proposed) -> None:
    store, (first, _) = proposed
    accept_candidate(store, first, expected="yes", actor="bob")
    store.candidates.mark_promoted(
        [(first, "fb-1")], promoted_to="g.jsonl", dataset_id="g@1", events=[]
    )
    for action in (
        lambda: accept_candidate(store, first, expected="no", actor="bob"),
        lambda: reject_candidate(store, first, reason="late", actor="bob"),
    ):
        with pytest.raises(UsageError, match=r"already promoted into g\.jsonl as case fb-1"):
            action()


def test_a_lost_race_is_reported_not_overwritten(proposed, monkeypatch) -> None:
    store, (first, _) = proposed
    real = store.candidates.transition

    def racing(candidate_id, **kwargs):
        real(
            candidate_id,
            from_states=["pending"],
            changes={"state": "rejected", "note": "someone else"},
            event=kwargs["event"],
        )
        return real(candidate_id, **kwargs)

    monkeypatch.setattr(store.candidates, "transition", racing)
    with pytest.raises(UsageError, match=r"cannot reject candidate .* it is rejected"):
        reject_candidate(store, first, reason="mine", actor="bob")


def test_list_and_json_forms(proposed) -> None:
    store, (first, second) = proposed
    reject_candidate(store, second, reason=HOSTILE, actor=HOSTILE)
    assert [c.candidate_id for c in list_candidates(store, state="pending")] == [first]
    assert {c.candidate_id for c in list_candidates(store)} == {first, second}
    with pytest.raises(UsageError, match="state"):
        list_candidates(store, state="maybe")
    detail = show_candidate(store, second)
    data = candidate_to_dict(detail.candidate)
    assert data["trace_id"] == tid(2) and data["note"] == HOSTILE and data["state"] == "rejected"
    events = [event_to_dict(e) for e in detail.events]
    assert events[-1]["actor"] == HOSTILE
    orjson.dumps({"candidate": data, "events": events})  # JSON-ready


def test_errors_say_what_an_http_route_should_answer(proposed) -> None:
    from evallock.feedback import CandidateNotFoundError, CandidateStateError

    store, (first, _) = proposed
    with pytest.raises(CandidateNotFoundError):
        show_candidate(store, "ffffffff")
    accept_candidate(store, first, expected="yes", actor="bob")
    store.candidates.mark_promoted(
        [(first, "fb-1")], promoted_to="g.jsonl", dataset_id="g@1", events=[]
    )
    with pytest.raises(CandidateStateError):
        reject_candidate(store, first, reason="late", actor="bob")
    assert issubclass(CandidateStateError, UsageError)  # exit 2 on the command line
