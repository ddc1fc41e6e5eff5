"""A session's traces read as one multi-turn case: turns, tool results, tool definitions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from evallock.feedback import case_line, plan_proposals, validate_case_line
from evallock.feedback._session import MAX_CASE_TURNS, session_case
from evallock.records import Signal, ToolCall, Trace

T0 = datetime(2026, 12, 1, tzinfo=UTC)
STATUS = {"type": "function", "function": {"name": "order_status"}}
POLICY = {"type": "function", "function": {"name": "refund_policy"}}


def trace(n: int, **fields) -> Trace:
    return Trace(
        trace_id=f"{n:032x}",
        timestamp=T0 + timedelta(seconds=n),
        keys={"session_id": "s"},
        **fields,
    )


def user(text: str) -> dict:
    return {"role": "user", "content": text}


def test_a_client_that_resends_the_history_gives_each_turn_once() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "order_status", "arguments": "{}"}}
    first = [user("Where is R1041?")]
    with_call = [*first, {"role": "assistant", "tool_calls": [call]}]
    answered = [*with_call, {"role": "tool", "tool_call_id": "c1", "content": "shipped"}]
    second = [*answered, {"role": "assistant", "content": "It shipped."}, user("Can I return it?")]
    traces = [
        trace(1, input="Where is R1041?", messages=first, tools=[STATUS],
              tool_calls=[ToolCall(name="order_status", arguments="{}", id="c1")]),
        trace(2, input="Where is R1041?", messages=answered, output="It shipped.", tools=[STATUS]),
        trace(3, input="Can I return it?", messages=second, output="No.", tools=[STATUS, POLICY]),
    ]  # fmt: skip
    made = session_case("s", traces)
    assert made is not None
    assert made.input == "Where is R1041?" and made.output == "No."
    assert made.conversation.turns == ("Can I return it?",)
    # the result answered the call by its id, in a later request's tool message
    assert made.conversation.tool_results == {"order_status": "shipped"}
    assert made.conversation.tools == (STATUS, POLICY)
    assert made.conversation.trace_ids == tuple(t.trace_id for t in traces)


def test_a_client_that_sends_one_turn_a_request_gives_each_turn_once() -> None:
    """The Responses API habit (previous_response_id): each trace holds only its turn; a
    tool span's result counts as the tool's answer."""
    traces = [
        trace(1, input="Where is R1041?", output=None,
              tool_calls=[ToolCall(name="order_status", arguments="{}", result="shipped")]),
        trace(2, input="Where is R1041?", output="It shipped."),
        trace(3, input="Can I return it?", output="Yes."),
        trace(4, input="Thanks", output="Bye."),
    ]  # fmt: skip
    made = session_case("s", traces)
    assert made is not None
    assert made.input == "Where is R1041?"
    assert made.conversation.turns == ("Can I return it?", "Thanks")
    assert made.conversation.tool_results == {"order_status": "shipped"}


def test_a_session_without_a_user_turn_makes_no_case_and_a_long_one_keeps_its_start() -> None:
    assert session_case("s", [trace(1, output="hello")]) is None
    many = [trace(n, input=f"question {n}") for n in range(MAX_CASE_TURNS + 10)]
    made = session_case("s", many)
    assert made is not None and len(made.conversation.turns) == MAX_CASE_TURNS
    assert made.conversation.turns[0] == "question 1"


def test_session_signals_make_one_candidate_per_session_and_a_valid_multi_turn_case() -> None:
    traces = (
        trace(1, input="Where is R1041?", output="It shipped.", tools=[STATUS],
              tool_calls=[ToolCall(name="order_status", arguments="{}", result="shipped")]),
        trace(2, input="Can I return it?", output="It shipped."),
    )  # fmt: skip

    def signal(trace_id: str, **extra) -> Signal:
        return Signal(
            trace_id=trace_id, timestamp=T0, kinds=("thumbs-down",), reason="thumbs-down",
            input="Can I return it?", output="It shipped.", keys={"intent": "refund"}, **extra,
        )  # fmt: skip

    plan = plan_proposals(
        [
            signal(traces[1].trace_id, session_id="s", session=traces),
            signal(traces[0].trace_id, session_id="s", session=traces),
            signal("f" * 32),  # the same question, rated alone: a candidate of its own
        ],
        [],
    )
    session, single = sorted(plan.new, key=lambda c: c.conversation is None)
    assert session.conversation is not None and session.trace_count == 2
    assert session.input == "Where is R1041?"
    assert single.conversation is None and single.input == "Can I return it?"
    line = case_line(session, "fb-s", expected="30 days")
    validate_case_line(line)
    assert line["turns"] == ["Can I return it?"]
    assert line["tool_results"] == {"order_status": "shipped"}
    assert line["tools"] == [STATUS]
    assert line["source"]["session_id"] == "s" and line["source"]["lock"] is True
    # a later rating of the same session joins the candidate, not a new one
    again = plan_proposals([signal("e" * 32, session_id="s", session=traces)], list(plan.new))
    assert again.new == () and again.merges == {session.candidate_id: ("e" * 32,)}
