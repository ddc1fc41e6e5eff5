"""Tool calls: one stored shape (name, arguments, id, result) from every dialect and path."""

from __future__ import annotations

import orjson
import pytest

from evallock.errors import CaseFileError
from evallock.records import ToolCall
from evallock.traces import decode_otlp_traces, read_trace_file

from .otlp_builders import LLM, ROOT, TRACE, request, span, to_json, to_protobuf

REFUND = ToolCall(name="refund_policy", arguments='{"plan":"enterprise"}', id="call_1")


def _one(doc, protobuf=False):
    body = to_protobuf(doc) if protobuf else to_json(doc)
    batch = decode_otlp_traces(body, "application/x-protobuf" if protobuf else "application/json")
    assert batch.rejected_spans == 0, batch.rejection_message
    (trace,) = batch.traces
    return trace, batch


@pytest.mark.parametrize("protobuf", [False, True], ids=["json", "protobuf"])
def test_genai_output_parts(protobuf):
    outputs = [
        {
            "role": "assistant",
            "parts": [
                {
                    "type": "tool_call",
                    "id": "call_1",
                    "name": "refund_policy",
                    "arguments": {"plan": "enterprise"},
                }
            ],
            "finish_reason": "tool_call",
        }
    ]
    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "m",
        "gen_ai.input.messages": orjson.dumps(
            [{"role": "user", "parts": [{"type": "text", "content": "Refund?"}]}]
        ).decode(),
        "gen_ai.output.messages": orjson.dumps(outputs).decode(),
    }
    trace, _ = _one(request(span(attributes=attributes)), protobuf)
    assert trace.tool_calls == [REFUND]
    assert trace.output is None  # the answer is the call: no text is invented


def test_openinference_output_message_tool_calls():
    prefix = "llm.output_messages.0.message."
    attributes = {
        "openinference.span.kind": "LLM",
        "llm.model_name": "m",
        "llm.input_messages.0.message.role": "user",
        "llm.input_messages.0.message.content": "Refund?",
        prefix + "role": "assistant",
        prefix + "tool_calls.0.tool_call.id": "call_1",
        prefix + "tool_calls.0.tool_call.function.name": "refund_policy",
        prefix + "tool_calls.0.tool_call.function.arguments": '{"plan":"enterprise"}',
    }
    trace, _ = _one(request(span(attributes=attributes)))
    assert trace.tool_calls == [REFUND]


def test_openllmetry_flattened_completion_tool_calls():
    attributes = {
        "gen_ai.request.model": "m",
        "gen_ai.prompt.0.role": "user",
        "gen_ai.prompt.0.content": "Refund?",
        "gen_ai.completion.0.role": "assistant",
        "gen_ai.completion.0.tool_calls.0.id": "call_1",
        "gen_ai.completion.0.tool_calls.0.name": "refund_policy",
        "gen_ai.completion.0.tool_calls.0.arguments": '{"plan":"enterprise"}',
    }
    trace, _ = _one(request(span(attributes=attributes)))
    assert trace.tool_calls == [REFUND]
    assert trace.input == "Refund?"


def test_langfuse_generation_output_with_tool_calls():
    answer = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "refund_policy", "arguments": '{"plan":"enterprise"}'},
            }
        ],
    }
    attributes = {
        "langfuse.observation.type": "generation",
        "langfuse.observation.input": '[{"role": "user", "content": "Refund?"}]',
        "langfuse.observation.output": orjson.dumps(answer).decode(),
    }
    trace, _ = _one(request(span(attributes=attributes)))
    assert trace.tool_calls == [REFUND]
    assert trace.output is None  # not the message's JSON as text


