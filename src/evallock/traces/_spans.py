"""Decoded spans: the one shape both OTLP encodings are read into before mapping.

The protobuf and JSON readers differ only in how they walk the wire format; both
produce these plain objects (ids as lower-case hex, times in Unix nanoseconds,
attributes as Python values), so every mapping rule exists once and the two
encodings of the same export give the same traces. Attribute values are ``str``,
``bool``, ``int``, ``float``, ``bytes``, ``list`` (array) or ``dict`` (kvlist).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "MAX_FIXED64",
    "MAX_TIME_NS",
    "STATUS_ERROR",
    "Decoded",
    "LogEvent",
    "Rejections",
    "Span",
    "SpanEvent",
    "reject_times",
    "time_problem",
]

STATUS_ERROR = 2
"""OTLP ``Status.code`` of a failed span."""
MAX_TIME_NS = 253_402_300_799 * 10**9
"""The last Unix nanosecond a datetime can hold (9999-12-31T23:59:59Z); later is garbage."""


MAX_FIXED64 = 2**64 - 1
"""The last Unix nanosecond OTLP's ``fixed64`` times carry (2554-07-21T23:34:33Z)."""
_LAST_NS = min(MAX_TIME_NS, MAX_FIXED64)


def time_problem(unix_ns: int, *, required: bool = False) -> str | None:
    """What is wrong with a time in Unix nanoseconds, or None when it is usable.

    Usable: what a protobuf ``fixed64`` carries and a datetime holds. Zero is
    OTLP's "not set": a problem only when the time is ``required``.

    >>> time_problem(2**64)
    'out of range'
    >>> time_problem(0, required=True)
    'missing'
    """
    if unix_ns == 0:
        return "missing" if required else None
    return None if 0 < unix_ns <= _LAST_NS else "out of range"


@dataclass(slots=True)
class SpanEvent:
    """A span event (``exception``, or a GenAI message event of the older conventions)."""

    name: str
    time_ns: int
    attributes: dict[str, Any]


@dataclass(slots=True)
class Span:
    """One span, encoding-neutral."""

    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    resource: dict[str, Any]
    """The attributes of the span's resource (one dict shared by its spans)."""
    events: list[SpanEvent] = field(default_factory=list)
    linked_trace_ids: list[str] = field(default_factory=list)
    status_code: int = 0
    status_message: str = ""
    where: str = ""
    """Where the span sits in the request (``resourceSpans[0].scopeSpans[0].spans[3]``)."""


@dataclass(slots=True)
class LogEvent:
    """One log record, encoding-neutral; GenAI events are log records with an event name."""

    name: str
    """``eventName`` (or the deprecated ``event.name`` attribute); empty for plain logs."""
    time_ns: int
    trace_id: str
    """Empty when the record carries no (valid) trace id."""
    span_id: str
    attributes: dict[str, Any]
    body: Any
    resource: dict[str, Any]
    where: str
    """Where the record sits in the request (``resourceLogs[0].scopeLogs[0].logRecords[3]``)."""


class Rejections:
    """Spans (or log records) that could not be used, and the first few reasons why."""

    shown = 3
    """How many distinct reasons the message spells out."""

    def __init__(self) -> None:
        self.count = 0
        self.reasons: list[str] = []

    def add(self, reason: str) -> None:
        """Count one rejected item and keep its reason."""
        self.count += 1
        if len(self.reasons) < self.shown and reason not in self.reasons:
            self.reasons.append(reason)

    def message(self, noun: str = "span") -> str:
        """One line for OTLP partial success; empty when nothing was rejected."""
        if not self.count:
            return ""
        plural = noun if self.count == 1 else f"{noun}s"
        more = "; …" if self.count > len(self.reasons) else ""
        return f"{self.count} {plural} rejected: " + "; ".join(self.reasons) + more


@dataclass(slots=True)
class Decoded:
    """What a reader got out of one request body."""

    received: int = 0
    """Spans (or log records) in the body, used or not."""
    spans: list[Span] = field(default_factory=list)
    logs: list[LogEvent] = field(default_factory=list)
    rejections: Rejections = field(default_factory=Rejections)


def reject_times(rejections: Rejections, where: str, *times: tuple[str, int, bool]) -> bool:
    """Reject an item when one of its ``(field, unix_ns, required)`` times is unusable.

    Returns:
        True when it was rejected (the reason, naming the field, is in ``rejections``).
    """
    for name, value, required in times:
        problem = time_problem(value, required=required)
        if problem is not None:
            rejections.add(f"{where}.{name} is {problem}")
            return True
    return False
