"""Hostile inputs: every decoder answers with a batch, a 400 or a 422, never a traceback.

Each test here is one case of the hardening issue that used to escape as
OverflowError, TypeError, ValueError or RecursionError (HTTP 500, exit 1).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import orjson
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from evallock.errors import CaseFileError
from evallock.limits import MAX_DEPTH, FieldLimitError
from evallock.times import parse_duration, parse_time
from evallock.traces import (
    FeedbackError,
    OtlpDecodeError,
    decode_otlp_logs,
    decode_otlp_traces,
    parse_feedback_items,
    read_trace_file,
    trace_from_chat,
)

from .otlp_builders import (
    LLM,
    TRACE,
    event,
    log_record,
    logs_request,
    request,
    span,
    to_json,
    to_protobuf,
)

JSON = "application/json"
PROTOBUF = "application/x-protobuf"
SPANS = "resourceSpans[0].scopeSpans[0].spans"
RECORDS = "resourceLogs[0].scopeLogs[0].logRecords"
SPANS_RE = re.escape(SPANS)
RECORDS_RE = re.escape(RECORDS)
HUGE = "1" + "0" * 400  # 10**400 as proto3 JSON writes an int64: a decimal string


def _nested(depth: int) -> object:
    value: object = "x"
    for _ in range(depth):
        value = [value]
    return value


def _nested_json(depth: int) -> str:
    """JSON text of a value nested ``depth`` lists deep (orjson writes at most 254)."""
    return "[" * depth + '"x"' + "]" * depth


def _evaluation(**extra: object) -> dict[str, object]:
    return {"gen_ai.evaluation.name": "relevance", **extra}


# -- times ---------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["endTimeUnixNano", "startTimeUnixNano"])
@pytest.mark.parametrize("digits", [3000, 5000])
def test_a_span_time_thousands_of_digits_long_rejects_the_span(field, digits):
    node = span()
    node[field] = "9" * digits
    batch = decode_otlp_traces(to_json(request(node, span(span_id="1" * 16))), JSON)
    assert (batch.rejected_spans, len(batch.traces)) == (1, 1)
    assert f"{SPANS}[0].{field} is out of range" in batch.rejection_message


def test_an_event_time_above_2_64_rejects_the_span_it_rides_on():
    node = span(events=[event("gen_ai.evaluation.result", **_evaluation(**{"x": 1}))])
    node["events"][0]["timeUnixNano"] = str(2**64 + 1)
    node["events"][0]["attributes"].append(
        {"key": "gen_ai.evaluation.score.value", "value": {"doubleValue": 0.5}}
    )
    batch = decode_otlp_traces(to_json(request(node)), JSON)
    assert (batch.rejected_spans, batch.traces, batch.feedback) == (1, [], [])
    assert f"{SPANS}[0].events[0].timeUnixNano is out of range" in batch.rejection_message


def test_json_times_past_what_a_fixed64_carries_reject_the_span():
    for field, value in (("endTimeUnixNano", 2**64), ("startTimeUnixNano", 10**21)):
        node = span()
        node[field] = str(value)
        batch = decode_otlp_traces(to_json(request(node)), JSON)
        assert f"{SPANS}[0].{field} is out of range" in batch.rejection_message


def test_the_last_protobuf_fixed64_times_are_read_as_the_year_2554():
    # A fixed64 ends in 2554, long before a datetime does (9999): every protobuf time is usable.
    evaluation = event(
        "gen_ai.evaluation.result", **_evaluation(**{"gen_ai.evaluation.score.value": 1})
    )
    doc = request(span(events=[evaluation]))
    message = ExportTraceServiceRequest.FromString(to_protobuf(doc))
    only = message.resource_spans[0].scope_spans[0].spans[0]
    only.start_time_unix_nano = only.end_time_unix_nano = 2**64 - 1
    only.events[0].time_unix_nano = 2**64 - 1
    batch = decode_otlp_traces(message.SerializeToString(), PROTOBUF)
    assert batch.rejected_spans == 0
    assert batch.traces[0].timestamp == datetime(2554, 7, 21, 23, 34, 33, 709551, tzinfo=UTC)
    assert batch.feedback[0].score == 1.0


def test_a_log_record_time_thousands_of_digits_long_is_rejected():
    attributes = _evaluation(**{"gen_ai.evaluation.score.value": 1})
    record = log_record("gen_ai.evaluation.result", attributes=attributes)
    record["timeUnixNano"] = "9" * 5000
    batch = decode_otlp_logs(to_json(logs_request(record)), JSON)
    assert (batch.rejected_spans, batch.feedback) == (1, [])
    assert f"{RECORDS}[0].timeUnixNano is out of range" in batch.rejection_message


def test_the_last_protobuf_fixed64_log_time_is_usable():
    attributes = _evaluation(**{"gen_ai.evaluation.score.value": 1})
    records = [
        log_record("gen_ai.evaluation.result", attributes=attributes),
        log_record("gen_ai.user.message", body={"content": "q"}),
    ]
    message = ExportLogsServiceRequest.FromString(to_protobuf(logs_request(*records)))
    for record in message.resource_logs[0].scope_logs[0].log_records:
        record.time_unix_nano = 2**64 - 1
    batch = decode_otlp_logs(message.SerializeToString(), PROTOBUF)
    assert (batch.rejected_spans, len(batch.feedback)) == (0, 1)
    assert batch.traces[0].timestamp.year == 2554


@pytest.mark.parametrize(
    "text", ["99999999999d", "9" * 5000 + "s", "0001-01-01T00:00:00+01:00", "3000000w"]
)
def test_times_no_datetime_holds_are_a_value_error(text):
    now = datetime(2026, 10, 4, tzinfo=UTC)
    with pytest.raises(ValueError, match=r"duration longer than any time|years 1 to 9999"):
        parse_time(text, now=now)
    assert parse_duration("99999999999d") is None


# -- numbers -------------------------------------------------------------------------


def test_an_evaluation_score_of_10_400_on_a_span_event_is_a_400():
    attributes = _evaluation(**{"gen_ai.evaluation.score.value": 0})
    node = span(events=[event("gen_ai.evaluation.result", **attributes)])
    node["events"][0]["attributes"][1]["value"] = {"intValue": HUGE}
    with pytest.raises(OtlpDecodeError) as caught:
        decode_otlp_traces(to_json(request(node)), JSON)
    path = f"{SPANS}[0].events[0].attributes[1].value.intValue"
    assert str(caught.value).startswith(f"{path} is not a 64-bit integer")


def test_an_annotation_score_of_10_400_in_span_attributes_is_a_400():
    attributes = {"annotations.0.annotation.name": "quality", "annotations.0.annotation.score": 1}
    node = span(attributes=attributes)
    node["attributes"][1]["value"] = {"intValue": HUGE}
    with pytest.raises(OtlpDecodeError, match=r"attributes\[1\]\.value\.intValue is not a 64"):
        decode_otlp_traces(to_json(request(node)), JSON)


def test_an_evaluation_score_of_10_400_in_a_log_record_is_a_400():
    record = log_record(
        "gen_ai.evaluation.result", attributes=_evaluation(**{"gen_ai.evaluation.score.value": 0})
    )
    record["attributes"][1]["value"] = {"intValue": HUGE}
    with pytest.raises(OtlpDecodeError, match=rf"^{RECORDS_RE}\[0\]\.attributes\[1\]"):
        decode_otlp_logs(to_json(logs_request(record)), JSON)
    with pytest.raises(OtlpDecodeError, match="body is not JSON"):
        decode_otlp_logs(
            to_json(logs_request(record)).replace(f'"{HUGE}"'.encode(), b"1e400"), JSON
        )


def test_an_infinite_evaluation_score_is_rejected_not_stored():
    record = log_record(
        "gen_ai.evaluation.result", attributes=_evaluation(**{"gen_ai.evaluation.score.value": 0.5})
    )
    record["attributes"][1]["value"] = {"doubleValue": "1e400"}
    batch = decode_otlp_logs(to_json(logs_request(record)), JSON)
    assert (batch.rejected_spans, batch.feedback) == (1, [])
    assert "expected a finite number" in batch.rejection_message


def test_attribute_values_that_broke_the_mapping_are_read_or_ignored():
    attributes = {
        "gen_ai.operation.name": ["chat"],  # unhashable: was a TypeError
        "gen_ai.prompt.².content": "superscript index",  # isdigit() but not int(): ValueError
        "llm.input_messages.٣.message.content": "arabic-indic index",
        "gen_ai.usage.input_tokens": "9" * 5000,  # int() of 5,000 digits: ValueError
        "gen_ai.request.model": "m-1",
    }
    for doc in (request(span(attributes=attributes)),):
        [trace] = decode_otlp_traces(to_json(doc), JSON).traces
        assert (trace.tokens_in, trace.input) == (None, None)
    [trace] = decode_otlp_traces(to_protobuf(request(span(attributes=attributes))), PROTOBUF).traces
    assert trace.tokens_in is None


def test_bytes_inside_tool_call_arguments_are_written_as_base64():
    messages = [
        {"role": "assistant", "parts": [{"type": "tool_call", "name": "f", "arguments": b"\x00"}]}
    ]
    attributes = {"gen_ai.operation.name": "chat", "gen_ai.input.messages": messages}
    for batch in (
        decode_otlp_traces(to_json(request(span(attributes=attributes))), JSON),
        decode_otlp_traces(to_protobuf(request(span(attributes=attributes))), PROTOBUF),
    ):
        [trace] = batch.traces
        assert trace.messages[0]["tool_calls"][0]["function"]["arguments"] == '"AA=="'


def test_a_bytes_value_outside_ascii_is_a_400():
    node = span()
    node["attributes"] = [{"key": "b", "value": {"bytesValue": "é"}}]
    with pytest.raises(OtlpDecodeError, match=r"attributes\[0\]\.value\.bytesValue is not base64"):
        decode_otlp_traces(to_json(request(node)), JSON)


# -- nesting -------------------------------------------------------------------------


def test_any_value_nested_past_the_limit_is_a_422_naming_the_attribute():
    attributes = {"evallock.deep": _nested(MAX_DEPTH + 5)}
    doc = request(span(attributes=attributes))
    for body, content_type in ((to_json(doc), JSON), (to_protobuf(doc), PROTOBUF)):
        with pytest.raises(FieldLimitError) as caught:
            decode_otlp_traces(body, content_type)
        assert caught.value.field == f"{SPANS}[0].attributes[0].value"
        assert str(caught.value).endswith(f"nested more than {MAX_DEPTH} levels deep")


def test_any_value_nested_as_deep_as_json_allows_is_a_422_not_a_recursion_error():
    # 330 arrays are 990 JSON levels: orjson reads up to 1,024 (and writes only 254).
    deep = '{"arrayValue": {"values": [' * 330 + '{"stringValue": "x"}' + "]}}" * 330
    node = span(attributes={"deep": "MARK"})
    body = to_json(request(node)).replace(b'{"stringValue":"MARK"}', deep.encode())
    with pytest.raises(FieldLimitError, match=rf"^{SPANS_RE}\[0\]\.attributes\[0\]\.value: "):
        decode_otlp_traces(body, JSON)
    record = log_record("gen_ai.user.message", body="MARK")
    body = to_json(logs_request(record)).replace(b'{"stringValue":"MARK"}', deep.encode())
    with pytest.raises(FieldLimitError, match=rf"^{RECORDS_RE}\[0\]\.body: nested"):
        decode_otlp_logs(body, JSON)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("gen_ai.input.messages", f'[{{"role": "user", "content": {_nested_json(900)}}}]'),
        ("metadata", f'{{"intent": {_nested_json(300)}}}'),
        ("gen_ai.prompt", f'[{{"role": "user", "content": {_nested_json(600)}}}]'),
    ],
)
def test_json_text_nested_past_the_limit_is_a_422_naming_the_attribute(name, value):
    attributes = {"gen_ai.operation.name": "chat", name: value}
    with pytest.raises(FieldLimitError) as caught:
        decode_otlp_traces(to_json(request(span(attributes=attributes))), JSON)
    assert caught.value.field == f"{SPANS}[0].attributes.{name}"


def test_a_feedback_field_nested_253_levels_is_refused_naming_it():
    payload = {"trace_id": TRACE, "rating": "up", "metadata": {"deep": _nested(253)}}
    with pytest.raises(FieldLimitError) as caught:
        parse_feedback_items(payload)
    assert caught.value.field == "metadata"
    with pytest.raises(FieldLimitError) as caught:
        parse_feedback_items({"data": [{**payload, "annotator_kind": "HUMAN"}]})
    assert caught.value.field == "data[0].metadata"
    ok = parse_feedback_items({**payload, "metadata": {"shallow": _nested(MAX_DEPTH - 2)}})
    assert ok[0].rating == "up"


# -- limits --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"id": "x" * (10 * 1024 * 1024)}, "id"),
        ({"comment": "c" * 16_385}, "comment"),
        ({"name": "n" * 257}, "name"),
        ({"author": "a" * 257}, "author"),
    ],
)
def test_feedback_ids_comments_and_names_past_their_limits_are_refused(extra, field):
    with pytest.raises(FieldLimitError) as caught:
        parse_feedback_items({"trace_id": TRACE, "rating": "down", **extra})
    assert caught.value.field == field
    assert len(str(caught.value)) < 200  # the value is not echoed back


def test_langfuse_and_phoenix_fields_past_their_limits_are_refused_naming_them():
    langfuse = {"traceId": TRACE, "name": "q", "value": "v" * 300}
    with pytest.raises(FieldLimitError, match=r"^value: 300 characters"):
        parse_feedback_items(langfuse)
    phoenix = {
        "trace_id": TRACE,
        "name": "q",
        "annotator_kind": "LLM",
        "result": {"score": 1, "explanation": "e" * 20_000},
    }
    with pytest.raises(FieldLimitError, match=r"^data\[1\]\.result\.explanation: 20000"):
        parse_feedback_items({"data": [{**phoenix, "result": {"score": 1}}, phoenix]})


def test_huge_feedback_numbers_are_a_feedback_error_not_an_overflow():
    for rating in (10**400, 1e301, "1e400", "9" * 5000):
        with pytest.raises(FeedbackError, match=r"^rating: expected a finite number"):
            parse_feedback_items({"trace_id": TRACE, "rating": rating})
    with pytest.raises(FeedbackError, match=r"^id: expected a string or a 64-bit integer"):
        parse_feedback_items({"trace_id": TRACE, "rating": "up", "id": 10**5000})
    unusual = parse_feedback_items({"trace_id": TRACE, "rating": "up", "extra": 10**400})
    assert unusual[0].feedback_id.startswith("fb-")


def test_a_long_trace_id_is_not_echoed_back():
    with pytest.raises(FeedbackError) as caught:
        parse_feedback_items({"trace_id": "f" * 1_000_000, "rating": "up"})
    assert len(str(caught.value)) < 200


def test_a_key_value_past_its_limit_refuses_the_request_naming_the_span():
    attributes = {"gen_ai.operation.name": "chat", "evallock.intent": "x" * 300}
    doc = request(span(span_id="1" * 16), span(attributes=attributes))
    for body, content_type in ((to_json(doc), JSON), (to_protobuf(doc), PROTOBUF)):
        with pytest.raises(FieldLimitError) as caught:
            decode_otlp_traces(body, content_type)
        assert caught.value.field == f"{SPANS}[1].keys.intent"


def test_an_evaluation_past_its_limits_refuses_the_request_naming_the_record():
    record = log_record(
        "gen_ai.evaluation.result",
        attributes=_evaluation(
            **{"gen_ai.evaluation.score.value": 1, "gen_ai.evaluation.explanation": "e" * 20_000}
        ),
    )
    doc = logs_request(log_record("other"), record)
    for body, content_type in ((to_json(doc), JSON), (to_protobuf(doc), PROTOBUF)):
        with pytest.raises(FieldLimitError) as caught:
            decode_otlp_logs(body, content_type)
        assert caught.value.field == f"{RECORDS}[1].comment"
    node = span(events=[event("gen_ai.evaluation.result", **_evaluation(**{"x": 1}))])
    node["events"][0]["attributes"].append(
        {"key": "gen_ai.evaluation.score.label", "value": {"stringValue": "l" * 300}}
    )
    with pytest.raises(FieldLimitError) as caught:
        decode_otlp_traces(to_json(request(node)), JSON)
    assert caught.value.field == f"{SPANS}[0].events[0].rating"


def test_an_input_past_its_limit_refuses_the_request_naming_the_span():
    attributes = {"openinference.span.kind": "LLM", "input.value": "q" * 1_048_577}
    with pytest.raises(FieldLimitError) as caught:
        decode_otlp_traces(to_json(request(span(attributes=attributes))), JSON)
    assert caught.value.field == f"{SPANS}[0].input"


# -- the proxy -----------------------------------------------------------------------


def _chat(request_body: dict[str, object], **keys: str):
    return trace_from_chat(
        request=request_body,
        response_text="ok",
        model=None,
        usage={"prompt_tokens": "9" * 5000, "cost": 10**400},
        started_at=datetime(2026, 10, 4, tzinfo=UTC),
        latency_ms=1.0,
        ttft_ms=None,
        error=None,
        keys=keys,
        trace_id=TRACE,
    )


def test_proxied_requests_past_the_limits_are_refused_naming_the_field():
    deep = {"messages": [{"role": "user", "content": _nested(900)}]}
    with pytest.raises(FieldLimitError, match=r"^messages: nested more than"):
        _chat(deep)
    with pytest.raises(FieldLimitError, match=r"^keys\.intent: 300 characters"):
        _chat({"messages": [{"role": "user", "content": "q"}]}, intent="x" * 300)
    trace = _chat({"messages": [{"role": "user", "content": "q"}]})
    assert (trace.tokens_in, trace.cost, trace.input) == (None, None, "q")


# -- trace files ---------------------------------------------------------------------


def _file(tmp_path, *lines: object):
    path = tmp_path / "traces.jsonl"
    text = "\n".join(
        line if isinstance(line, str) else orjson.dumps(line).decode() for line in lines
    )
    path.write_text(text + "\n", encoding="utf-8")
    return path


LINE = {"trace_id": TRACE, "timestamp": "2026-10-04T09:12:44Z", "input": "q"}


def test_an_otlp_line_with_an_end_time_thousands_of_digits_long_is_a_file_line_error(tmp_path):
    node = span()
    node["endTimeUnixNano"] = "9" * 3000
    path = _file(tmp_path, request(node))
    with pytest.raises(CaseFileError) as caught:
        read_trace_file(path)
    assert caught.value.problems == [
        f"{path}:1: 1 span rejected: {SPANS}[0].endTimeUnixNano is out of range"
    ]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (
            orjson.dumps(LINE).decode()[:-1] + f', "extra": {{"deep": {_nested_json(300)}}}}}',
            "extra: nested more than 32 levels deep",
        ),
        ({**LINE, "keys": {"intent": "x" * 300}}, "keys.intent: 300 characters"),
        ({**LINE, "messages": [{"content": _nested(40)}]}, "messages: nested more than"),
        ({**LINE, "feedback": 1e308}, "feedback: expected a finite number"),
        ({**LINE, "latency_ms": 1e301}, "latency_ms: 1e+301 is not a finite number"),
    ],
)
def test_jsonl_values_past_their_limits_are_file_line_errors(tmp_path, line, reason):
    path = _file(tmp_path, line)
    with pytest.raises(CaseFileError) as caught:
        read_trace_file(path)
    [problem] = caught.value.problems
    assert problem.startswith(f"{path}:1: {reason}")


def test_otlp_lines_past_the_limits_name_the_file_line_and_span(tmp_path):
    attributes = {"gen_ai.operation.name": "chat", "evallock.intent": "x" * 300}
    path = _file(tmp_path, request(span(span_id="1" * 16)), request(span(attributes=attributes)))
    with pytest.raises(CaseFileError) as caught:
        read_trace_file(path)
    [problem] = caught.value.problems
    assert problem.startswith(f"{path}:2: {SPANS}[0].keys.intent: 300 characters")
    deep = request(span(attributes={"evallock.deep": _nested(40)}))
    with pytest.raises(CaseFileError, match=rf":1: {SPANS_RE}\[0\]\.attributes\[0\]\.value: "):
        read_trace_file(_file(tmp_path, deep))


def test_a_line_separator_inside_a_json_string_does_not_split_the_line(tmp_path):
    path = _file(tmp_path, {**LINE, "input": "a\u2028b\x85c"})
    [trace] = read_trace_file(path).traces
    assert trace.input == "a\u2028b\x85c"


def test_a_span_id_on_a_log_record_is_kept():
    # Sanity for the builders used above: a record's ids survive both encodings.
    record = log_record("gen_ai.evaluation.result", attributes=_evaluation(**{"x": 1}))
    record["attributes"].append({"key": "gen_ai.evaluation.score.value", "value": {"intValue": 1}})
    for body, content_type in (
        (to_json(logs_request(record)), JSON),
        (to_protobuf(logs_request(record)), PROTOBUF),
    ):
        [rating] = decode_otlp_logs(body, content_type).feedback
        assert (rating.trace_id, rating.score) == (TRACE, 1.0)
    assert LLM
