"""A session's traces put back together as one conversation, from either kind of client."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from evallock.records import ToolCall, Trace
from evallock.traces import session_transcript

T0 = datetime(2026, 12, 1, tzinfo=UTC)
CALL = {"id": "c1", "type": "function", "function": {"name": "order_status", "arguments": "{}"}}


def trace(n: int, **fields) -> Trace:
    return Trace(trace_id=f"{n:032x}", timestamp=T0 + timedelta(seconds=n), **fields)


def roles(transcript):
    return [(m["role"], m.get("content")) for m in transcript]


def test_a_client_resending_the_history_gives_it_once_with_the_last_answer() -> None:
    system = {"role": "system", "content": "app prompt"}
    u1 = {"role": "user", "content": "Where is R1041?"}
    asked = [system, u1, {"role": "assistant", "content": None, "tool_calls": [CALL]},
             {"role": "tool", "tool_call_id": "c1", "content": "shipped"}]  # fmt: skip
    traces = [
        trace(1, input=u1["content"], messages=[system, u1],
              tool_calls=[ToolCall(name="order_status", arguments="{}", id="c1")]),
        trace(2, input=u1["content"], messages=asked, output="It shipped."),
        trace(3, input="Can I return it?", output="Yes, within 30 days.",
              messages=[*asked, {"role": "assistant", "content": "It shipped."},
                        {"role": "user", "content": "Can I return it?"}]),
    ]  # fmt: skip
    assert roles(session_transcript(traces)) == [
        ("user", "Where is R1041?"),
        ("assistant", None),
        ("tool", "shipped"),
        ("assistant", "It shipped."),
        ("user", "Can I return it?"),
        ("assistant", "Yes, within 30 days."),
    ]


def test_a_client_sending_one_turn_a_request_gives_each_once_with_tool_span_results() -> None:
    traces = [
        trace(1, input="Where is R1041?",
              tool_calls=[ToolCall(name="order_status", arguments="{}", id="c1", result="shipped")]),
        trace(2, input="Where is R1041?", output="It shipped.",
              messages=[{"role": "tool", "tool_call_id": "c1", "content": "shipped"}]),
        trace(3, input="Can I return it?", output="Yes."),
    ]  # fmt: skip
    transcript = session_transcript(traces)
    assert roles(transcript) == [
        ("user", "Where is R1041?"),
        ("assistant", None),
        ("tool", "shipped"),  # once: the span's result and the next request's are one
        ("assistant", "It shipped."),
        ("user", "Can I return it?"),
        ("assistant", "Yes."),
    ]
    assert transcript[1]["tool_calls"][0]["function"]["name"] == "order_status"
    assert session_transcript([]) == []


def test_calls_without_ids_in_two_traces_keep_their_own_results() -> None:
    """Two requests each made an id-less call (a tool span gave its result): the made-up
    ids are the trace's, so the second result is not taken for the first's repeat."""
    traces = [
        trace(1, input="Where is R1?", output="shipped",
              tool_calls=[ToolCall(name="order_status", arguments="{}", result="R1 shipped")]),
        trace(2, input="And R2?", output="lost",
              tool_calls=[ToolCall(name="order_status", arguments="{}", result="R2 lost")]),
    ]  # fmt: skip
    results = [m["content"] for m in session_transcript(traces) if m["role"] == "tool"]
    assert results == ["R1 shipped", "R2 lost"]
