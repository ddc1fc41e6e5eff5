"""Spans made by the real OpenTelemetry Python SDK, encoded by its own OTLP encoder."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from evallock.traces import decode_otlp_traces

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@pytest.fixture
def sdk():
    exporter = InMemorySpanExporter()
    resource = Resource.create(
        {
            "service.name": "support-bot",
            "service.version": "4.2.0",
            "deployment.environment.name": "staging",
            "evallock.prompt_version": "support-v4",
        }
    )
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider.get_tracer("support-bot.llm"), exporter
    provider.shutdown()


def _answer(tracer, question: str, fail: bool = False) -> None:
    with tracer.start_as_current_span("POST /v1/ask") as root:
        root.set_attribute("evallock.customer_tier", "enterprise")
        with tracer.start_as_current_span("chat support-model") as call:
            call.set_attribute("gen_ai.operation.name", "chat")
            call.set_attribute("gen_ai.request.model", "support-model")
            call.set_attribute("gen_ai.usage.input_tokens", 31)
            call.set_attribute("gen_ai.usage.output_tokens", 12)
            call.set_attribute(
                "gen_ai.input.messages",
                json.dumps([{"role": "user", "parts": [{"type": "text", "content": question}]}]),
            )
            if fail:
                call.record_exception(TimeoutError("upstream timed out"))
                call.set_status(Status(StatusCode.ERROR, "upstream timed out"))
                root.set_status(Status(StatusCode.ERROR, "TimeoutError: upstream timed out"))
                return
            call.set_attribute(
                "gen_ai.output.messages",
                json.dumps(
                    [{"role": "assistant", "parts": [{"type": "text", "content": "2 days."}]}]
                ),
            )


def test_sdk_spans_through_the_sdk_encoder_decode_to_summaries(sdk):
    tracer, exporter = sdk
    _answer(tracer, "When will order #R1041 ship?")
    _answer(tracer, "Cancel it", fail=True)
    finished = exporter.get_finished_spans()
    body = encode_spans(finished).SerializeToString()

    batch = decode_otlp_traces(body, "application/x-protobuf")

    assert (batch.spans, batch.rejected_spans) == (4, 0)
    ok, failed = batch.traces
    root = next(s for s in finished if s.parent is None)
    assert ok.trace_id == format(root.context.trace_id, "032x")
    assert ok.latency_ms == pytest.approx((root.end_time - root.start_time) / 1e6, abs=0.001)
    assert ok.timestamp == EPOCH + timedelta(microseconds=root.start_time // 1000)
    assert (ok.input, ok.output, ok.model) == (
        "When will order #R1041 ship?",
        "2 days.",
        "support-model",
    )
    assert (ok.tokens_in, ok.tokens_out, ok.error) == (31, 12, None)
    assert ok.keys == {
        "service_version": "4.2.0",
        "deployment_environment": "staging",
        "prompt_version": "support-v4",
        "customer_tier": "enterprise",
    }
    assert failed.input == "Cancel it"
    assert failed.output is None
    assert failed.error == "TimeoutError: upstream timed out"


def test_sdk_export_split_over_two_requests_is_two_partial_summaries_of_one_trace(sdk):
    tracer, exporter = sdk
    _answer(tracer, "Where is my invoice?")
    child, root = exporter.get_finished_spans()  # the model call ends, and is exported, first

    first = decode_otlp_traces(encode_spans([child]).SerializeToString(), "application/x-protobuf")
    second = decode_otlp_traces(encode_spans([root]).SerializeToString(), "application/x-protobuf")

    [part_one], [part_two] = first.traces, second.traces
    assert part_one.trace_id == part_two.trace_id
    assert part_one.input == "Where is my invoice?"
    assert part_two.input is None
    assert part_two.latency_ms > part_one.latency_ms
    assert part_two.timestamp < part_one.timestamp
