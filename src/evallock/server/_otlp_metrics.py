"""``POST /v1/metrics``: OTLP metric exports are answered, counted and dropped, never stored.

evallock keeps traces (and the GenAI events and evaluations of logs); a metric
series adds nothing a trace does not already carry (tokens, latency and errors
are read from the spans). But the zero-code ``opentelemetry-instrument`` and
OpenLLMetry export metrics by default, and a 404 on every export fills the app's
log. So the route takes the export like the trace route does (scope ``ingest``,
the body limit and the decode budget), counts its data points, and answers the
OTLP way for data it did not keep: 200 with ``partial_success`` giving the count
as rejected and the reason (``OTEL_METRICS_EXPORTER=none`` stops the exports).
An undecodable body is a 400 and another content type a 415, as for traces.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from evallock.limits import MAX_DEPTH, check_depth
from evallock.server._auth import require
from evallock.server._budget import read_within_budget
from evallock.server._errors import ApiError, json_response
from evallock.server._limits import accepted_media_type
from evallock.server._state import server_state

__all__ = ["DROPPED", "count_data_points", "router"]

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
DROPPED = (
    "evallock stores traces, not metrics: these data points were dropped (tokens, latency"
    " and errors are read from the spans); set OTEL_METRICS_EXPORTER=none to stop sending them"
)
"""The reason every metrics answer gives."""
_KINDS = ("gauge", "sum", "histogram", "exponentialHistogram", "summary")

router = APIRouter(tags=["ingest"])


@router.post(
    "/v1/metrics",
    summary="OTLP/HTTP metric export: counted and dropped (evallock keeps traces)",
    dependencies=[Depends(require("ingest"))],
    responses={
        200: {"description": "Dropped: `partialSuccess` gives the data points and the reason."},
        400: {"description": "Undecodable body."},
        415: {"description": "Content type other than protobuf or JSON."},
    },
)
async def ingest_metrics(request: Request) -> Response:
    """Count an ``ExportMetricsServiceRequest``'s data points and answer that they were dropped."""
    state = server_state(request)
    content_type = accepted_media_type(request, PROTOBUF, JSON)
    with state.budget.reserve() as held:
        body = await read_within_budget(request, held, limit=state.settings.max_body_bytes)
        try:
            points = count_data_points(body, content_type)
        except ValueError as exc:
            raise ApiError(400, f"undecodable metrics export: {exc}") from None
    state.metrics.metric_points_dropped += points
    if content_type == JSON:
        return json_response(
            {"partialSuccess": {"rejectedDataPoints": str(points), "errorMessage": DROPPED}}
        )
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as metrics_pb

    answer = metrics_pb.ExportMetricsServiceResponse()
    answer.partial_success.rejected_data_points = points
    answer.partial_success.error_message = DROPPED
    return Response(bytes(answer.SerializeToString()), media_type=PROTOBUF)


def count_data_points(body: bytes, content_type: str) -> int:
    """The data points of an OTLP metrics export (protobuf or JSON).

    Raises:
        ValueError: the body is not an export request.

    >>> count_data_points(b'{"resourceMetrics": [{"scopeMetrics": [{"metrics": ['
    ...     b'{"name": "x", "sum": {"dataPoints": [{}, {}]}}]}]}]}', "application/json")
    2
    """
    if content_type == JSON:
        return _count_json(body)
    from google.protobuf.message import DecodeError  # type: ignore[import-untyped]
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as metrics_pb

    export = metrics_pb.ExportMetricsServiceRequest()
    try:
        export.ParseFromString(body)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise ValueError(f"not an ExportMetricsServiceRequest: {exc}") from None
    points = 0
    for resource in export.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                kind = metric.WhichOneof("data")
                if kind is not None:
                    points += len(getattr(metric, kind).data_points)
    return points


def _count_json(body: bytes) -> int:
    try:
        export = orjson.loads(body)
        check_depth("body", export, MAX_DEPTH)
    except (orjson.JSONDecodeError, ValueError) as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(export, dict):
        raise ValueError("not an ExportMetricsServiceRequest object")
    points = 0
    for resource in _list(export.get("resourceMetrics")):
        for scope in _list(_dict(resource).get("scopeMetrics")):
            for metric in _list(_dict(scope).get("metrics")):
                for kind in _KINDS:
                    points += len(_list(_dict(_dict(metric).get(kind)).get("dataPoints")))
    return points


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
