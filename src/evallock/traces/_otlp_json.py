"""OTLP/JSON reader: export requests parsed with orjson and walked as plain dicts.

OTLP/JSON is proto3 JSON with deviations (interop §3.2): trace and span ids are
hex, not base64; enums are integers; 64-bit integers are decimal strings. The
generic ``json_format`` parser would turn hex ids into 24 garbage bytes and is
slow, so the dicts are walked directly. The reader is lenient where senders are
known to slip (snake_case field names, enum names, numbers for int64, base64
ids) and strict about structure: a wrong type (an ``intValue`` beyond 64 bits
too: no protobuf could carry it) raises :class:`~evallock.traces.OtlpDecodeError`
naming the field's path, ``AnyValue`` nesting deeper than
:data:`~evallock.limits.MAX_DEPTH` :class:`~evallock.limits.FieldLimitError`, and
a span with an unusable id or time is rejected on its own (OTLP partial success).
"""

from __future__ import annotations

import binascii
import contextlib
from typing import Any

import orjson

from evallock.limits import MAX_DEPTH, FieldLimitError
from evallock.traces._batch import OtlpDecodeError, shown
from evallock.traces._ids import id_from_text
from evallock.traces._spans import Decoded, LogEvent, Span, SpanEvent, reject_times

__all__ = ["logs_from_json", "spans_from_json", "spans_from_mapping"]

_STATUS_NAMES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}
_INT64 = (-(2**63), 2**63 - 1)
_INT32 = (-(2**31), 2**31 - 1)
_FAR = 2**64
"""A time with more digits than any fixed64 has: out of range (``time_problem``)."""


class _Bad(Exception):
    """A problem at ``path`` (relative, completed by the callers); ``limit``: past a limit."""

    def __init__(self, path: str, reason: str, *, limit: bool = False) -> None:
        super().__init__(path, reason)
        self.path = path
        self.reason = reason
        self.limit = limit

    def within(self, prefix: str) -> _Bad:
        """Put the path of an enclosing field in front."""
        if not self.path:
            self.path = prefix
        elif self.path.startswith("["):
            self.path = prefix + self.path
        else:
            self.path = f"{prefix}.{self.path}"
        return self


def _root(body: bytes, field: str) -> dict[str, Any]:
    try:
        root = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise OtlpDecodeError(f"body is not JSON: {exc}") from None
    if not isinstance(root, dict):
        raise OtlpDecodeError(f"body is not a JSON object with {field}")
    return root


def _get(node: dict[str, Any], camel: str, snake: str) -> Any:
    value = node.get(camel)
    return node.get(snake) if value is None else value


def _list(node: dict[str, Any], camel: str, snake: str) -> list[Any]:
    value = _get(node, camel, snake)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Bad(camel, "is not a list")
    return value


def _obj(node: Any, path: str) -> dict[str, Any]:
    if not isinstance(node, dict):
        raise _Bad(path, "is not an object")
    return node


def _int(value: Any, path: str, bounds: tuple[int, int] | None = None) -> int:
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str):
        with contextlib.suppress(ValueError):  # not a number, or more than 4,300 digits
            number = int(value)
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    if number is None:
        raise _Bad(path, f"is not an integer: {shown(value)}")
    if bounds is not None and not bounds[0] <= number <= bounds[1]:
        bits = 32 if bounds == _INT32 else 64  # what the protobuf field can carry
        raise _Bad(path, f"is not a {bits}-bit integer: {shown(value)}")
    return number


def _time(node: dict[str, Any], camel: str, snake: str) -> int:
    """A fixed64 time in Unix nanoseconds; the caller checks its range (``time_problem``)."""
    value = _get(node, camel, snake) or 0
    if (
        isinstance(value, str)
        and len(value) > 24
        and value.isascii()
        and value.lstrip("-").isdigit()
    ):
        return _FAR
    return _int(value, camel)


def _double(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)  # proto3 JSON writes "NaN", "Infinity" as strings
        except ValueError:
            pass
    raise _Bad("doubleValue", f"is not a number: {shown(value)}")


def _str(node: dict[str, Any], camel: str, snake: str) -> str:
    value = _get(node, camel, snake)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _Bad(camel, "is not a string")
    return value


