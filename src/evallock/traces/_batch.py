"""Decode results: what one OTLP request or one trace file turned into, and decode errors.

A :class:`TraceBatch` is the answer to one ``/v1/traces`` (or ``/v1/logs``) request:
trace summaries ready for :meth:`evallock.store.Store.add_traces`, feedback ready for
:meth:`~evallock.store.Store.add_feedback`, and the counts the server reports back
as OTLP partial success. Errors::

    ValueError
    └── OtlpDecodeError           the body cannot be used at all (HTTP 400, reason in the message)
        └── OtlpContentTypeError  a content type that is neither protobuf nor JSON (HTTP 415)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from evallock.records import Feedback, Trace

__all__ = ["OtlpContentTypeError", "OtlpDecodeError", "TraceBatch", "TraceFile"]


class OtlpDecodeError(ValueError):
    """An OTLP body that cannot be decoded; the message names what is wrong and where."""


class OtlpContentTypeError(OtlpDecodeError):
    """A content type other than ``application/x-protobuf`` or ``application/json``."""


@dataclass(frozen=True, kw_only=True, slots=True)
class TraceBatch:
    """The trace summaries and feedback decoded from one OTLP request."""

    traces: list[Trace] = field(default_factory=list)
    """One summary per trace id in the request, keys filled."""
    spans: int = 0
    """Spans (for logs: log records) received."""
    rejected_spans: int = 0
    """Spans (log records) that could not be used: OTLP partial success."""
    rejection_message: str = ""
    """Why they were rejected, in one line; empty when none were."""
    feedback: list[Feedback] = field(default_factory=list)
    """Ratings carried in the request (evaluation events, OpenInference annotations)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class TraceFile:
    """The traces and feedback of one imported trace file."""

    traces: list[Trace] = field(default_factory=list)
    """One summary per trace, in file order."""
    feedback: list[Feedback] = field(default_factory=list)
    """Ratings given in the file (``"feedback": "down"`` on a JSONL line)."""
