"""OTel GenAI spans to trace summaries: the newest form, the event form, the oldest form."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from evallock.traces import decode_otlp_traces

from .otlp_builders import LLM, ROOT, event, request, span, to_json, to_protobuf

JSON = "application/json"
PROTOBUF = "application/x-protobuf"


def _one(doc, content_type=JSON):
    body = to_json(doc) if content_type == JSON else to_protobuf(doc)
    batch = decode_otlp_traces(body, content_type)
    assert batch.rejected_spans == 0, batch.rejection_message
    assert len(batch.traces) == 1
    return batch.traces[0]


def test_newest_form_from_the_interop_example(genai_export):
    batch = decode_otlp_traces(orjson.dumps(genai_export), JSON)

    assert (batch.spans, batch.rejected_spans, batch.rejection_message) == (1, 0, "")
    [trace] = batch.traces
    assert trace.trace_id == "89d60bc7acef1141d97392b18134d84b"
    assert trace.timestamp == datetime(2026, 1, 1, tzinfo=UTC)
    assert trace.latency_ms == 1250.0
    assert trace.input == "Can I get a refund after 40 days?"
    assert trace.output == "Refunds are available within 30 days of purchase."
    assert trace.messages == [{"role": "user", "content": "Can I get a refund after 40 days?"}]
    assert trace.model == "gpt-4.1-mini-2025-04-14"  # the response model wins over the request's
    assert (trace.tokens_in, trace.tokens_out, trace.cost) == (412, 96, None)
    assert trace.error is None
    assert trace.source == "otlp"
    assert trace.keys == {
        "service_version": "2.8.1",
        "deployment_environment": "production",
        "prompt_name": "refund-policy",  # gen_ai.prompt.name
        "prompt_version": "v14",
        "session_id": "conv-7781",
        "retriever_version": "bm25-2026-02",
        "intent": "refund_request",
        "customer_tier": "gold",
        "tags": '["billing","eu"]',
        "flags": '{"beta":true}',
    }


def test_no_model_version_is_invented_from_the_model_name(genai_export):
    [trace] = decode_otlp_traces(orjson.dumps(genai_export), JSON).traces
    assert "model_version" not in trace.keys
    assert "experiment" not in trace.keys


def test_protobuf_and_json_of_the_same_export_give_the_same_trace(genai_export):
    from_json = decode_otlp_traces(to_json(genai_export), JSON)
    from_protobuf = decode_otlp_traces(to_protobuf(genai_export), PROTOBUF)
    assert from_json == from_protobuf


def test_structured_messages_system_instructions_and_tool_calls():
    inputs = [
        {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]},
        {
            "role": "assistant",
            "parts": [
                {"type": "tool_call", "id": "c1", "name": "weather", "arguments": {"city": "Paris"}}
            ],
        },
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": "c1", "response": "rain"}]},
    ]
    outputs = [{"role": "assistant", "parts": [{"type": "text", "content": "It rains."}]}]
    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "m-1",
        "gen_ai.system_instructions": '[{"type": "text", "content": "Be brief."}]',
        "gen_ai.input.messages": inputs,  # structured (kvlist/array), not a JSON string
        "gen_ai.output.messages": outputs,
        "gen_ai.response.time_to_first_chunk": 0.25,
    }
    trace = _one(request(span(attributes=attributes)), PROTOBUF)

    assert trace.input == "Weather in Paris?"
    assert trace.output == "It rains."
    assert trace.ttft_ms == 250.0
    assert trace.model == "m-1"
    assert trace.messages[0] == {"role": "system", "content": "Be brief."}
    assert trace.messages[2]["tool_calls"] == [
        {
            "type": "function",
            "function": {"name": "weather", "arguments": '{"city":"Paris"}'},
            "id": "c1",
        }
    ]
    assert trace.messages[3] == {"role": "tool", "tool_call_id": "c1", "content": "rain"}


def test_openlit_shape_system_message_once_and_its_ttft_attribute():
    """openlit sends the system prompt both as gen_ai.system_instructions and as a system
    message, and its time to first token as gen_ai.server.time_to_first_token."""
    inputs = [
        {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
        {"role": "user", "parts": [{"type": "text", "content": "Refund?"}]},
    ]
    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "m-1",
        "gen_ai.system_instructions": "Be brief.",
        "gen_ai.input.messages": orjson.dumps(inputs).decode(),
        "gen_ai.server.time_to_first_token": 0.125,
    }
    trace = _one(request(span(attributes=attributes)))
    assert [m["role"] for m in trace.messages] == ["system", "user"]
    assert trace.ttft_ms == 125.0


def test_event_form_messages_on_the_span():
    events = [
        event("gen_ai.system.message", 10, content="You are the billing bot."),
        event("gen_ai.user.message", 11, content="Where is my invoice?"),
        event(
            "gen_ai.choice",
            90,
            **{
                "gen_ai.event.content": '{"index": 0, "finish_reason": "stop", "message": {"content": "In Settings."}}'
            },
        ),
    ]
    attributes = {
        "gen_ai.system": "openai",
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.usage.prompt_tokens": 20,
        "gen_ai.usage.completion_tokens": 4,
    }
    trace = _one(request(span(attributes=attributes, events=events)))

    assert trace.input == "Where is my invoice?"
    assert trace.output == "In Settings."
    assert trace.messages == [
        {"role": "system", "content": "You are the billing bot."},
        {"role": "user", "content": "Where is my invoice?"},
    ]
    assert (trace.tokens_in, trace.tokens_out, trace.model) == (20, 4, "gpt-4o")


def test_oldest_form_prompt_and_completion_attributes_and_events():
    as_attributes = {
        "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-3.5-turbo",
        "gen_ai.prompt": '[{"role": "user", "content": "Hi there"}]',
        "gen_ai.completion": '[{"role": "assistant", "content": "Hello!"}]',
    }
    trace = _one(request(span(attributes=as_attributes)))
    assert (trace.input, trace.output) == ("Hi there", "Hello!")

    as_events = [
        event(
            "gen_ai.content.prompt", **{"gen_ai.prompt": '[{"role": "user", "content": "Ping"}]'}
        ),
        event("gen_ai.content.completion", **{"gen_ai.completion": "Pong"}),
    ]
    trace = _one(request(span(attributes={"gen_ai.request.model": "m"}, events=as_events)))
    assert (trace.input, trace.output) == ("Ping", "Pong")


def test_openllmetry_flattened_prompt_attributes():
    attributes = {
        "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.prompt.name": "not-a-message",
        "gen_ai.prompt.0.role": "system",
        "gen_ai.prompt.0.content": "Be kind.",
        "gen_ai.prompt.1.role": "user",
        "gen_ai.prompt.1.content": "Refund please",
        "gen_ai.completion.0.role": "assistant",
        "gen_ai.completion.0.content": "Done.",
    }
    trace = _one(request(span(attributes=attributes)))
    assert trace.input == "Refund please"
    assert trace.output == "Done."
    assert [m["role"] for m in trace.messages] == ["system", "user"]


def test_a_trace_of_several_spans_takes_time_from_the_root_and_content_from_the_model_call():
    root = span(
        span_id=ROOT,
        name="POST /ask",
        start_ms=0,
        end_ms=2000,
        attributes={"evallock.intent": "billing"},
    )
    retrieval = span(
        span_id="bbbbbbbbbbbbbbb2", parent=ROOT, name="retrieve", start_ms=10, end_ms=40
    )
    first_call = span(
        span_id="bbbbbbbbbbbbbbb3",
        parent=ROOT,
        start_ms=50,
        end_ms=500,
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "planner",
            "gen_ai.output.messages": '[{"role":"assistant","parts":[{"type":"text","content":"thinking"}]}]',
        },
    )
    final_call = span(
        span_id=LLM,
        parent=ROOT,
        start_ms=600,
        end_ms=1900,
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "answerer",
            "gen_ai.input.messages": '[{"role":"user","parts":[{"type":"text","content":"Q?"}]}]',
            "gen_ai.output.messages": '[{"role":"assistant","parts":[{"type":"text","content":"A."}]}]',
            "evallock.prompt_version": "billing-v2",
        },
    )
    trace = _one(request(final_call, retrieval, first_call, root, resource={"service.name": "bot"}))

    assert trace.timestamp == datetime(2026, 1, 1, tzinfo=UTC)
    assert trace.latency_ms == 2000.0
    assert (trace.input, trace.output, trace.model) == ("Q?", "A.", "answerer")
    assert trace.keys == {"intent": "billing", "prompt_version": "billing-v2"}


def test_without_a_model_call_the_root_span_fills_what_it_can():
    root = span(
        span_id=ROOT,
        start_ms=0,
        end_ms=300,
        attributes={"input.value": "hello", "output.value": "hi", "http.route": "/chat"},
    )
    trace = _one(request(root))
    assert (trace.input, trace.output, trace.model, trace.tokens_in) == ("hello", "hi", None, None)
    assert trace.latency_ms == 300.0


@pytest.mark.parametrize(
    ("status", "events", "expected"),
    [
        ({"code": 2, "message": "upstream 503"}, [], "upstream 503"),
        (
            {"code": 2},
            [
                event(
                    "exception",
                    **{"exception.type": "TimeoutError", "exception.message": "read timed out"},
                )
            ],
            "TimeoutError: read timed out",
        ),
        ({"code": "STATUS_CODE_ERROR"}, [], "error"),
        ({"code": 1}, [event("exception", **{"exception.type": "Handled"})], None),
        ({"code": 0}, [event("exception", **{"exception.type": "KeyError"})], "KeyError"),
    ],
)
def test_errors_from_status_and_exception_events(status, events, expected):
    trace = _one(
        request(span(attributes={"gen_ai.operation.name": "chat"}, status=status, events=events))
    )
    assert trace.error == expected


def test_error_type_attribute_names_an_error_without_a_message():
    attributes = {"gen_ai.operation.name": "chat", "error.type": "rate_limit_exceeded"}
    trace = _one(request(span(attributes=attributes, status={"code": 2})))
    assert trace.error == "rate_limit_exceeded"
