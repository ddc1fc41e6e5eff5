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
    UnknownSessionError,
    UnknownSpanError,
    UnknownTargetError,
)
from evallock.traces._chat import trace_from_chat
from evallock.traces._decode import decode_otlp_logs, decode_otlp_traces
from evallock.traces._feedback import (
    annotated_spans,
    parse_feedback,
    parse_feedback_items,
    rated_sessions,
)
from evallock.traces._files import read_trace_file
from evallock.traces._ids import new_trace_id, normalise_trace_id
from evallock.traces._messages import message_text
from evallock.traces._responses import ResponsesAnswer, responses_answer, responses_messages
from evallock.traces._sessions import session_transcript, user_texts
from evallock.traces._tools import tool_call, tool_calls_in, tool_results_in

__all__ = [
    "FeedbackError",
    "OtlpContentTypeError",
    "OtlpDecodeError",
    "ResponsesAnswer",
    "TraceBatch",
    "TraceFile",
    "UnknownSessionError",
    "UnknownSpanError",
    "UnknownTargetError",
    "annotated_spans",
    "decode_otlp_logs",
    "decode_otlp_traces",
    "message_text",
    "new_trace_id",
    "normalise_trace_id",
    "parse_feedback",
    "parse_feedback_items",
    "rated_sessions",
    "read_trace_file",
    "responses_answer",
    "responses_messages",
    "session_transcript",
    "tool_call",
    "tool_calls_in",
    "tool_results_in",
    "trace_from_chat",
    "user_texts",
]
