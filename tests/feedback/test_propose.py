"""Proposing candidates: clustering, merging into existing ones, golden near-duplicates."""

from __future__ import annotations

from datetime import timedelta

from evallock.feedback import Signal, plan_proposals, propose_candidates, task_keys
from evallock.records import Case

from .conftest import KEYS, T0, complaint, seed, tid


def signal(n: int, text: str, keys: dict[str, str] | None = None, **changes) -> Signal:
    fields = {
        "trace_id": tid(n),
        "timestamp": T0 + timedelta(minutes=n),
        "kinds": ("thumbs-down",),
        "reason": "thumbs-down",
        "input": text,
        "output": f"answer {n}",
        "keys": dict(KEYS if keys is None else keys),
    }
    fields.update(changes)
    return Signal(**fields)


def test_task_keys_leave_out_versions() -> None:
    assert task_keys({"prompt_version": "v4", "customer_tier": "pro", "intent": "refund"}) == (
        ("intent", "refund"),
        ("customer_tier", "pro"),
    )


def test_near_duplicates_become_one_candidate_named_after_the_newest_trace() -> None:
    plan = plan_proposals(
        [
            signal(1, "Our contract was charged twice, ticket 1001", output="fine answer"),
            signal(2, "Where can we download invoices?"),
            signal(3, "our contract was charged twice!! ticket 2002", reason="thumbs-down: no"),
        ],
        [],
    )
    assert plan.signals == 3 and plan.traces_added == 3 and plan.merges == {}
    first, second = plan.new
    assert first.candidate_id == tid(3)[:8]
    assert first.trace_ids == (tid(3), tid(1)) and first.trace_count == 2
    assert first.reason == "thumbs-down: no" and first.output == "answer 3"
    assert first.state == "pending" and first.keys == KEYS
    assert second.trace_ids == (tid(2),)


def test_the_same_question_in_another_tier_is_another_candidate() -> None:
    consumer = {**KEYS, "customer_tier": "consumer"}
    plan = plan_proposals(
        [signal(1, "charged twice"), signal(2, "charged twice", keys=consumer)], []
    )
    assert len(plan.new) == 2


def test_versions_do_not_split_a_complaint() -> None:
    v3 = {**KEYS, "prompt_version": "refund-v3"}
    plan = plan_proposals([signal(1, "charged twice", keys=v3), signal(2, "charged twice")], [])
    assert [c.trace_count for c in plan.new] == [2]


def test_signals_merge_into_existing_candidates_of_any_state() -> None:
    first = plan_proposals([signal(1, "charged twice on our contract")], []).new[0]
    rejected = plan_proposals([signal(9, "is it raining")], []).new[0]
    from dataclasses import replace

    existing = [first, replace(rejected, state="rejected")]
    plan = plan_proposals(
        [signal(2, "Charged twice on our contract!"), signal(3, "is it raining?")], existing
    )
    assert plan.new == ()
    assert plan.merges == {first.candidate_id: (tid(2),), rejected.candidate_id: (tid(3),)}


def test_ids_stay_unique_when_trace_prefixes_clash() -> None:
    a = signal(1, "first question", trace_id="abcdef01" + "0" * 24)
    b = signal(2, "another topic entirely", trace_id="abcdef01" + "1" * 24)
    plan = plan_proposals([a, b], [])
    assert [c.candidate_id for c in plan.new] == ["abcdef01", "abcdef011111"]


def test_near_duplicates_of_golden_cases_are_marked() -> None:
    golden = [
        Case(
            id="refund-007",
            input="Our contract renewal was charged twice, can we get a refund?",
            keys={"intent": "refund", "customer_tier": "enterprise"},
        ),
        Case(id="any-tier", input="How do we add seats?", keys={"intent": "account"}),
        Case(
            id="consumer",
            input="Where can we download invoices?",
            keys={"customer_tier": "consumer"},
        ),
        Case(id="chat", input=[{"role": "user", "content": "Is there an SLA for outages?"}]),
    ]
    account = {**KEYS, "intent": "account"}
    plan = plan_proposals(
        [
            signal(1, "our contract renewal was charged twice — can we get a refund??"),
            signal(2, "How do we add seats", keys=account),
            signal(3, "Where can we download invoices?"),
            signal(4, "is there an SLA for outages"),
        ],
        [],
        golden,
    )
    assert [c.duplicate_of for c in plan.new] == ["refund-007", "any-tier", None, "chat"]


