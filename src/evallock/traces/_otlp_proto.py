"""OTLP/protobuf reader: export requests parsed with the generated classes and walked directly.

Most SDKs export ``http/protobuf`` by default, so this is the hot path: the body
is parsed once by the ``opentelemetry-proto`` classes (upb, in C) and the
messages are read field by field into :mod:`evallock.traces._spans` objects,
without the detour through ``json_format``. Ids are raw bytes here; a span whose
trace or span id has the wrong length or is all zero is rejected on its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from google.protobuf.message import DecodeError  # type: ignore[import-untyped]
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan

from evallock.traces._batch import OtlpDecodeError
from evallock.traces._ids import id_from_bytes
from evallock.traces._spans import MAX_TIME_NS, Decoded, LogEvent, Span, SpanEvent

__all__ = ["logs_from_protobuf", "spans_from_protobuf"]


def _any(value: AnyValue) -> Any:
    """An ``AnyValue`` as a Python value (None for an empty one)."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "int_value":
        return value.int_value
    if kind == "double_value":
        return value.double_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "array_value":
        return [_any(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    if kind == "bytes_value":
        return bytes(value.bytes_value)
    return None  # empty, or string_value_strindex (profiles' dictionary encoding only)


def _attributes(items: Iterable[KeyValue]) -> dict[str, Any]:
    return {item.key: _any(item.value) for item in items}


def _parse(message: ExportTraceServiceRequest | ExportLogsServiceRequest, body: bytes) -> None:
    try:
        message.ParseFromString(body)
    except (DecodeError, RuntimeError, ValueError) as exc:
        name = type(message).__name__
        raise OtlpDecodeError(f"body is not a protobuf {name}: {exc}") from None


def _span(sp: PbSpan, resource: dict[str, Any], decoded: Decoded, where: str) -> None:
    try:
        field = "traceId"
        trace_id = id_from_bytes(sp.trace_id, 16)
        field = "spanId"
        span_id = id_from_bytes(sp.span_id, 8)
        field = "parentSpanId"
        parent = sp.parent_span_id
        parent_id = id_from_bytes(parent, 8) if parent else ""
    except ValueError as exc:
        decoded.rejections.add(f"{where}.{field} {exc}")
        return
    start = sp.start_time_unix_nano
    if not 0 < start <= MAX_TIME_NS:
        decoded.rejections.add(
            f"{where}.startTimeUnixNano is {'missing' if not start else 'out of range'}"
        )
        return
    events = [
        SpanEvent(name=e.name, time_ns=e.time_unix_nano, attributes=_attributes(e.attributes))
        for e in sp.events
    ]
    linked: list[str] = []
    for link in sp.links:
        try:
            linked.append(id_from_bytes(link.trace_id, 16))
        except ValueError:
            continue  # a link we cannot follow is no reason to drop the span
    status = sp.status
    decoded.spans.append(
        Span(
            trace_id=trace_id,
            span_id=span_id,
            parent_span_id=parent_id,
            name=sp.name,
            start_ns=start,
            end_ns=max(sp.end_time_unix_nano, start),
            attributes=_attributes(sp.attributes),
            resource=resource,
            events=events,
            linked_trace_ids=linked,
            status_code=status.code,
            status_message=status.message,
        )
    )


def spans_from_protobuf(body: bytes) -> Decoded:
    """Decode a binary ``ExportTraceServiceRequest``.

    Raises:
        OtlpDecodeError: the body is not that protobuf message.
    """
    request = ExportTraceServiceRequest()
    _parse(request, body)
    decoded = Decoded()
    for ri, rs in enumerate(request.resource_spans):
        resource = _attributes(rs.resource.attributes)
        for si, ss in enumerate(rs.scope_spans):
            for pi, sp in enumerate(ss.spans):
                decoded.received += 1
                where = f"resourceSpans[{ri}].scopeSpans[{si}].spans[{pi}]"
                _span(sp, resource, decoded, where)
    return decoded


def _log(record: LogRecord, resource: dict[str, Any], decoded: Decoded, where: str) -> None:
    try:
        field = "traceId"
        trace_id = id_from_bytes(record.trace_id, 16) if record.trace_id else ""
        field = "spanId"
        span_id = id_from_bytes(record.span_id, 8) if record.span_id else ""
    except ValueError as exc:
        decoded.rejections.add(f"{where}.{field} {exc}")
        return
    attributes = _attributes(record.attributes)
    name = record.event_name or attributes.get("event.name") or ""
    decoded.logs.append(
        LogEvent(
            name=str(name),
            time_ns=record.time_unix_nano or record.observed_time_unix_nano,
            trace_id=trace_id,
            span_id=span_id,
            attributes=attributes,
            body=_any(record.body) if record.HasField("body") else None,
            resource=resource,
            where=where,
        )
    )


def logs_from_protobuf(body: bytes) -> Decoded:
    """Decode a binary ``ExportLogsServiceRequest``.

    Raises:
        OtlpDecodeError: the body is not that protobuf message.
    """
    request = ExportLogsServiceRequest()
    _parse(request, body)
    decoded = Decoded()
    for ri, rl in enumerate(request.resource_logs):
        resource = _attributes(rl.resource.attributes)
        for si, sl in enumerate(rl.scope_logs):
            for li, record in enumerate(sl.log_records):
                decoded.received += 1
                where = f"resourceLogs[{ri}].scopeLogs[{si}].logRecords[{li}]"
                _log(record, resource, decoded, where)
    return decoded
