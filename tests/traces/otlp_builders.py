"""Builders of OTLP export requests for the trace tests: JSON dicts, and protobuf from them.

``to_protobuf`` goes through ``json_format`` after turning the hex ids into the
base64 that plain proto3 JSON expects (interop §3.4), so a test can decode the
same export in both encodings and compare.
"""

from __future__ import annotations

import base64
import copy
from typing import Any

import orjson
from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

T0_NS = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z
TRACE = "89d60bc7acef1141d97392b18134d84b"
ROOT = "aaaaaaaaaaaaaaa1"
LLM = "bd01cef332e6d1cd"
_IDS = {"traceId", "spanId", "parentSpanId"}


def value(v: Any) -> dict[str, Any]:
    """An OTLP/JSON AnyValue for a Python value."""
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            return {"doubleValue": {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}[str(v)]}
        return {"doubleValue": v}
    if isinstance(v, bytes):
        return {"bytesValue": base64.b64encode(v).decode()}
    if isinstance(v, list):
        return {"arrayValue": {"values": [value(x) for x in v]}}
    if isinstance(v, dict):
        return {"kvlistValue": {"values": attrs(v)}}
    return {"stringValue": v}


def attrs(mapping: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": k, "value": value(v)} for k, v in mapping.items()]


def span(
    trace_id: str = TRACE,
    span_id: str = LLM,
    *,
    parent: str | None = None,
    name: str = "span",
    start_ms: float = 0,
    end_ms: float = 100,
    attributes: dict[str, Any] | None = None,
    events: list[dict[str, Any]] | None = None,
    status: dict[str, Any] | None = None,
    links: list[str] | None = None,
) -> dict[str, Any]:
    node: dict[str, Any] = {
        "traceId": trace_id,
        "spanId": span_id,
        "name": name,
        "kind": 3,
        "startTimeUnixNano": str(T0_NS + int(start_ms * 1_000_000)),
        "endTimeUnixNano": str(T0_NS + int(end_ms * 1_000_000)),
        "attributes": attrs(attributes or {}),
    }
    if parent:
        node["parentSpanId"] = parent
    if events:
        node["events"] = events
    if status:
        node["status"] = status
    if links:
        node["links"] = [{"traceId": t, "spanId": "cccccccccccccccc"} for t in links]
    return node


def event(name: str, at_ms: float = 50, **attributes: Any) -> dict[str, Any]:
    return {
        "name": name,
        "timeUnixNano": str(T0_NS + int(at_ms * 1_000_000)),
        "attributes": attrs(attributes),
    }


def request(*spans: dict[str, Any], resource: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": attrs(resource or {})},
                "scopeSpans": [{"scope": {"name": "test"}, "spans": list(spans)}],
            }
        ]
    }


def log_record(
    event_name: str,
    *,
    trace_id: str | None = TRACE,
    span_id: str | None = LLM,
    at_ms: float = 50,
    attributes: dict[str, Any] | None = None,
    body: Any = None,
) -> dict[str, Any]:
    node: dict[str, Any] = {
        "eventName": event_name,
        "timeUnixNano": str(T0_NS + int(at_ms * 1_000_000)),
        "attributes": attrs(attributes or {}),
    }
    if trace_id:
        node["traceId"] = trace_id
    if span_id:
        node["spanId"] = span_id
    if body is not None:
        node["body"] = value(body)
    return node


def logs_request(
    *records: dict[str, Any], resource: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "resourceLogs": [
            {
                "resource": {"attributes": attrs(resource or {})},
                "scopeLogs": [{"scope": {"name": "test"}, "logRecords": list(records)}],
            }
        ]
    }


def to_json(doc: dict[str, Any]) -> bytes:
    return orjson.dumps(doc)


def _hex_ids_to_base64(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: base64.b64encode(bytes.fromhex(v)).decode()
            if k in _IDS and isinstance(v, str) and v
            else _hex_ids_to_base64(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_hex_ids_to_base64(x) for x in node]
    return node


def with_base64_ids(doc: dict[str, Any]) -> dict[str, Any]:
    """The same export as a naive proto3 JSON encoder writes it: base64 ids."""
    return _hex_ids_to_base64(copy.deepcopy(doc))


def to_protobuf(doc: dict[str, Any]) -> bytes:
    message = ExportLogsServiceRequest() if "resourceLogs" in doc else ExportTraceServiceRequest()
    json_format.ParseDict(with_base64_ids(doc), message, ignore_unknown_fields=True)
    return message.SerializeToString()
