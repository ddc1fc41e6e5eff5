"""Spans of one trace arriving in separate requests end as one merged summary in the store."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from evallock.traces import decode_otlp_logs, decode_otlp_traces, parse_feedback

from .otlp_builders import (
    LLM,
    ROOT,
    TRACE,
    log_record,
    logs_request,
    request,
    span,
    to_json,
    to_protobuf,
)

JSON = "application/json"
PROTOBUF = "application/x-protobuf"
HOSTILE = "<script>alert('x')</script> '; DROP TABLE traces; -- 返金 🧾 \u202e"


def test_spans_in_separate_batches_merge_in_the_store(store):
    llm = span(
        parent=ROOT,
        start_ms=100,
        end_ms=900,
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.response.model": "m-1",
            "gen_ai.input.messages": '[{"role":"user","parts":[{"type":"text","content":"Q"}]}]',
            "gen_ai.output.messages": '[{"role":"assistant","parts":[{"type":"text","content":"A"}]}]',
        },
    )
    root = span(span_id=ROOT, start_ms=0, end_ms=1000, attributes={"evallock.intent": "billing"})

    first = decode_otlp_traces(to_protobuf(request(llm)), PROTOBUF)
    second = decode_otlp_traces(to_json(request(root, resource={"service.version": "2"})), JSON)
    assert store.traces.add(first.traces) == 1
    assert store.traces.add(second.traces) == 0

    merged = store.traces.get(TRACE)
    assert (merged.input, merged.output, merged.model) == ("Q", "A", "m-1")
    assert merged.latency_ms == 1000.0
    assert merged.timestamp == datetime(2026, 1, 1, tzinfo=UTC)
    assert merged.keys == {"intent": "billing", "service_version": "2"}


def test_hostile_content_is_stored_byte_for_byte(store):
    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.input.messages": [
            {"role": "user", "parts": [{"type": "text", "content": HOSTILE}]}
        ],
        "gen_ai.output.messages": [
            {"role": "assistant", "parts": [{"type": "text", "content": HOSTILE}]}
        ],
        "evallock.customer_tier": HOSTILE,
        "evallock.note": HOSTILE,
    }
    batch = decode_otlp_traces(to_protobuf(request(span(attributes=attributes))), PROTOBUF)
    store.traces.add(batch.traces)

    stored = store.traces.get(TRACE)
    assert stored == batch.traces[0]
    assert (stored.input, stored.output) == (HOSTILE, HOSTILE)
    assert stored.keys == {"customer_tier": HOSTILE, "note": HOSTILE}
    assert stored.input.encode() == HOSTILE.encode()
    assert store.traces.find(keys={"customer_tier": HOSTILE}) == [stored]


def test_feedback_from_events_and_the_endpoint_is_stored_once(store, evaluation_export):
    events = decode_otlp_logs(orjson.dumps(evaluation_export), JSON)
    assert store.feedback.add(events.feedback) == 1
    assert store.feedback.add(decode_otlp_logs(orjson.dumps(evaluation_export), JSON).feedback) == 0
    payload = {"trace_id": TRACE, "rating": "down", "comment": HOSTILE}
    assert store.feedback.add([parse_feedback(payload)]) == 1
    assert store.feedback.add([parse_feedback(payload)]) == 0  # a retry without an id
    names = {f.name for f in store.feedback.find(trace_id=TRACE)}
    assert names == {"policy_groundedness", "user_feedback"}


def test_message_event_logs_fill_a_trace_whose_span_had_no_content(store):
    bare = span(
        span_id=LLM, attributes={"gen_ai.operation.name": "chat", "gen_ai.request.model": "m"}
    )
    store.traces.add(decode_otlp_traces(to_json(request(bare)), JSON).traces)
    logs = logs_request(
        log_record("gen_ai.user.message", body={"content": "Q?"}),
        log_record("gen_ai.choice", body={"index": 0, "message": {"content": "A!"}}),
    )
    store.traces.add(decode_otlp_logs(to_json(logs), JSON).traces)
    merged = store.traces.get(TRACE)
    assert (merged.input, merged.output, merged.model, merged.latency_ms) == (
        "Q?",
        "A!",
        "m",
        100.0,
    )
