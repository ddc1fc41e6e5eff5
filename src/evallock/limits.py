"""Field limits: the largest value every text field, number and nesting may take.

One table of limits holds on every path that writes (OTLP, the proxy, feedback,
JSONL import, the review API) and on both stores alike: SQLite would store a
9 KB key value where PostgreSQL's index refuses it, so the limits are checked
here, before a row reaches either. A value past its limit is refused whole with
:class:`FieldLimitError`, which names the field (HTTP 422, exit 2); nothing is
truncated and nothing half-written.

=====================  =============  ====================================================
what                   limit          why
=====================  =============  ====================================================
key name               64 chars       the shared keys and ``extra`` names are identifiers
key value              256 chars      an index entry (PostgreSQL btree rows stop at 2.7 KB)
keys per record        64             ``extra`` is for slices, not for payloads
id                     256 chars      feedback, candidate, case and span ids
short text             16,384 chars   comments, reasons, notes, rating names, errors
model name             256 chars      as a key value
text                   1,048,576      a trace's input and output, a case's expected answer
                       chars
JSON nesting           32 levels      feedback and metadata objects
=====================  =============  ====================================================
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import orjson

from evallock.errors import UsageError
from evallock.records import Feedback, ToolCall, Trace

__all__ = [
    "MAX_DEPTH",
    "MAX_ID",
    "MAX_KEYS",
    "MAX_KEY_NAME",
    "MAX_KEY_VALUE",
    "MAX_NUMBER",
    "MAX_SESSION_TRACES",
    "MAX_SHORT_TEXT",
    "MAX_TEXT",
    "MAX_TOOLS",
    "MAX_TOOL_CALLS",
    "FieldLimitError",
    "check_depth",
    "check_feedback",
    "check_finite",
    "check_keys",
    "check_text",
    "check_tool_calls",
    "check_trace",
    "check_vars",
]

MAX_KEY_NAME = 64
"""Longest key name, in characters."""
MAX_KEY_VALUE = 256
"""Longest key value (and model name), in characters."""
MAX_KEYS = 64
"""Most keys (shared and ``extra``) on one record."""
MAX_ID = 256
"""Longest id (feedback, candidate, case, span), in characters."""
MAX_SHORT_TEXT = 16_384
"""Longest comment, reason, note or error text, in characters."""
MAX_TEXT = 1_048_576
"""Longest input, output or expected answer, in characters."""
MAX_DEPTH = 32
"""Deepest nesting of a JSON value (objects and arrays) inside a payload."""
MAX_NUMBER = 1e300
"""Largest magnitude of a stored number (latency, cost, score)."""
MAX_TOOL_CALLS = 256
"""Most tool calls kept on one trace."""
MAX_TOOLS = 128
"""Most tool definitions one request (or case) offers the model."""
MAX_SESSION_TRACES = 256
"""Most traces of one session read as a conversation (its newest)."""


class FieldLimitError(UsageError):
    """A value past its documented limit; ``field`` names it (HTTP 422, exit 2)."""

    def __init__(self, field: str, reason: str) -> None:
        """Name the field and say what is wrong with it."""
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def check_text(field: str, value: str | None, limit: int) -> None:
    """Refuse a string longer than ``limit`` characters.

    >>> check_text("comment", "ok", 10)
    >>> check_text("comment", "x" * 11, 10)
    Traceback (most recent call last):
    ...
    evallock.limits.FieldLimitError: comment: 11 characters, more than the limit of 10
    """
    if value is not None and len(value) > limit:
        raise FieldLimitError(field, f"{len(value)} characters, more than the limit of {limit:,}")


def check_keys(field: str, keys: Mapping[str, Any]) -> None:
    """Refuse too many keys, or a key name or value past its limit.

    >>> check_keys("keys", {"intent": "refund"})
    >>> check_keys("keys", {"intent": "x" * 300})
    Traceback (most recent call last):
    ...
    evallock.limits.FieldLimitError: keys.intent: 300 characters, more than the limit of 256
    """
    if len(keys) > MAX_KEYS:
        raise FieldLimitError(field, f"{len(keys)} keys, more than the limit of {MAX_KEYS}")
    for name, value in keys.items():
        text = str(name)
        if len(text) > MAX_KEY_NAME:
            raise FieldLimitError(
                field,
                f"a key name of {len(text)} characters, more than the limit of {MAX_KEY_NAME}",
            )
        if isinstance(value, str):
            check_text(f"{field}.{text}", value, MAX_KEY_VALUE)


def check_finite(
    field: str, value: float | None, *, low: float = -MAX_NUMBER, high: float = MAX_NUMBER
) -> None:
    """Refuse NaN, an infinity, or a number outside ``[low, high]``.

    >>> check_finite("score", 0.5)
    >>> check_finite("score", float("inf"))
    Traceback (most recent call last):
    ...
    evallock.limits.FieldLimitError: score: inf is not a finite number in [-1e+300, 1e+300]
    """
    if value is None:
        return
    if not math.isfinite(value) or not low <= value <= high:
        raise FieldLimitError(field, f"{value!r} is not a finite number in [{low:g}, {high:g}]")


def check_depth(field: str, value: Any, limit: int = MAX_DEPTH) -> None:
    """Refuse a JSON value (dicts and lists) nested deeper than ``limit`` levels.

    Walks without recursion, so a hostile 100,000-level value costs no stack.

    >>> check_depth("metadata", {"a": [1, {"b": 2}]})
    >>> check_depth("metadata", [[[1]]], limit=2)
    Traceback (most recent call last):
    ...
    evallock.limits.FieldLimitError: metadata: nested more than 2 levels deep
    """
    if not isinstance(value, dict | list | tuple):
        return
    try:
        encoded = orjson.dumps(value)
    except (orjson.JSONEncodeError, TypeError):
        encoded = None  # not plain JSON, or past orjson's own depth: walk it
    # The fast path: a value with no more brackets than the limit cannot nest deeper.
    if encoded is not None and encoded.count(b"[") + encoded.count(b"{") <= limit:
        return
    # Only containers go on the stack: a list of 100,000 strings costs one pass, no tuples.
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise FieldLimitError(field, f"nested more than {limit} levels deep")
        for child in item.values() if isinstance(item, dict) else item:
            if isinstance(child, dict | list | tuple):
                stack.append((child, depth + 1))


def check_trace(trace: Trace, *, field: str = "") -> None:
    """Refuse a trace summary with any field past its limit (``field`` prefixes the names).

    Every path that writes traces calls this before the row is queued, and the
    store again before it is written, so both stores refuse the same rows.
    """
    if _plainly_within(trace):
        return
    check_text(field + "trace_id", trace.trace_id, MAX_ID)
    check_text(field + "input", trace.input, MAX_TEXT)
    check_text(field + "output", trace.output, MAX_TEXT)
    check_text(field + "model", trace.model, MAX_KEY_VALUE)
    check_text(field + "error", trace.error, MAX_SHORT_TEXT)
    check_text(field + "source", trace.source, MAX_KEY_VALUE)
    check_keys(field + "keys", trace.keys)
    for name in ("latency_ms", "ttft_ms", "cost"):
        check_finite(field + name, getattr(trace, name))
    for name in ("tokens_in", "tokens_out"):
        value = getattr(trace, name)
        # The token columns are 32-bit integers on both stores.
        if value is not None and not 0 <= value < 2**31:
            raise FieldLimitError(field + name, f"{value} is not a count in [0, 2^31)")
    if trace.messages is not None:
        check_depth(field + "messages", trace.messages)
    check_vars(field + "vars", trace.vars)
    check_tool_calls(field + "tool_calls", trace.tool_calls)
    if len(trace.tools) > MAX_TOOLS:
        raise FieldLimitError(field + "tools", f"{len(trace.tools)} tools; at most {MAX_TOOLS}")
    check_depth(field + "tools", trace.tools)


def check_tool_calls(field: str, calls: list[ToolCall]) -> None:
    """Refuse more than :data:`MAX_TOOL_CALLS` calls, or a call with a field past its limit:
    the name :data:`MAX_KEY_VALUE`, the id :data:`MAX_ID`, arguments and result
    :data:`MAX_TEXT` characters."""
    if len(calls) > MAX_TOOL_CALLS:
        raise FieldLimitError(field, f"{len(calls)} tool calls; at most {MAX_TOOL_CALLS}")
    for index, call in enumerate(calls):
        where = f"{field}[{index}]."
        check_text(where + "name", call.name, MAX_KEY_VALUE)
        check_text(where + "id", call.id, MAX_ID)
        check_text(where + "arguments", call.arguments, MAX_TEXT)
        check_text(where + "result", call.result, MAX_TEXT)


def _plainly_within(trace: Trace) -> bool:
    """True when every field of ``trace`` is well within its limit (the hot path: one
    pass of comparisons); False sends it through the checks that name the field."""
    if len(trace.trace_id) > MAX_ID or len(trace.source) > MAX_KEY_VALUE:
        return False
    for text, limit in (
        (trace.input, MAX_TEXT),
        (trace.output, MAX_TEXT),
        (trace.model, MAX_KEY_VALUE),
        (trace.error, MAX_SHORT_TEXT),
    ):
        if text is not None and len(text) > limit:
            return False
    for number in (trace.latency_ms, trace.ttft_ms, trace.cost):
        # NaN fails every comparison, so it takes the slow path too.
        if number is not None and not -MAX_NUMBER <= number <= MAX_NUMBER:
            return False
    for count in (trace.tokens_in, trace.tokens_out):
        if count is not None and not 0 <= count < 2**31:
            return False
    keys = trace.keys
    if len(keys) > MAX_KEYS or any(
        len(name) > MAX_KEY_NAME or (isinstance(value, str) and len(value) > MAX_KEY_VALUE)
        for name, value in keys.items()
    ):
        return False
    if trace.vars and not _small_vars(trace.vars):
        return False
    if trace.tool_calls and not _small_calls(trace.tool_calls):
        return False
    if trace.tools and (len(trace.tools) > MAX_TOOLS or not _shallow(trace.tools)):
        return False
    return trace.messages is None or _shallow(trace.messages)


def check_vars(field: str, value: Any) -> None:
    """Refuse template variables that are not a JSON object within the limits: at most
    :data:`MAX_KEYS` names of :data:`MAX_KEY_NAME` characters, nested at most
    :data:`MAX_DEPTH` deep, :data:`MAX_TEXT` characters of JSON in all."""
    if not isinstance(value, dict):
        raise FieldLimitError(field, "expected a JSON object of template variables")
    if len(value) > MAX_KEYS:
        raise FieldLimitError(field, f"{len(value)} variables; at most {MAX_KEYS}")
    for name in value:
        if not isinstance(name, str) or not 0 < len(name) <= MAX_KEY_NAME:
            raise FieldLimitError(field, f"a variable name is empty or past {MAX_KEY_NAME} chars")
    check_depth(field, value)
    try:
        size = len(orjson.dumps(value))
    except (orjson.JSONEncodeError, TypeError) as exc:
        raise FieldLimitError(field, f"not JSON: {exc}") from None
    if size > MAX_TEXT:
        raise FieldLimitError(field, f"{size:,} bytes of JSON; at most {MAX_TEXT:,}")


def _small_vars(value: dict[str, Any]) -> bool:
    try:
        check_vars("vars", value)
    except FieldLimitError:
        return False
    return True


def _small_calls(calls: list[ToolCall]) -> bool:
    try:
        check_tool_calls("tool_calls", calls)
    except FieldLimitError:
        return False
    return True


def _shallow(value: Any) -> bool:
    try:
        encoded = orjson.dumps(value)
    except (orjson.JSONEncodeError, TypeError):
        return False
    return encoded.count(b"[") + encoded.count(b"{") <= MAX_DEPTH


def check_feedback(feedback: Feedback, *, field: str = "") -> None:
    """Refuse feedback with any field past its limit (``field`` prefixes the names)."""
    check_text(field + "id", feedback.feedback_id, MAX_ID)
    check_text(field + "trace_id", feedback.trace_id, MAX_ID)
    check_text(field + "rating", feedback.rating, MAX_KEY_VALUE)
    check_finite(field + "score", feedback.score)
    check_text(field + "comment", feedback.comment, MAX_SHORT_TEXT)
    check_text(field + "source", feedback.source, MAX_KEY_VALUE)
    check_text(field + "author", feedback.author, MAX_KEY_VALUE)
    check_text(field + "name", feedback.name, MAX_KEY_VALUE)
    check_text(field + "session_id", feedback.session_id, MAX_KEY_VALUE)