def _any(node: Any, depth: int = 1) -> Any:
    """An ``AnyValue`` as a Python value (None for an empty one)."""
    if not isinstance(node, dict):
        raise _Bad("", "is not an AnyValue object")
    if depth > MAX_DEPTH:
        raise _Bad("", f"nested more than {MAX_DEPTH} levels deep", limit=True)
    text = node.get("stringValue")
    if text.__class__ is str and len(node) == 1:
        return text  # the common case, first
    for kind, raw in node.items():
        if raw is None:
            continue  # proto3 JSON: null is the field's default, i.e. not set
        if kind in ("stringValue", "string_value"):
            if not isinstance(raw, str):
                raise _Bad(kind, "is not a string")
            return raw
        if kind in ("intValue", "int_value"):
            return _int(raw, kind, _INT64)
        if kind in ("boolValue", "bool_value"):
            if not isinstance(raw, bool):
                raise _Bad(kind, "is not true or false")
            return raw
        if kind in ("doubleValue", "double_value"):
            return _double(raw)
        if kind in ("arrayValue", "array_value"):
            values = _list(_obj(raw, kind), "values", "values")
            out: list[Any] = []
            for i, item in enumerate(values):
                try:
                    out.append(_any(item, depth + 1))
                except _Bad as exc:
                    raise (exc if exc.limit else exc.within(f"{kind}.values[{i}]")) from None
            return out
        if kind in ("kvlistValue", "kvlist_value"):
            try:
                return _attributes(_list(_obj(raw, kind), "values", "values"), depth + 1)
            except _Bad as exc:
                raise (exc if exc.limit else exc.within(kind)) from None
        if kind in ("bytesValue", "bytes_value"):
            if not isinstance(raw, str):
                raise _Bad(kind, "is not a base64 string")
            try:
                return binascii.a2b_base64(raw)
            except ValueError:  # binascii.Error, or a character outside ASCII
                raise _Bad(kind, "is not base64") from None
    return None


def _attributes(items: list[Any], depth: int = 1) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise _Bad(f"[{i}]", "is not a {key, value} object")
        value = item.get("value")
        try:
            out[item["key"]] = None if value is None else _any(value, depth)
        except _Bad as exc:
            if exc.limit and depth > 1:
                raise  # named by the top-level attribute it is in
            raise exc.within(f"[{i}].value") from None
    return out


def _attrs_of(node: dict[str, Any]) -> dict[str, Any]:
    try:
        return _attributes(_list(node, "attributes", "attributes"))
    except _Bad as exc:
        raise exc.within("attributes") if exc.path.startswith("[") else exc from None


def _resource(node: dict[str, Any]) -> dict[str, Any]:
    resource = node.get("resource")
    if resource is None:
        return {}
    try:
        return _attrs_of(_obj(resource, ""))
    except _Bad as exc:
        raise exc.within("resource") from None


def _status(node: Any) -> tuple[int, str]:
    if node is None:
        return 0, ""
    status = _obj(node, "status")
    code = status.get("code") or 0
    if isinstance(code, str) and code in _STATUS_NAMES:
        value = _STATUS_NAMES[code]
    else:
        value = _int(code, "status.code", _INT32)
    message = status.get("message") or ""
    if not isinstance(message, str):
        raise _Bad("status.message", "is not a string")
    return value, message


def _events(span: dict[str, Any]) -> list[SpanEvent]:
    events: list[SpanEvent] = []
    for i, node in enumerate(_list(span, "events", "events")):
        try:
            event = _obj(node, "")
            events.append(
                SpanEvent(
                    name=_str(event, "name", "name"),
                    time_ns=_time(event, "timeUnixNano", "time_unix_nano"),
                    attributes=_attrs_of(event),
                )
            )
        except _Bad as exc:
            raise exc.within(f"events[{i}]") from None
    return events


def _links(span: dict[str, Any]) -> list[str]:
    linked: list[str] = []
    for node in _list(span, "links", "links"):
        raw = _get(node, "traceId", "trace_id") if isinstance(node, dict) else None
        if isinstance(raw, str):
            try:
                linked.append(id_from_text(raw, 16))
            except ValueError:
                continue  # a link we cannot follow is no reason to drop the span
    return linked


def _id(node: dict[str, Any], camel: str, snake: str, size: int) -> str:
    """The id as hex; raises ValueError with the reason (not _Bad: this rejects one span)."""
    raw = _get(node, camel, snake)
    if raw is None or raw == "":
        raise ValueError("is missing")
    if not isinstance(raw, str):
        raise ValueError("is not a hex string")
    return id_from_text(raw, size)


def _span(node: Any, resource: dict[str, Any], decoded: Decoded, where: str) -> None:
    span = _obj(node, "")
    try:
        field = "traceId"
        trace_id = _id(span, "traceId", "trace_id", 16)
        field = "spanId"
        span_id = _id(span, "spanId", "span_id", 8)
        field = "parentSpanId"
        parent = _get(span, "parentSpanId", "parent_span_id")
        parent_id = _id(span, "parentSpanId", "parent_span_id", 8) if parent else ""
    except ValueError as exc:
        decoded.rejections.add(f"{where}.{field} {exc}")
        return
    start = _time(span, "startTimeUnixNano", "start_time_unix_nano")
    end = _time(span, "endTimeUnixNano", "end_time_unix_nano")
    if reject_times(
        decoded.rejections,
        where,
        ("startTimeUnixNano", start, True),
        ("endTimeUnixNano", end, False),
    ):
        return
    events = _events(span)
    event_times = ((f"events[{i}].timeUnixNano", e.time_ns, False) for i, e in enumerate(events))
    if reject_times(decoded.rejections, where, *event_times):
        return
    code, message = _status(span.get("status"))
    decoded.spans.append(
        Span(
            trace_id=trace_id,
            span_id=span_id,
            parent_span_id=parent_id,
            name=_str(span, "name", "name"),
            start_ns=start,
            end_ns=max(end, start),
            attributes=_attrs_of(span),
            resource=resource,
            events=events,
            linked_trace_ids=_links(span),
            status_code=code,
            status_message=message,
            where=where,
        )
    )


