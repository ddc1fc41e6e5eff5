"""The OTLP wire: ids in every spelling, enums and int64 forms, AnyValue kinds, bad bodies."""

from __future__ import annotations

import base64

import orjson
import pytest

from evallock.traces import OtlpContentTypeError, OtlpDecodeError, decode_otlp_traces

from .otlp_builders import LLM, T0_NS, TRACE, request, span, to_json, to_protobuf, with_base64_ids

JSON = "application/json"
PROTOBUF = "application/x-protobuf"


def _decode(doc):
    return decode_otlp_traces(to_json(doc), JSON)


def test_hex_ids_in_any_case_and_base64_ids_give_the_same_trace():
    doc = request(span(parent="00f067aa0ba902b7"))
    upper = request(span(trace_id=TRACE.upper(), span_id=LLM.upper(), parent="00F067AA0BA902B7"))
    naive = with_base64_ids(doc)
    assert (
        naive["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"]
        == "idYLx6zvEUHZc5KxgTTYSw=="
    )

    traces = [_decode(d).traces for d in (doc, upper, naive)]
    assert traces[0] == traces[1] == traces[2]
    assert traces[0][0].trace_id == TRACE


@pytest.mark.parametrize(
    ("trace_id", "reason"),
    [
        ("0" * 32, "traceId is all zero"),
        ("abc123", "traceId is not 32 hex characters"),
        (TRACE + "00", "traceId is not 32 hex characters"),
        ("zz" * 16, "traceId is not 32 hex characters"),
        ("", "traceId is missing"),
    ],
)
def test_a_bad_trace_id_rejects_that_span_only(trace_id, reason):
    good = span(span_id="1111111111111111")
    bad = span(trace_id=trace_id, span_id="2222222222222222")
    batch = _decode(request(good, bad))

    assert (batch.spans, batch.rejected_spans) == (2, 1)
    assert [t.trace_id for t in batch.traces] == [TRACE]
    assert batch.rejection_message.startswith(
        "1 span rejected: resourceSpans[0].scopeSpans[0].spans[1]."
    )
    assert reason in batch.rejection_message


def test_bad_span_ids_are_rejected_and_counted():
    spans = [
        span(span_id="0" * 16),
        span(span_id="abc"),
        span(span_id="3" * 16, parent="xyz"),
        span(span_id="4" * 16),
    ]
    batch = _decode(request(*spans))
    assert (batch.spans, batch.rejected_spans, len(batch.traces)) == (4, 3, 1)
    assert batch.rejection_message == (
        "3 spans rejected: resourceSpans[0].scopeSpans[0].spans[0].spanId is all zero (an invalid span id); "
        "resourceSpans[0].scopeSpans[0].spans[1].spanId is not 16 hex characters; "
        "resourceSpans[0].scopeSpans[0].spans[2].parentSpanId is not 16 hex characters"
    )


def test_protobuf_ids_of_the_wrong_length_are_rejected():
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    message = ExportTraceServiceRequest()
    message.ParseFromString(to_protobuf(request(span(), span(span_id="5" * 16))))
    message.resource_spans[0].scope_spans[0].spans[1].trace_id = b"\x01" * 12
    batch = decode_otlp_traces(message.SerializeToString(), PROTOBUF)
    assert (batch.spans, batch.rejected_spans) == (2, 1)
    assert "spans[1].traceId is 12 bytes, expected 16" in batch.rejection_message


def test_enum_names_int64_numbers_and_snake_case_fields_are_accepted():
    node = {
        "trace_id": TRACE,
        "span_id": LLM,
        "name": "chat",
        "kind": "SPAN_KIND_CLIENT",
        "start_time_unix_nano": T0_NS,
        "end_time_unix_nano": str(T0_NS + 5_000_000),
        "attributes": [
            {"key": "gen_ai.operation.name", "value": {"string_value": "chat"}},
            {"key": "gen_ai.usage.input_tokens", "value": {"intValue": 12}},
            {"key": "gen_ai.usage.output_tokens", "value": {"int_value": "7"}},
        ],
        "status": {"code": "STATUS_CODE_ERROR", "message": "boom"},
        "someFutureField": {"ignored": True},
    }
    batch = decode_otlp_traces(
        orjson.dumps({"resource_spans": [{"scope_spans": [{"spans": [node]}]}]}), JSON
    )
    [trace] = batch.traces
    assert (trace.tokens_in, trace.tokens_out, trace.latency_ms, trace.error) == (
        12,
        7,
        5.0,
        "boom",
    )


def test_every_any_value_kind_reaches_the_keys_in_both_encodings():
    attributes = {
        "evallock.text": "plain",
        "evallock.flag": True,
        "evallock.count": 42,
        "evallock.ratio": 0.5,
        "evallock.list": ["a", 1, False],
        "evallock.nested": {"k": [1.5, {"deep": "x"}]},
        "evallock.raw": b"\x00\xffbytes",
        "evallock.empty": "",
    }
    doc = request(span(attributes=attributes))
    expected = {
        "text": "plain",
        "flag": "true",
        "count": "42",
        "ratio": "0.5",
        "list": '["a",1,false]',
        "nested": '{"k":[1.5,{"deep":"x"}]}',
        "raw": base64.b64encode(b"\x00\xffbytes").decode(),
    }
    assert _decode(doc).traces[0].keys == expected
    assert decode_otlp_traces(to_protobuf(doc), PROTOBUF).traces[0].keys == expected


