"""OTLP/protobuf reader: export requests parsed with the generated classes and walked directly.

Most SDKs export ``http/protobuf`` by default, so this is the hot path: the body
is parsed once by the ``opentelemetry-proto`` classes (upb, in C) and the
messages are read field by field into :mod:`evallock.traces._spans` objects,
without the detour through ``json_format``. Ids are raw bytes here; a span whose
trace or span id has the wrong length or is all zero, or whose time no datetime
holds, is rejected on its own. ``AnyValue`` nesting deeper than
:data:`~evallock.limits.MAX_DEPTH` refuses the request (``FieldLimitError``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from google.protobuf.message import DecodeError  # type: ignore[import-untyped]
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan

from evallock.limits import MAX_DEPTH, FieldLimitError
from evallock.traces._batch import OtlpDecodeError
from evallock.traces._ids import id_from_bytes
from evallock.traces._spans import Decoded, LogEvent, Span, SpanEvent, reject_times

__all__ = ["logs_from_protobuf", "spans_from_protobuf"]


class _TooDeep(Exception):
    """An ``AnyValue`` nested past the limit; ``path`` names the top-level one (``[3].value``)."""

    def __init__(self) -> None:
        super().__init__()
        self.path = ""

    def at(self, where: str) -> FieldLimitError:
        """The limit error, its field the full path."""
        return FieldLimitError(where + self.path, f"nested more than {MAX_DEPTH} levels deep")


def _any(value: AnyValue, depth: int = 1) -> Any:
    """An ``AnyValue`` as a Python value (None for an empty one)."""
    if depth > MAX_DEPTH:
        raise _TooDeep()
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
        return [_any(item, depth + 1) for item in value.array_value.values]
    if kind == "kvlist_value":
        return _attributes(value.kvlist_value.values, depth + 1)
    if kind == "bytes_value":
        return bytes(value.bytes_value)
    return None  # empty, or string_value_strindex (profiles' dictionary encoding only)


def _attributes(items: Iterable[KeyValue], depth: int = 1) -> dict[str, Any]:
    return {item.key: _any(item.value, depth) for item in items}


def _attributes_at(items: Sequence[KeyValue], where: str) -> dict[str, Any]:
    """Top-level attributes; a limit error names the attribute from ``where`` on."""
    try:
        return _attributes(items)
    except _TooDeep as exc:
        index = next(i for i, item in enumerate(items) if _too_deep(item.value))
        exc.path = f"[{index}].value"
        raise exc.at(f"{where}.attributes") from None


def _too_deep(value: AnyValue) -> bool:
    try:
        _any(value)
    except _TooDeep:
        return True
    return False


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
    times = [("startTimeUnixNano", start, True), ("endTimeUnixNano", sp.end_time_unix_nano, False)]
    times.extend(
        (f"events[{i}].timeUnixNano", e.time_unix_nano, False) for i, e in enumerate(sp.events)
    )
    if reject_times(decoded.rejections, where, *times):
        return
    events = [
        SpanEvent(
            name=e.name,
            time_ns=e.time_unix_nano,
            attributes=_attributes_at(e.attributes, f"{where}.events[{i}]"),
        )
        for i, e in enumerate(sp.events)
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
            attributes=_attributes_at(sp.attributes, where),
            resource=resource,
            events=events,
            linked_trace_ids=linked,
            status_code=status.code,
            status_message=status.message,
            where=where,
        )
    )


def spans_from_protobuf(body: bytes) -> Decoded:
    """Decode a binary ``ExportTraceServiceRequest``.

    Raises:
        OtlpDecodeError: the body is not that protobuf message.
        FieldLimitError: a value past its limit (named by its path).
    """
    request = ExportTraceServiceRequest()
    _parse(request, body)
    decoded = Decoded()
    for ri, rs in enumerate(request.resource_spans):
        resource = _attributes_at(rs.resource.attributes, f"resourceSpans[{ri}].resource")
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
    attributes = _attributes_at(record.attributes, where)
    name = record.event_name
    if not name:
        fallback = attributes.get("event.name")  # the deprecated attribute
        name = fallback if isinstance(fallback, str) else ""
    try:
        body = _any(record.body) if record.HasField("body") else None
    except _TooDeep as exc:
        raise exc.at(f"{where}.body") from None
    decoded.logs.append(
        LogEvent(
            name=name,
            time_ns=record.time_unix_nano or record.observed_time_unix_nano,
            trace_id=trace_id,
            span_id=span_id,
            attributes=attributes,
            body=body,
            resource=resource,
            where=where,
        )
    )


def logs_from_protobuf(body: bytes) -> Decoded:
    """Decode a binary ``ExportLogsServiceRequest``.

    Raises:
        OtlpDecodeError: the body is not that protobuf message.
        FieldLimitError: a value past its limit (named by its path).
    """
    request = ExportLogsServiceRequest()
    _parse(request, body)
    decoded = Decoded()
    for ri, rl in enumerate(request.resource_logs):
        resource = _attributes_at(rl.resource.attributes, f"resourceLogs[{ri}].resource")
        for si, sl in enumerate(rl.scope_logs):
            for li, record in enumerate(sl.log_records):
                decoded.received += 1
                where = f"resourceLogs[{ri}].scopeLogs[{si}].logRecords[{li}]"
                _log(record, resource, decoded, where)
    return decoded