def test_propose_is_idempotent_and_merges_later_traces(store) -> None:
    seed(
        store, [complaint(1, "Charged twice, ticket 11"), complaint(2, "Charged twice, ticket 12")]
    )
    plan = propose_candidates(store, actor="alice")
    assert len(plan.new) == 1 and plan.new[0].trace_count == 2
    again = propose_candidates(store, actor="alice")
    assert again.new == () and again.merges == {} and again.signals == 0
    seed(store, [complaint(3, "charged twice, ticket 13")])
    later = propose_candidates(store, actor="bob")
    ident = plan.new[0].candidate_id
    assert later.merges == {ident: (tid(3),)}
    stored = store.candidates.get(ident)
    assert stored.trace_ids == (tid(2), tid(1), tid(3))
    events = store.candidates.events(ident)
    assert [(e.action, e.actor) for e in events] == [("proposed", "alice"), ("merged", "bob")]
    assert events[1].detail == {"trace_ids": [tid(3)]}


def test_propose_reads_the_window_and_the_chosen_signals(store) -> None:
    seed(store, [complaint(1, "old complaint", minutes=0), complaint(2, "new one", minutes=600)])
    plan = propose_candidates(store, since=T0 + timedelta(minutes=300), actor="alice")
    assert [c.trace_ids for c in plan.new] == [(tid(2),)]
    nothing = propose_candidates(store, kinds=["error", "empty-output"], actor="alice")
    assert nothing.new == ()


def test_a_rated_session_is_proposed_even_when_its_last_trace_backs_a_candidate(store) -> None:
    """The last answer was rated alone first (a candidate of its own); then the whole
    conversation is rated: it becomes a session candidate standing on the session's
    newest trace no candidate holds. Proposing again adds nothing; a later turn rated
    with the session joins the session's candidate."""
    from evallock.records import Feedback, Trace

    def turn(n: int, text: str) -> Trace:
        return Trace(trace_id=tid(n), timestamp=T0 + timedelta(minutes=n), input=text,
                     output=f"answer {n}", keys={**KEYS, "session_id": "s-9"})  # fmt: skip

    def rating(n: int, **fields) -> Feedback:
        return Feedback(feedback_id=f"fb-{n}", trace_id=tid(n), rating="down", score=0.0,
                        created_at=T0 + timedelta(minutes=n, seconds=30), **fields)  # fmt: skip

    store.traces.add([turn(1, "Where is my order?"), turn(2, "Can I return it?")])
    store.feedback.add([rating(2)])
    (alone,) = propose_candidates(store, actor="alice").new
    assert alone.conversation is None and alone.trace_ids == (tid(2),)
    store.feedback.add([Feedback(feedback_id="fb-s", trace_id=tid(2), rating="down", score=0.0,
                                 session_id="s-9", comment="wrong tool")])  # fmt: skip
    (whole,) = propose_candidates(store, actor="alice").new
    assert whole.conversation is not None and whole.trace_ids == (tid(1),)
    assert whole.input == "Where is my order?" and whole.conversation.turns == ("Can I return it?",)
    assert whole.reason == "thumbs-down on the session: wrong tool"
    assert propose_candidates(store, actor="alice").signals == 0  # every trace of it is held
    store.traces.add([turn(3, "Hello?")])
    store.feedback.add([rating(3, session_id="s-9")])
    later = propose_candidates(store, actor="bob")
    assert later.new == () and later.merges == {whole.candidate_id: (tid(3),)}