def test_special_doubles_as_strings():
    doc = request(span(attributes={"gen_ai.operation.name": "chat"}))
    doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"].append(
        {"key": "gen_ai.request.temperature", "value": {"doubleValue": "NaN"}}
    )
    assert _decode(doc).rejected_spans == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "body is not JSON"),
        (b"[1, 2]", "body is not a JSON object"),
        (b'{"resourceSpans": {}}', "resourceSpans is not a list"),
        (b'{"resourceSpans": [7]}', "resourceSpans[0] is not an object"),
        (
            b'{"resourceSpans": [{"scopeSpans": [{"spans": "x"}]}]}',
            "resourceSpans[0].scopeSpans[0].spans is not a list",
        ),
        (
            b'{"resourceSpans": [{"resource": {"attributes": [{"key": "a", "value": {"intValue": "x"}}]}}]}',
            "resourceSpans[0].resource.attributes[0].value.intValue is not an integer",
        ),
    ],
)
def test_bodies_that_cannot_be_used_raise_naming_the_field(body, message):
    with pytest.raises(OtlpDecodeError) as caught:
        decode_otlp_traces(body, JSON)
    assert message in str(caught.value)


def test_a_wrong_type_deep_inside_a_span_is_named_by_its_path():
    doc = request(span(span_id="1" * 16), span(attributes={"x": "y"}))
    attribute = doc["resourceSpans"][0]["scopeSpans"][0]["spans"][1]["attributes"][0]
    attribute["value"] = {"arrayValue": {"values": [{"stringValue": "ok"}, {"boolValue": "yes"}]}}
    with pytest.raises(
        OtlpDecodeError,
        match=r"^resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[1\]\.attributes\[0\]\.value\.arrayValue\.values\[1\]\.boolValue is not true or false$",
    ):
        _decode(doc)

    doc = request(span(events=[{"name": "e", "timeUnixNano": "soon"}]))
    with pytest.raises(
        OtlpDecodeError, match=r"spans\[0\]\.events\[0\]\.timeUnixNano is not an integer"
    ):
        _decode(doc)

    doc = request(span())
    doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"] = [{"value": {}}]
    with pytest.raises(
        OtlpDecodeError, match=r"spans\[0\]\.attributes\[0\] is not a \{key, value\} object"
    ):
        _decode(doc)


def test_protobuf_that_does_not_parse_raises():
    with pytest.raises(OtlpDecodeError, match="not a protobuf ExportTraceServiceRequest"):
        decode_otlp_traces(b"\xff\xff\xff\xff", PROTOBUF)


def test_empty_requests_are_fine():
    assert decode_otlp_traces(b"", PROTOBUF).spans == 0
    batch = decode_otlp_traces(b"{}", JSON)
    assert (batch.traces, batch.spans, batch.rejected_spans, batch.feedback) == ([], 0, 0, [])


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", ""])
def test_other_content_types_are_refused(content_type):
    with pytest.raises(OtlpContentTypeError, match="unsupported content type"):
        decode_otlp_traces(b"{}", content_type)


def test_content_type_parameters_and_case_are_ignored():
    body = to_json(request(span()))
    assert len(decode_otlp_traces(body, "Application/JSON; charset=utf-8").traces) == 1


def test_a_span_without_a_start_time_is_rejected():
    node = span()
    del node["startTimeUnixNano"]
    batch = _decode(request(node))
    assert batch.rejected_spans == 1
    assert "startTimeUnixNano is missing" in batch.rejection_message


def test_hostile_text_passes_through_unchanged():
    hostile = "<script>alert(1)</script> '; DROP TABLE traces; -- \u202e返金 🧾"
    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.input.messages": orjson.dumps(
            [{"role": "user", "parts": [{"type": "text", "content": hostile}]}]
        ).decode(),
        "evallock.intent": hostile,
    }
    for batch in (
        _decode(request(span(attributes=attributes))),
        decode_otlp_traces(to_protobuf(request(span(attributes=attributes))), PROTOBUF),
    ):
        assert batch.traces[0].input == hostile
        assert batch.traces[0].keys["intent"] == hostile


def test_times_beyond_what_a_datetime_holds_are_rejected():
    node = span()
    node["startTimeUnixNano"] = "999999999999999999999"
    batch = _decode(request(node, span(span_id="1" * 16)))
    assert (batch.rejected_spans, len(batch.traces)) == (1, 1)
    assert "startTimeUnixNano is out of range" in batch.rejection_message


def test_values_a_trace_cannot_use_are_dropped_not_stored():
    attributes = {
        "openinference.span.kind": "LLM",
        "llm.cost.total": float("nan"),
        "llm.token_count.prompt": 2**40,
        "llm.token_count.completion": -3,
        "gen_ai.input.messages": [
            {
                "role": "user",
                "parts": [
                    {"type": "blob", "modality": "image", "content": b"\x89PNG"},
                    {"type": "text", "content": "What is this?"},
                ],
            }
        ],
    }
    doc = request(span(attributes=attributes))
    for batch in (_decode(doc), decode_otlp_traces(to_protobuf(doc), PROTOBUF)):
        [trace] = batch.traces
        assert (trace.cost, trace.tokens_in, trace.tokens_out) == (None, None, None)
        assert trace.input == "What is this?"
        assert trace.messages[0]["parts"] == [
            {"type": "blob", "modality": "image", "content": base64.b64encode(b"\x89PNG").decode()}
        ]