def test_an_agent_trace_keeps_every_call_with_its_result_from_the_tool_span():
    """Model call → tool span → model call: the first call, with the tool's result."""
    first = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "m",
        "gen_ai.input.messages": '[{"role": "user", "parts": [{"type": "text", "content": "Refund?"}]}]',
        "gen_ai.output.messages": orjson.dumps(
            [
                {
                    "role": "assistant",
                    "parts": [
                        {
                            "type": "tool_call",
                            "id": "call_1",
                            "name": "refund_policy",
                            "arguments": {"plan": "enterprise"},
                        }
                    ],
                }
            ]
        ).decode(),
    }
    tool = {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "refund_policy",
        "gen_ai.tool.call.id": "call_1",
        "gen_ai.tool.call.result": "30 days via the account manager",
    }
    second = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "m",
        "gen_ai.output.messages": '[{"role": "assistant", "parts": [{"type": "text", "content": "30 days."}]}]',
    }
    doc = request(
        span(span_id=ROOT, name="agent", start_ms=0, end_ms=300),
        span(span_id=LLM, parent=ROOT, attributes=first, start_ms=10, end_ms=100),
        span(span_id="bbbbbbbbbbbbbbb2", parent=ROOT, attributes=tool, start_ms=110, end_ms=150),
        span(span_id="bbbbbbbbbbbbbbb3", parent=ROOT, attributes=second, start_ms=160, end_ms=290),
    )
    trace, batch = _one(doc)
    assert trace.output == "30 days."
    assert trace.tool_calls == [
        ToolCall(
            name="refund_policy",
            arguments='{"plan":"enterprise"}',
            id="call_1",
            result="30 days via the account manager",
        )
    ]
    assert batch.span_traces == dict.fromkeys(
        (ROOT, LLM, "bbbbbbbbbbbbbbb2", "bbbbbbbbbbbbbbb3"), TRACE
    )


def test_a_result_comes_from_a_later_tool_message_and_an_openinference_tool_span_adds_its_call():
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "refund_policy", "arguments": '{"plan":"enterprise"}'},
    }
    first = {
        "openinference.span.kind": "LLM",
        "llm.output_messages": [{"role": "assistant", "tool_calls": [call]}],
    }
    second = {
        "openinference.span.kind": "LLM",
        "llm.input_messages": [
            {"role": "user", "content": "Refund?"},
            {"role": "assistant", "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": "30 days"},
        ],
        "llm.output_messages": [{"role": "assistant", "content": "30 days."}],
    }
    lookup = {
        "openinference.span.kind": "TOOL",
        "tool.name": "kb_search",
        "input.value": '{"q": "refund"}',
        "output.value": "policy.md",
    }
    doc = request(
        span(span_id=ROOT, name="agent", start_ms=0, end_ms=300),
        span(span_id=LLM, parent=ROOT, attributes=first, start_ms=10, end_ms=100),
        span(span_id="bbbbbbbbbbbbbbb2", parent=ROOT, attributes=lookup, start_ms=110, end_ms=150),
        span(span_id="bbbbbbbbbbbbbbb3", parent=ROOT, attributes=second, start_ms=160, end_ms=290),
    )
    trace, _ = _one(doc)
    assert trace.tool_calls == [
        ToolCall(
            name="refund_policy", arguments='{"plan":"enterprise"}', id="call_1", result="30 days"
        ),
        ToolCall(name="kb_search", arguments='{"q": "refund"}', result="policy.md"),
    ]


