"""Properties: whatever bytes or values arrive, a decoder answers with data or a documented error.

The documented errors are :class:`OtlpDecodeError` (HTTP 400; ``OtlpContentTypeError``
is one), :class:`FeedbackError` (400), and :class:`FieldLimitError` or another
``UsageError`` (422, exit 2). Anything else (OverflowError, RecursionError,
TypeError …) would be an HTTP 500 or a traceback. What a decoder returns must
also be storable: within the field limits, and JSON any store can write.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evallock.errors import UsageError
from evallock.limits import FieldLimitError, check_feedback, check_trace
from evallock.records import Feedback, Trace
from evallock.traces import (
    FeedbackError,
    OtlpDecodeError,
    TraceBatch,
    decode_otlp_logs,
    decode_otlp_traces,
    parse_feedback_items,
    read_trace_file,
)

from .hostile_values import (
    FEEDBACK_KEYS,
    json_ish,
    logs_requests,
    mutated,
    to_json_bytes,
    trace_requests,
)
from .otlp_builders import TRACE, to_json, to_protobuf

JSON = "application/json"
PROTOBUF = "application/x-protobuf"
DECODE_ERRORS = (OtlpDecodeError, FieldLimitError)
HOSTILE = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _storable(traces: list[Trace], feedback: list[Feedback]) -> None:
    for trace in traces:
        check_trace(trace)
        orjson.dumps(trace.messages)
        orjson.dumps(trace.keys)
    for rating in feedback:
        check_feedback(rating)


def _decoded(decode: Any, body: bytes, content_type: str) -> None:
    try:
        batch = decode(body, content_type)
    except DECODE_ERRORS:
        return
    assert isinstance(batch, TraceBatch)
    assert 0 <= batch.rejected_spans <= batch.spans
    _storable(batch.traces, batch.feedback)


_DECODERS = st.sampled_from([decode_otlp_traces, decode_otlp_logs])


@HOSTILE
@given(decode=_DECODERS, body=st.binary(max_size=512))
def test_any_bytes_as_protobuf_or_json(decode, body):
    _decoded(decode, body, PROTOBUF)
    _decoded(decode, body, JSON)


@HOSTILE
@given(
    doc=trace_requests(),
    flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=3),
)
def test_trace_exports_with_hostile_attributes_in_both_encodings(doc, flips):
    _decoded(decode_otlp_traces, to_json(doc), JSON)
    body = bytearray(to_protobuf(doc))
    _decoded(decode_otlp_traces, bytes(body), PROTOBUF)
    for position, byte in flips:
        body[position % len(body)] = byte
    _decoded(decode_otlp_traces, bytes(body), PROTOBUF)


@HOSTILE
@given(
    doc=logs_requests(),
    flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=3),
)
def test_log_exports_with_hostile_attributes_in_both_encodings(doc, flips):
    _decoded(decode_otlp_logs, to_json(doc), JSON)
    body = bytearray(to_protobuf(doc))
    _decoded(decode_otlp_logs, bytes(body), PROTOBUF)
    for position, byte in flips:
        body[position % len(body)] = byte
    _decoded(decode_otlp_logs, bytes(body), PROTOBUF)


@HOSTILE
@given(doc=st.one_of(mutated(trace_requests()), mutated(trace_requests()), json_ish))
def test_mutated_trace_exports_as_json(doc):
    _decoded(decode_otlp_traces, to_json_bytes(doc), JSON)


@HOSTILE
@given(doc=st.one_of(mutated(logs_requests()), mutated(logs_requests()), json_ish))
def test_mutated_log_exports_as_json(doc):
    _decoded(decode_otlp_logs, to_json_bytes(doc), JSON)


_FEEDBACK = st.fixed_dictionaries(
    {"trace_id": st.just(TRACE), "rating": st.sampled_from(["up", "down", 0.5, 3])},
    optional={key: json_ish for key in FEEDBACK_KEYS if key not in ("trace_id", "rating")},
)
_PHOENIX = st.fixed_dictionaries(
    {
        "trace_id": st.just(TRACE),
        "name": st.just("quality"),
        "annotator_kind": st.just("LLM"),
        "result": st.fixed_dictionaries({"label": st.just("good"), "score": st.just(0.9)}),
    }
)


@HOSTILE
@given(
    payload=st.one_of(
        json_ish,
        mutated(_FEEDBACK),
        mutated(_PHOENIX),
        mutated(st.lists(_PHOENIX, min_size=1, max_size=3).map(lambda data: {"data": data})),
        mutated(_PHOENIX.map(lambda p: {**p, "traceId": TRACE, "value": 1, "dataType": "NUMERIC"})),
    )
)
def test_feedback_payloads_of_any_json_value(payload):
    try:
        items = parse_feedback_items(payload)
    except (FeedbackError, FieldLimitError):
        return
    assert items and all(isinstance(item, Feedback) for item in items)
    _storable([], items)
    assert parse_feedback_items(payload) == items  # ids derived from content are stable


_SUMMARY_LINE = st.fixed_dictionaries(
    {
        "trace_id": st.just(TRACE),
        "timestamp": st.just("2026-10-04T09:12:44Z"),
        "input": st.just("q"),
        "output": st.just("a"),
        "latency_ms": st.just(812),
        "keys": st.just({"intent": "refund"}),
        "extra": st.just({"session_id": "s-1"}),
        "feedback": st.just("down"),
    }
)
_LINE = st.one_of(
    st.text(max_size=40),
    json_ish.map(lambda value: to_json_bytes(value).decode("utf-8", "surrogatepass")),
    mutated(_SUMMARY_LINE).map(lambda doc: to_json_bytes(doc).decode("utf-8", "surrogatepass")),
    mutated(trace_requests()).map(lambda doc: to_json_bytes(doc).decode("utf-8", "surrogatepass")),
    trace_requests().map(lambda doc: to_json(doc).decode()),
    _SUMMARY_LINE.map(lambda doc: orjson.dumps(doc).decode()),
)


@HOSTILE
@given(lines=st.lists(_LINE, min_size=1, max_size=4), newline=st.sampled_from(["\n", "\r\n"]))
def test_trace_files_of_any_lines(lines, newline):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "traces.jsonl"
        path.write_bytes(newline.join(lines).encode("utf-8", "surrogatepass"))
        try:
            loaded = read_trace_file(path)
        except UsageError as exc:  # CaseFileError (file:line: reason) or an unreadable file
            refused: UsageError | None = exc
        else:
            refused = None
    if refused is not None:
        assert str(refused).startswith(str(path))
        return
    assert loaded.traces
    _storable(loaded.traces, loaded.feedback)
