"""Traces: OTLP ingest (protobuf and JSON), GenAI and OpenInference mapping, imports.

Every way a production request reaches evallock ends as one
:class:`evallock.records.Trace` summary per trace id, with the shared keys filled
from what the request carried (never invented), and ratings as
:class:`evallock.records.Feedback`::

    batch = decode_otlp_traces(body, "application/x-protobuf")
    store.traces.add(batch.traces)
    store.feedback.add(batch.feedback)
"""

from __future__ import annotations

from evallock.traces._batch import (
    FeedbackError,
    OtlpContentTypeError,
    OtlpDecodeError,
    TraceBatch,
    TraceFile,
    UnknownSpanError,
)
from evallock.traces._chat import trace_from_chat
from evallock.traces._decode import decode_otlp_logs, decode_otlp_traces
from evallock.traces._feedback import annotated_spans, parse_feedback, parse_feedback_items
from evallock.traces._files import read_trace_file
from evallock.traces._ids import new_trace_id, normalise_trace_id
from evallock.traces._responses import ResponsesAnswer, responses_answer, responses_messages
from evallock.traces._tools import tool_call, tool_calls_in

__all__ = [
    "FeedbackError",
    "OtlpContentTypeError",
    "OtlpDecodeError",
    "ResponsesAnswer",
    "TraceBatch",
    "TraceFile",
    "UnknownSpanError",
    "annotated_spans",
    "decode_otlp_logs",
    "decode_otlp_traces",
    "new_trace_id",
    "normalise_trace_id",
    "parse_feedback",
    "parse_feedback_items",
    "read_trace_file",
    "responses_answer",
    "responses_messages",
    "tool_call",
    "tool_calls_in",
    "trace_from_chat",
]
