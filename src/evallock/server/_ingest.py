"""OTLP/HTTP ingest: ``POST /v1/traces`` and ``POST /v1/logs``, protobuf or JSON, gzip.

Langfuse's SDK exports its spans to ``POST /api/public/otel/v1/traces`` with Basic
auth (``public_key:secret_key``): that path is the same route, and a secret key that
is an evallock key authenticates it (``_auth.basic_secret``).

The route takes the body's bytes from the decode budget (``_budget.py``), reads
the body within the size limit (undoing gzip under the same cap), decodes it
with :mod:`evallock.traces`, hands the summaries to the writer and answers only
once they are committed. Answers follow the OTLP spec:

- 200 with an empty ``Export…ServiceResponse`` when everything was used, or with
  ``partial_success`` (rejected count and reason) when some spans were not;
- 400 with a ``google.rpc.Status`` naming what is wrong for an undecodable body
  (nothing of it is stored), whatever the decoder raised; 413 above the limit;
  415 for another content type; 422 naming the field for a value past its limit
  (``evallock.limits``);
- 429 with ``Retry-After`` when other requests hold the decode budget, and 503
  with ``Retry-After`` when the store cannot take the rows now (both retryable).

Responses use the request's content type, as the spec requires.
"""

from __future__ import annotations

from collections.abc import Callable

import anyio.to_thread
from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from evallock.limits import FieldLimitError
from evallock.server._auth import require
from evallock.server._budget import read_within_budget
from evallock.server._errors import (
    BODY_ERRORS,
    ApiError,
    json_response,
    limit_error,
    store_failure,
    undecodable,
)
from evallock.server._limits import accepted_media_type
from evallock.server._state import ServerState, server_state
from evallock.server._writer import WriterBusy, WriterClosed
from evallock.traces import (
    OtlpContentTypeError,
    OtlpDecodeError,
    TraceBatch,
    decode_otlp_logs,
    decode_otlp_traces,
)

__all__ = ["export_response", "router"]

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
_INLINE_DECODE_BYTES = 64 * 1024  # smaller bodies decode faster than a thread hop costs
_BODY_DOC = {
    "requestBody": {
        "required": True,
        "description": "An OTLP export request; `Content-Encoding: gzip` or `deflate` allowed.",
        "content": {
            PROTOBUF: {"schema": {"type": "string", "format": "binary"}},
            JSON: {"schema": {"type": "object"}},
        },
    }
}
_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"description": "Committed; `partialSuccess` says how many spans were unusable."},
    400: {"description": "Undecodable body: a `google.rpc.Status` naming the problem."},
    401: {"description": "No valid API key."},
    403: {"description": "The key's scope is not `ingest` or `admin`."},
    413: {"description": "Body larger than the limit (as sent or decompressed)."},
    415: {"description": "Content type other than protobuf or JSON."},
    422: {"description": "A value past its documented limit; the message names the field."},
    429: {"description": "Other requests are decoding; retry after `Retry-After`."},
    503: {"description": "The store cannot take the rows now; retry after `Retry-After`."},
}

router = APIRouter(tags=["ingest"])
Decoder = Callable[[bytes, str], TraceBatch]


@router.post(
    "/v1/traces",
    summary="OTLP/HTTP trace export",
    dependencies=[Depends(require("ingest"))],
    openapi_extra=_BODY_DOC,
    responses=_RESPONSES,
)
@router.post(
    "/api/public/otel/v1/traces",
    summary="OTLP/HTTP trace export, at Langfuse's path (Basic auth, secret key = an evallock key)",
    dependencies=[Depends(require("ingest"))],
    openapi_extra=_BODY_DOC,
    responses=_RESPONSES,
)
async def ingest_traces(request: Request) -> Response:
    """Store the trace summaries of an ``ExportTraceServiceRequest``."""
    return await _ingest(request, decode_otlp_traces, logs=False)


@router.post(
    "/v1/logs",
    summary="OTLP/HTTP log export (GenAI events, evaluation results)",
    dependencies=[Depends(require("ingest"))],
    openapi_extra=_BODY_DOC,
    responses=_RESPONSES,
)
async def ingest_logs(request: Request) -> Response:
    """Store what an ``ExportLogsServiceRequest`` carries: GenAI events and evaluation results."""
    return await _ingest(request, decode_otlp_logs, logs=True)


async def _ingest(request: Request, decode: Decoder, *, logs: bool) -> Response:
    state = server_state(request)
    content_type = accepted_media_type(request, PROTOBUF, JSON)
    with state.budget.reserve() as held:
        body = await read_within_budget(request, held, limit=state.settings.max_body_bytes)
        batch = await _decode(decode, body, content_type)
        del body  # the summaries are what the commit needs
        await _commit(state, batch)
    state.metrics.spans_received += batch.spans
    state.metrics.spans_rejected += batch.rejected_spans
    return _success(batch, content_type, logs=logs)


async def _decode(decode: Decoder, body: bytes, content_type: str) -> TraceBatch:
    try:
        if len(body) <= _INLINE_DECODE_BYTES:
            return decode(body, content_type)
        return await anyio.to_thread.run_sync(decode, body, content_type)
    except OtlpContentTypeError as exc:
        raise ApiError(415, str(exc)) from None
    except FieldLimitError as exc:
        raise limit_error(exc) from None
    except OtlpDecodeError as exc:
        raise ApiError(400, str(exc)) from None
    except BODY_ERRORS as exc:
        # The decoders name what is wrong; this is the net under them, so no body a
        # client sends is ever a 500.
        raise undecodable(exc) from None


async def _commit(state: ServerState, batch: TraceBatch) -> None:
    try:
        await state.writer.write(
            traces=batch.traces, feedback=batch.feedback, spans=batch.span_traces
        )
    except WriterBusy as exc:
        raise ApiError(503, f"busy: {exc}; retry shortly", headers={"Retry-After": "1"}) from None
    except WriterClosed:
        raise ApiError(503, "shutting down; retry shortly", headers={"Retry-After": "1"}) from None
    except Exception as exc:
        # Logged and counted by the writer. 503 is retryable in OTLP, 400 is not.
        raise store_failure(exc, "the spans") from None


def _success(batch: TraceBatch, content_type: str, *, logs: bool) -> Response:
    partial = batch.rejected_spans > 0 or bool(batch.rejection_message)
    if content_type == JSON:
        if not partial:
            return json_response({})
        count = "rejectedLogRecords" if logs else "rejectedSpans"
        body = {
            "partialSuccess": {
                count: str(batch.rejected_spans),
                "errorMessage": batch.rejection_message,
            }
        }
        return json_response(body)
    return Response(export_response(batch, partial, logs=logs), media_type=PROTOBUF)


def export_response(batch: TraceBatch, partial: bool, *, logs: bool) -> bytes:
    """The protobuf ``Export…ServiceResponse`` for a committed batch (HTTP and gRPC alike)."""
    if logs:
        from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as logs_pb

        log_response = logs_pb.ExportLogsServiceResponse()
        if partial:
            log_response.partial_success.rejected_log_records = batch.rejected_spans
            log_response.partial_success.error_message = batch.rejection_message
        return bytes(log_response.SerializeToString())
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace_pb

    response = trace_pb.ExportTraceServiceResponse()
    if partial:
        response.partial_success.rejected_spans = batch.rejected_spans
        response.partial_success.error_message = batch.rejection_message
    return bytes(response.SerializeToString())