def spans_from_json(body: bytes) -> Decoded:
    """Decode an OTLP/JSON ``ExportTraceServiceRequest``.

    Raises:
        OtlpDecodeError: not JSON, or a field of the wrong type (named by its path).
        FieldLimitError: a value past its limit (named by its path).
    """
    return spans_from_mapping(_root(body, "resourceSpans"))


def spans_from_mapping(root: dict[str, Any]) -> Decoded:
    """Decode an ``ExportTraceServiceRequest`` already parsed from JSON (a file line).

    Raises:
        OtlpDecodeError: a field of the wrong type (named by its path).
        FieldLimitError: a value past its limit (named by its path).
    """
    decoded = Decoded()
    path = ""
    try:
        for ri, rs_node in enumerate(_list(root, "resourceSpans", "resource_spans")):
            path = f"resourceSpans[{ri}]"
            rs = _obj(rs_node, "")
            resource = _resource(rs)
            scopes = _list(rs, "scopeSpans", "scope_spans")
            for si, ss_node in enumerate(scopes):
                path = f"resourceSpans[{ri}].scopeSpans[{si}]"
                spans = _list(_obj(ss_node, ""), "spans", "spans")
                for pi, sp_node in enumerate(spans):
                    path = f"resourceSpans[{ri}].scopeSpans[{si}].spans[{pi}]"
                    decoded.received += 1
                    _span(sp_node, resource, decoded, path)
    except _Bad as exc:
        raise _decode_error(exc, path) from None
    return decoded


def logs_from_json(body: bytes) -> Decoded:
    """Decode an OTLP/JSON ``ExportLogsServiceRequest``.

    Raises:
        OtlpDecodeError: not JSON, or a field of the wrong type (named by its path).
        FieldLimitError: a value past its limit (named by its path).
    """
    root = _root(body, "resourceLogs")
    decoded = Decoded()
    path = ""
    try:
        for ri, rl_node in enumerate(_list(root, "resourceLogs", "resource_logs")):
            path = f"resourceLogs[{ri}]"
            rl = _obj(rl_node, "")
            resource = _resource(rl)
            for si, sl_node in enumerate(_list(rl, "scopeLogs", "scope_logs")):
                path = f"resourceLogs[{ri}].scopeLogs[{si}]"
                records = _list(_obj(sl_node, ""), "logRecords", "log_records")
                for li, lr_node in enumerate(records):
                    path = f"resourceLogs[{ri}].scopeLogs[{si}].logRecords[{li}]"
                    decoded.received += 1
                    _log(lr_node, resource, decoded, path)
    except _Bad as exc:
        raise _decode_error(exc, path) from None
    return decoded


def _log(node: Any, resource: dict[str, Any], decoded: Decoded, where: str) -> None:
    record = _obj(node, "")
    try:
        field = "traceId"
        present = _get(record, "traceId", "trace_id")
        trace_id = _id(record, "traceId", "trace_id", 16) if present else ""
        field = "spanId"
        present = _get(record, "spanId", "span_id")
        span_id = _id(record, "spanId", "span_id", 8) if present else ""
    except ValueError as exc:
        decoded.rejections.add(f"{where}.{field} {exc}")
        return
    attributes = _attrs_of(record)
    time_ns = _time(record, "timeUnixNano", "time_unix_nano")
    if not time_ns:
        time_ns = _time(record, "observedTimeUnixNano", "observed_time_unix_nano")
    body = record.get("body")
    try:
        value = None if body is None else _any(body)
    except _Bad as exc:
        raise exc.within("body") from None
    name = _str(record, "eventName", "event_name")
    if not name:
        fallback = attributes.get("event.name")  # the deprecated attribute
        name = fallback if isinstance(fallback, str) else ""
    decoded.logs.append(
        LogEvent(
            name=name,
            time_ns=time_ns,
            trace_id=trace_id,
            span_id=span_id,
            attributes=attributes,
            body=value,
            resource=resource,
            where=where,
        )
    )


def _decode_error(exc: _Bad, where: str) -> OtlpDecodeError | FieldLimitError:
    path = ".".join(part for part in (where, exc.path) if part)
    if exc.limit:
        return FieldLimitError(path or "body", exc.reason)
    return OtlpDecodeError(f"{path or 'body'} {exc.reason}")
