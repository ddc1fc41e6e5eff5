"""OTLP decoding: request bodies (protobuf or JSON) to trace summaries and feedback.

The server hands over the body (already gunzipped) and its ``Content-Type``;
what comes back is one :class:`TraceBatch`, ready for the store and for the OTLP
answer (``partialSuccess`` when spans were rejected). Whatever the bytes, the
decoders return a batch or raise :class:`OtlpDecodeError` (HTTP 400) or
:class:`~evallock.limits.FieldLimitError` (HTTP 422): every summary and rating
of the batch is checked against the field limits before it is handed over.
"""

from __future__ import annotations

from evallock.traces._batch import OtlpContentTypeError, TraceBatch
from evallock.traces._logs import summarise_logs
from evallock.traces._otlp_json import logs_from_json, spans_from_json
from evallock.traces._otlp_proto import logs_from_protobuf, spans_from_protobuf
from evallock.traces._summary import summarise_spans

__all__ = ["decode_otlp_logs", "decode_otlp_traces", "is_protobuf"]

_PROTOBUF = frozenset({"application/x-protobuf", "application/protobuf"})
_JSON = frozenset({"application/json"})


def is_protobuf(content_type: str) -> bool:
    """True for protobuf, False for JSON (the answer must use the same content type).

    Raises:
        OtlpContentTypeError: any other media type.
    """
    media = content_type.split(";", 1)[0].strip().lower()
    if media in _PROTOBUF:
        return True
    if media in _JSON:
        return False
    raise OtlpContentTypeError(
        f"unsupported content type {content_type!r}: send application/x-protobuf or "
        "application/json"
    )


def decode_otlp_traces(body: bytes, content_type: str) -> TraceBatch:
    """Decode an ``ExportTraceServiceRequest`` (already gunzipped) into trace summaries.

    Spans with an unusable trace or span id (wrong length, all zero, not hex) are
    rejected one by one and counted; everything else in the request is kept.

    Raises:
        OtlpContentTypeError: neither ``application/x-protobuf`` nor ``application/json``.
        OtlpDecodeError: the body cannot be decoded; the message names the field.
        FieldLimitError: a value past its limit (``field`` names it by its path); the
            whole request is refused.
    """
    protobuf = is_protobuf(content_type)
    decoded = spans_from_protobuf(body) if protobuf else spans_from_json(body)
    summaries = summarise_spans(decoded.spans)
    summaries.check()
    return TraceBatch(
        traces=summaries.traces,
        spans=decoded.received,
        rejected_spans=decoded.rejections.count,
        rejection_message=decoded.rejections.message("span"),
        feedback=summaries.feedback,
        span_traces=summaries.spans,
    )


def decode_otlp_logs(body: bytes, content_type: str) -> TraceBatch:
    """Decode an ``ExportLogsServiceRequest`` of GenAI events into feedback and summaries.

    ``gen_ai.evaluation.result`` events become feedback; the per-message events
    of the older conventions (and ``gen_ai.client.inference.operation.details``)
    fill the input and output of their trace. Other log records are accepted and
    ignored. ``spans`` and ``rejected_spans`` count log records here.

    Raises:
        OtlpContentTypeError: neither ``application/x-protobuf`` nor ``application/json``.
        OtlpDecodeError: the body cannot be decoded; the message names the field.
        FieldLimitError: a value past its limit (``field`` names it by its path); the
            whole request is refused.
    """
    protobuf = is_protobuf(content_type)
    decoded = logs_from_protobuf(body) if protobuf else logs_from_json(body)
    summaries = summarise_logs(decoded.logs, decoded.rejections)
    summaries.check()
    return TraceBatch(
        traces=summaries.traces,
        spans=decoded.received,
        rejected_spans=decoded.rejections.count,
        rejection_message=decoded.rejections.message("log record"),
        feedback=summaries.feedback,
        span_traces=summaries.spans,
    )
