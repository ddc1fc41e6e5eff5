"""GenAI events as OTLP log records: evaluation results to feedback, message events to traces."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from evallock.traces import OtlpDecodeError, decode_otlp_logs

from .otlp_builders import TRACE, log_record, logs_request, to_json, to_protobuf

JSON = "application/json"
PROTOBUF = "application/x-protobuf"


def test_evaluation_result_from_the_interop_example(evaluation_export):
    batch = decode_otlp_logs(orjson.dumps(evaluation_export), JSON)

    assert (batch.spans, batch.rejected_spans, batch.traces) == (1, 0, [])
    [rating] = batch.feedback
    assert rating.trace_id == TRACE
    assert (rating.rating, rating.score) == ("0.25", 0.25)
    assert rating.comment == "Answer implies a 40-day window; policy allows 30."
    assert (rating.name, rating.author, rating.source) == (
        "policy_groundedness",
        "judge-2026-03",
        "otel",
    )
    assert rating.feedback_id.startswith("fb-")


def test_evaluation_result_is_the_same_from_protobuf_and_stable_across_retries(evaluation_export):
    from_json = decode_otlp_logs(orjson.dumps(evaluation_export), JSON)
    from_protobuf = decode_otlp_logs(to_protobuf(evaluation_export), PROTOBUF)
    assert from_json == from_protobuf
    assert decode_otlp_logs(orjson.dumps(evaluation_export), JSON).feedback == from_json.feedback


def test_label_only_evaluation_and_unusable_ones():
    records = [
        log_record(
            "gen_ai.evaluation.result",
            attributes={
                "gen_ai.evaluation.name": "toxicity",
                "gen_ai.evaluation.score.label": "pass",
            },
        ),
        log_record("gen_ai.evaluation.result", attributes={"gen_ai.evaluation.score.value": 1.0}),
        log_record(
            "gen_ai.evaluation.result",
            trace_id=None,
            attributes={"gen_ai.evaluation.name": "x", "gen_ai.evaluation.score.value": 1.0},
        ),
        log_record(
            "gen_ai.evaluation.result",
            attributes={
                "gen_ai.evaluation.name": "x",
                "gen_ai.evaluation.explanation": "only words",
            },
        ),
        log_record("", attributes={"log.message": "an ordinary application log"}),
    ]
    batch = decode_otlp_logs(to_json(logs_request(*records)), JSON)

    assert (batch.spans, batch.rejected_spans) == (5, 3)
    [rating] = batch.feedback
    assert (rating.name, rating.rating, rating.score) == ("toxicity", "pass", None)
    assert batch.rejection_message.startswith("3 log records rejected: ")
    assert "logRecords[1]: gen_ai.evaluation.name is missing" in batch.rejection_message
    assert "logRecords[2].traceId is missing" in batch.rejection_message
    assert "logRecords[3]: gen_ai.evaluation.score: missing" in batch.rejection_message


def test_message_events_as_log_records_give_input_and_output():
    records = [
        log_record(
            "gen_ai.system.message",
            at_ms=1,
            body={"content": "You help with billing."},
            attributes={"gen_ai.system": "openai"},
        ),
        log_record("gen_ai.user.message", at_ms=2, body={"content": "Where is my refund?"}),
        log_record(
            "gen_ai.choice",
            at_ms=900,
            body={
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": "On its way."},
            },
        ),
        log_record(
            "gen_ai.user.message",
            trace_id="4bf92f3577b34da6a3ce929d0e0e4736",
            at_ms=5,
            body={"content": "Other trace"},
        ),
    ]
    doc = logs_request(*records, resource={"evallock.intent": "refund", "service.version": "1.0"})
    batch = decode_otlp_logs(to_json(doc), JSON)

    first, second = batch.traces
    assert first.trace_id == TRACE
    assert first.timestamp == datetime(2026, 1, 1, tzinfo=UTC) + timedelta(milliseconds=1)
    assert (first.input, first.output) == ("Where is my refund?", "On its way.")
    assert first.messages == [
        {"role": "system", "content": "You help with billing."},
        {"role": "user", "content": "Where is my refund?"},
    ]
    assert first.keys == {"intent": "refund", "service_version": "1.0"}
    assert first.latency_ms is None  # a log record has no duration
    assert second.input == "Other trace"
    assert decode_otlp_logs(to_protobuf(doc), PROTOBUF) == batch


def test_inference_details_event_reads_like_a_span():
    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.response.model": "m-2",
        "gen_ai.input.messages": [{"role": "user", "parts": [{"type": "text", "content": "Hi"}]}],
        "gen_ai.output.messages": [
            {"role": "assistant", "parts": [{"type": "text", "content": "Hello"}]}
        ],
        "gen_ai.usage.input_tokens": 3,
    }
    doc = logs_request(
        log_record("gen_ai.client.inference.operation.details", attributes=attributes)
    )
    [trace] = decode_otlp_logs(to_protobuf(doc), PROTOBUF).traces
    assert (trace.input, trace.output, trace.model, trace.tokens_in) == ("Hi", "Hello", "m-2", 3)


def test_deprecated_event_name_attribute_is_read():
    record = log_record(
        "", body={"content": "legacy"}, attributes={"event.name": "gen_ai.user.message"}
    )
    [trace] = decode_otlp_logs(to_json(logs_request(record)), JSON).traces
    assert trace.input == "legacy"


def test_bad_log_bodies_raise():
    with pytest.raises(OtlpDecodeError, match="body is not JSON"):
        decode_otlp_logs(b"{", JSON)
    with pytest.raises(OtlpDecodeError, match=r"resourceLogs\[0\]\.scopeLogs is not a list"):
        decode_otlp_logs(b'{"resourceLogs": [{"scopeLogs": 3}]}', JSON)
    with pytest.raises(OtlpDecodeError, match="not a protobuf ExportLogsServiceRequest"):
        decode_otlp_logs(b"\x0a\xff", PROTOBUF)


def test_a_bad_trace_id_on_a_log_record_rejects_it():
    record = log_record("gen_ai.user.message", trace_id="nothex", body={"content": "x"})
    batch = decode_otlp_logs(to_json(logs_request(record)), JSON)
    assert (batch.rejected_spans, batch.traces) == (1, [])
    assert "logRecords[0].traceId is not 32 hex characters" in batch.rejection_message