def test_calls_in_the_input_history_belong_to_the_trace_that_made_them():
    inputs = [
        {"role": "user", "content": "Refund?"},
        {
            "role": "assistant",
            "tool_calls": [
                {"id": "old", "type": "function", "function": {"name": "x", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "old", "content": "r"},
    ]
    attributes = {
        "openinference.span.kind": "LLM",
        "llm.input_messages": inputs,
        "llm.output_messages": [{"role": "assistant", "content": "done"}],
    }
    trace, _ = _one(request(span(attributes=attributes)))
    assert trace.tool_calls == []


def test_jsonl_import_reads_both_spellings_and_names_a_bad_call(tmp_path):
    lines = [
        {
            "trace_id": "0" * 31 + "1",
            "timestamp": "2026-01-01T00:00:00Z",
            "input": "Refund?",
            "tool_calls": [
                {"id": "call_1", "name": "refund_policy", "arguments": '{"plan":"enterprise"}'},
                {
                    "id": "call_2",
                    "type": "function",
                    "function": {"name": "kb", "arguments": "{}"},
                    "result": "ok",
                },
            ],
            "tools": [POLICY_TOOL],
            "session_id": "conv-1",
        }
    ]
    good = tmp_path / "good.jsonl"
    good.write_bytes(b"\n".join(orjson.dumps(line) for line in lines))
    (trace,) = read_trace_file(good).traces
    assert trace.tool_calls == [
        REFUND,
        ToolCall(name="kb", arguments="{}", id="call_2", result="ok"),
    ]
    assert trace.tools == [POLICY_TOOL] and trace.session_id == "conv-1"
    bad = tmp_path / "bad.jsonl"
    lines[0]["tool_calls"] = [{"id": "call_1", "arguments": "{}"}]
    bad.write_bytes(orjson.dumps(lines[0]))
    with pytest.raises(CaseFileError, match=r"bad.jsonl:1: tool_calls: .*names no tool"):
        read_trace_file(bad)


def test_a_choice_event_log_record_carries_its_tool_calls():
    from evallock.traces import decode_otlp_logs

    from .otlp_builders import log_record, logs_request

    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "refund_policy", "arguments": '{"plan":"enterprise"}'},
    }
    records = [
        log_record("gen_ai.user.message", at_ms=2, body={"content": "Refund?"}),
        log_record(
            "gen_ai.choice",
            at_ms=9,
            body={
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {"role": "assistant", "tool_calls": [call]},
            },
        ),
    ]
    batch = decode_otlp_logs(to_json(logs_request(*records)), "application/json")
    (trace,) = batch.traces
    assert trace.tool_calls == [REFUND]
    assert trace.output is None
    assert batch.span_traces == {LLM: TRACE}


def test_openinference_failed_call_keeps_its_requested_model_and_a_call_only_answer_no_text():
    failed = {
        "openinference.span.kind": "LLM",
        "llm.invocation_parameters": '{"model": "no-such-model", "temperature": 0}',
        "input.value": "Refund?",
    }
    trace, _ = _one(
        request(span(attributes=failed, status={"code": 2, "message": "404 model not found"}))
    )
    assert (trace.model, trace.error) == ("no-such-model", "404 model not found")
    called = {
        "openinference.span.kind": "LLM",
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "refund_policy",
        "output.value": '{"id": "chatcmpl-1", "choices": []}',
    }
    trace, _ = _one(request(span(attributes=called)))
    assert trace.output is None  # not the raw response JSON of output.value
    assert [call.name for call in trace.tool_calls] == ["refund_policy"]


def test_openlit_cost_is_read_and_its_zero_means_unpriced():
    base = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "m"}
    trace, _ = _one(request(span(attributes={**base, "gen_ai.usage.cost": 0.0125})))
    assert trace.cost == 0.0125
    trace, _ = _one(request(span(attributes={**base, "gen_ai.usage.cost": 0.0})))
    assert trace.cost is None


POLICY_TOOL = {
    "type": "function",
    "name": "refund_policy",
    "description": "The refund policy.",
    "parameters": {"type": "object", "properties": {"plan": {"type": "string"}}},
}


@pytest.mark.parametrize("protobuf", [False, True], ids=["json", "protobuf"])
def test_the_tools_a_request_offered_are_kept_from_genai_and_openinference(protobuf):
    genai = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "m",
        "gen_ai.input.messages": '[{"role": "user", "parts": [{"type": "text", "content": "x"}]}]',
        "gen_ai.tool.definitions": orjson.dumps([POLICY_TOOL]).decode(),
    }
    trace, _ = _one(request(span(attributes=genai)), protobuf)
    assert trace.tools == [POLICY_TOOL]
    openinference = {
        "openinference.span.kind": "LLM",
        "llm.model_name": "m",
        "llm.input_messages.0.message.role": "user",
        "llm.input_messages.0.message.content": "x",
        "llm.tools.0.tool.json_schema": orjson.dumps(POLICY_TOOL).decode(),
        "llm.tools.1.tool.json_schema": "not json",
    }
    trace, _ = _one(request(span(attributes=openinference)), protobuf)
    assert trace.tools == [POLICY_TOOL]
    too_deep = {**genai, "gen_ai.tool.definitions": "[" * 40 + "]" * 40}
    from evallock.limits import FieldLimitError

    with pytest.raises(FieldLimitError, match=r"attributes\.gen_ai\.tool\.definitions: nested"):
        decode_otlp_traces(to_json(request(span(attributes=too_deep))), "application/json")
