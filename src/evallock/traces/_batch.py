"""Decode results: what one OTLP request or one trace file turned into, and decode errors.

A :class:`TraceBatch` is the answer to one ``/v1/traces`` (or ``/v1/logs``) request:
trace summaries ready for :meth:`evallock.store.TraceRepository.add`, feedback ready for
:meth:`evallock.store.FeedbackRepository.add`, and the counts the server reports back
as OTLP partial success. Errors::

    ValueError
    ├── OtlpDecodeError           the body cannot be used at all (HTTP 400, reason in the message)
    │   └── OtlpContentTypeError  a content type that is neither protobuf nor JSON (HTTP 415)
    └── FeedbackError             a feedback payload that fits no shape (HTTP 400, field first)
    UsageError
    └── FieldLimitError           a value past its limit (HTTP 422, exit 2; ``evallock.limits``)

Every public decoder raises only these, whatever bytes it is given: a value past
its limit refuses the whole request, so nothing of it is half-written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import TracebackType

from evallock.limits import FieldLimitError
from evallock.records import Feedback, Trace

__all__ = [
    "FeedbackError",
    "OtlpContentTypeError",
    "OtlpDecodeError",
    "TraceBatch",
    "TraceFile",
    "UnknownSessionError",
    "UnknownSpanError",
    "UnknownTargetError",
    "located",
    "shown",
]


class OtlpDecodeError(ValueError):
    """An OTLP body that cannot be decoded; the message names what is wrong and where."""


class OtlpContentTypeError(OtlpDecodeError):
    """A content type other than ``application/x-protobuf`` or ``application/json``."""


class FeedbackError(ValueError):
    """A feedback payload that fits none of the shapes; the message starts with the field."""


class UnknownTargetError(FeedbackError):
    """A rating names what it rates by a span or a session that has not arrived (HTTP 404,
    as Phoenix answers)."""


class UnknownSpanError(UnknownTargetError):
    """A span annotation names a span that has not arrived."""


class UnknownSessionError(UnknownTargetError):
    """A session rating names a session none of whose traces has arrived."""


def shown(value: object, limit: int = 40) -> str:
    """A value for an error message: its repr, cut short (hostile values are huge).

    >>> shown("x" * 100, limit=8)
    "'xxxxxx…"
    """
    if isinstance(value, str | bytes):
        text = repr(value[: limit + 1])
    elif isinstance(value, int) and value.bit_length() > 128:
        text = "a huge int"  # repr() of more than 4,300 digits is a ValueError
    elif isinstance(value, int | float) or value is None:
        text = repr(value)
    else:
        text = f"a {type(value).__name__}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


class located:
    """Put ``where`` (a path in the request) in front of the field of a limit error.

    A class rather than a ``@contextmanager``: it wraps every span of every
    request, and a generator-based context costs several times more.

    >>> with located("spans[3]"):
    ...     raise FieldLimitError("keys.intent", "too long")
    Traceback (most recent call last):
    ...
    evallock.limits.FieldLimitError: spans[3].keys.intent: too long
    """

    __slots__ = ("where",)

    def __init__(self, where: str) -> None:
        """Name the place errors inside the block come from."""
        self.where = where

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if isinstance(exc, FieldLimitError) and self.where:
            where = self.where
            raise FieldLimitError(
                f"{where}.{exc.field}" if exc.field else where, exc.reason
            ) from None


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
    span_traces: dict[str, str] = field(default_factory=dict)
    """The trace id of every span summarised (span id → trace id), for the store to file."""


@dataclass(frozen=True, kw_only=True, slots=True)
class TraceFile:
    """The traces and feedback of one imported trace file."""

    traces: list[Trace] = field(default_factory=list)
    """One summary per trace, in file order."""
    feedback: list[Feedback] = field(default_factory=list)
    """Ratings given in the file (``"feedback": "down"`` on a JSONL line)."""
    span_traces: dict[str, str] = field(default_factory=dict)
    """The trace id of every OTLP span in the file (span id → trace id)."""
