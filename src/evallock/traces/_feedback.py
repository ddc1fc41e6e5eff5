"""Feedback payloads: our shape, Langfuse scores and Phoenix annotations, as one record.

``POST /v1/feedback`` accepts what users already send (interop §8.5):

* ours: ``{"trace_id", "rating": "up"|"down"|number, "comment"?, "id"?}``;
* a Langfuse score: ``{"traceId", "name", "value", "dataType"?, "comment"?, "id"?}``;
* a Phoenix annotation: ``{"trace_id", "name", "annotator_kind", "result": {"label"?,
  "score"?, "explanation"?}, "identifier"?}``, alone or as ``{"data": [...]}``; a span
  annotation names ``span_id`` instead of ``trace_id`` and rates the span's trace.

A rating may be of a whole session (conversation): ``session_id`` (Langfuse:
``sessionId``; Phoenix's session annotations) names it. Without a trace id it is
filed on the session's newest trace (the ids :func:`rated_sessions` lists, looked
up in the store first), and ``session_id`` marks it as the session's.

Thumbs come out as ``rating`` ``up``/``down`` (score 1/0), numbers as their text.
A payload without an id gets one derived from its content, so a retried request
is stored once.

Whatever JSON value it is given, a parser returns feedback or raises
:class:`FeedbackError` (a ``ValueError``: no shape fits, HTTP 400) or
:class:`~evallock.limits.FieldLimitError` (a value past its limit: an id of more
than 256 characters, nesting deeper than 32 levels; HTTP 422), the field first.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from evallock.limits import (
    MAX_ID,
    MAX_KEY_VALUE,
    MAX_NUMBER,
    MAX_SHORT_TEXT,
    check_depth,
    check_feedback,
    check_text,
)
from evallock.records import Feedback
from evallock.traces._batch import (
    FeedbackError,
    UnknownSessionError,
    UnknownSpanError,
    located,
    shown,
)
from evallock.traces._ids import id_from_text, normalise_trace_id

__all__ = [
    "annotated_spans",
    "feedback_id_of",
    "parse_feedback",
    "parse_feedback_items",
    "rated_sessions",
    "rating_of",
]

_SESSION_FIELDS = ("session_id", "sessionId")
_TRACE_FIELDS = ("trace_id", "traceId")

_UP = frozenset(
    {"up", "thumbs_up", "thumbsup", "thumbs-up", "thumbs up", "👍", "positive", "like", "good"}
)
_DOWN = frozenset(
    {
        "down",
        "thumbs_down",
        "thumbsdown",
        "thumbs-down",
        "thumbs down",
        "👎",
        "negative",
        "dislike",
        "bad",
    }
)


def feedback_id_of(*parts: Any) -> str:
    """A deterministic feedback id: ``fb-`` and 32 hex digits of the parts' hash.

    Raises:
        FieldLimitError: the parts are nested deeper than ``MAX_DEPTH``.
    """
    try:
        data = orjson.dumps(parts, option=orjson.OPT_SORT_KEYS, default=str)
    except orjson.JSONEncodeError:
        # Integers past 64 bits or keys that are not strings (Python callers): spelled out.
        check_depth("feedback", parts)
        data = orjson.dumps(_canonical(parts), option=orjson.OPT_SORT_KEYS, default=str)
    return "fb-" + hashlib.sha256(data).hexdigest()[:32]


def _canonical(value: Any) -> Any:
    """``value`` with what orjson cannot write (huge ints, non-string keys) as text."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**64 else f"int:{value:x}"
    if isinstance(value, Mapping):
        return {
            (k if isinstance(k, str) else str(_canonical(k))): _canonical(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    return value


def _number_text(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise FeedbackError(f"{field}: expected a number, got {shown(value)}")
    try:
        number = float(value)
    except OverflowError:  # an int past 1.8e308
        number = math.inf
    except ValueError:
        raise FeedbackError(f"{field}: expected a number, got {shown(value)}") from None
    if not math.isfinite(number) or abs(number) > MAX_NUMBER:
        raise FeedbackError(
            f"{field}: expected a finite number in [-1e300, 1e300], got {shown(value)}"
        )
    return number


def rating_of(label: Any, score: Any, field: str) -> tuple[str, float | None]:
    """``(rating, score)`` from a label and/or a score; thumbs labels become up/down.

    Raises:
        FeedbackError: neither is given, or the score is not a finite number in
            ``[-MAX_NUMBER, MAX_NUMBER]``.
    """
    number = None if score is None else _number(score, field)
    if isinstance(label, bool):
        label = "up" if label else "down"
    if label is not None and not isinstance(label, str):
        raise FeedbackError(f"{field}: expected a label string, got {shown(label)}")
    thumbs = label.strip().lower() if label else ""
    if thumbs in _UP:
        return "up", 1.0 if number is None else number
    if thumbs in _DOWN:
        return "down", 0.0 if number is None else number
    if number is not None:
        return _number_text(number), number
    if label:
        return label, None
    raise FeedbackError(f"{field}: missing (a rating needs a score or a label)")


def _trace_id(payload: Mapping[str, Any], field: str) -> str:
    value = payload.get(field)
    if value is None or value == "":
        others = [k for k in ("span_id", "observationId") if payload.get(k)]
        hint = f" ({others[0]} alone is not enough: feedback is linked by trace)" if others else ""
        raise FeedbackError(f"{field}: missing{hint}")
    if not isinstance(value, str):
        raise FeedbackError(f"{field}: expected a string of 32 hex digits, got {shown(value)}")
    try:
        return normalise_trace_id(value)
    except ValueError as exc:
        raise FeedbackError(f"{field}: {exc}") from None


def _text(
    payload: Mapping[str, Any], field: str, limit: int, *, name: str | None = None
) -> str | None:
    """The string at ``field`` (None when absent), at most ``limit`` characters long."""
    value = payload.get(field)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise FeedbackError(f"{name or field}: expected a string, got {type(value).__name__}")
    check_text(name or field, value, limit)
    return value


def _given_id(payload: Mapping[str, Any], field: str) -> str | None:
    value = payload.get(field)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise FeedbackError(f"{field}: expected a string, got {shown(value)}")
    if isinstance(value, int) and value.bit_length() > 64:
        raise FeedbackError(f"{field}: expected a string or a 64-bit integer, got a huge int")
    text = str(value)
    check_text(field, text, MAX_ID)
    return text


def _label(value: str, field: str) -> str:
    check_text(field, value, MAX_KEY_VALUE)
    return value


def _session_named(payload: Mapping[str, Any], field: str) -> str | None:
    """The session a rating names at ``field`` (None when it names none)."""
    value = payload.get(field)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise FeedbackError(f"{field}: expected a string, got {shown(value)}")
    check_text(field, value, MAX_KEY_VALUE)
    return value


def _rated(
    payload: Mapping[str, Any], trace_field: str, session_field: str, sessions: Mapping[str, str]
) -> tuple[str, str | None]:
    """``(trace id, session id)`` of what a rating rates: the trace it names, or the newest
    trace of the session it names (from ``sessions``); the session id when it names one.

    Raises:
        UnknownSessionError: it names only a session, and no trace of it has arrived.
    """
    session_id = _session_named(payload, session_field)
    value = payload.get(trace_field)
    if session_id is not None and (value is None or value == ""):
        trace_id = sessions.get(session_id)
        if trace_id is None:
            raise UnknownSessionError(
                f"{session_field}: no trace of session {shown(session_id)} has arrived (a"
                " session rating is filed on the session's newest trace; send it after the"
                f" session's traces, or name {trace_field})"
            )
        return trace_id, session_id
    return _trace_id(payload, trace_field), session_id


def _ours(payload: Mapping[str, Any], sessions: Mapping[str, str]) -> Feedback:
    trace_id, session_id = _rated(payload, "trace_id", "session_id", sessions)
    if "rating" not in payload or payload["rating"] is None:
        raise FeedbackError('rating: missing (expected "up", "down" or a number)')
    raw = payload["rating"]
    if isinstance(raw, str) and raw.strip().lower() not in _UP | _DOWN:
        try:
            raw = float(raw)
        except ValueError:
            expected = 'rating: expected "up", "down" or a number'
            raise FeedbackError(f"{expected}, got {shown(raw)}") from None
    if isinstance(raw, str | bool):
        rating, score = rating_of(raw, None, "rating")
    else:
        rating, score = rating_of(None, raw, "rating")
    return Feedback(
        feedback_id=_given_id(payload, "id") or feedback_id_of("evallock", dict(payload)),
        trace_id=trace_id,
        rating=rating,
        score=score,
        comment=_text(payload, "comment", MAX_SHORT_TEXT),
        source="evallock",
        author=_text(payload, "author", MAX_KEY_VALUE),
        name=_text(payload, "name", MAX_KEY_VALUE) or "user_feedback",
        session_id=session_id,
    )


def _langfuse(payload: Mapping[str, Any], sessions: Mapping[str, str]) -> Feedback:
    trace_id, session_id = _rated(payload, "traceId", "sessionId", sessions)
    name = _text(payload, "name", MAX_KEY_VALUE)
    if name is None:
        raise FeedbackError("name: missing (a Langfuse score needs a name)")
    if "value" not in payload or payload["value"] is None:
        raise FeedbackError("value: missing")
    value = payload["value"]
    kind = (_text(payload, "dataType", MAX_KEY_VALUE) or "").upper()
    if kind == "BOOLEAN" or isinstance(value, bool):
        truth = _number(value, "value") if not isinstance(value, bool) else float(value)
        if truth not in (0.0, 1.0):
            raise FeedbackError(f"value: a BOOLEAN score is 0 or 1, got {shown(value)}")
        rating, score = rating_of("up" if truth else "down", None, "value")
    elif isinstance(value, str) and kind != "NUMERIC":
        rating, score = rating_of(_label(value, "value"), None, "value")
    else:
        rating, score = rating_of(None, value, "value")
    return Feedback(
        feedback_id=_given_id(payload, "id") or feedback_id_of("langfuse", dict(payload)),
        trace_id=trace_id,
        rating=rating,
        score=score,
        comment=_text(payload, "comment", MAX_SHORT_TEXT),
        source="langfuse",
        author=_text(payload, "authorUserId", MAX_KEY_VALUE),
        name=name,
        created_at=_timestamp(payload, "timestamp"),
        session_id=session_id,
    )


def _timestamp(payload: Mapping[str, Any], field: str) -> datetime | None:
    """The score's own time (ISO 8601 with a zone), or None to take the arrival time.

    Raises:
        FeedbackError: not an ISO 8601 time with a time zone.
    """
    value = payload.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 64:
        raise FeedbackError(f"{field}: expected an ISO 8601 time, got {shown(value)}")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise FeedbackError(f"{field}: expected an ISO 8601 time, got {shown(value)}") from None
    if moment.utcoffset() is None:
        raise FeedbackError(f"{field}: {value!r} has no time zone")
    return moment.astimezone(UTC)


def _span_id(payload: Mapping[str, Any]) -> str | None:
    """The span a Phoenix annotation names without naming its trace (16 hex digits), else None."""
    value = payload.get("span_id")
    if payload.get("trace_id") or not isinstance(value, str) or not value:
        return None
    try:
        return id_from_text(value.strip(), 8)
    except ValueError:
        return None


def annotated_spans(payload: Any) -> list[str]:
    """The span ids a feedback body's Phoenix annotations name instead of a trace id: what
    the caller looks up (``store.traces.traces_of_spans``) before :func:`parse_feedback_items`."""
    nodes = payload.get("data") if isinstance(payload, Mapping) else None
    if not isinstance(nodes, list):
        nodes = payload if isinstance(payload, list) else [payload]
    found = []
    for node in nodes:
        if isinstance(node, Mapping) and (span_id := _span_id(node)) is not None:
            found.append(span_id)
    return found


def _phoenix(
    payload: Mapping[str, Any], spans: Mapping[str, str], sessions: Mapping[str, str]
) -> Feedback:
    span_named = _span_id(payload)
    session_id = None
    if span_named is not None:
        trace_id = spans.get(span_named, "")
        if not trace_id:
            raise UnknownSpanError(
                f"span_id: no span {span_named} has arrived here (a span annotation finds its"
                " trace once the span is stored; send it after the span, or name trace_id)"
            )
    else:
        trace_id, session_id = _rated(payload, "trace_id", "session_id", sessions)
    name = _text(payload, "name", MAX_KEY_VALUE)
    if name is None:
        raise FeedbackError("name: missing (a Phoenix annotation needs a name)")
    result = payload.get("result")
    if not isinstance(result, Mapping):
        raise FeedbackError("result: missing (expected {label?, score?, explanation?})")
    label = result.get("label")
    if isinstance(label, str):
        _label(label, "result.label")
    rating, score = rating_of(label, result.get("score"), "result")
    identifier = _given_id(payload, "identifier")
    span_id = payload.get("span_id")
    if identifier is not None:
        # Phoenix updates in place on (name, target, identifier); we keep the first one.
        target = session_id if session_id is not None and not payload.get("trace_id") else trace_id
        feedback_id = feedback_id_of("phoenix", name, target, span_id, identifier)
    else:
        feedback_id = feedback_id_of("phoenix", dict(payload))
    return Feedback(
        feedback_id=feedback_id,
        trace_id=trace_id,
        rating=rating,
        score=score,
        comment=_text(result, "explanation", MAX_SHORT_TEXT, name="result.explanation"),
        source="phoenix",
        author=_text(payload, "annotator_kind", MAX_KEY_VALUE),
        name=name,
        session_id=session_id,
    )


def _parse_one(payload: Any, spans: Mapping[str, str], sessions: Mapping[str, str]) -> Feedback:
    if not isinstance(payload, Mapping):
        raise FeedbackError(f"expected a JSON object, got {type(payload).__name__}")
    for name, value in payload.items():
        # Nested past this, hashing the payload for its id (and storing it) would fail.
        check_depth(name if isinstance(name, str) else "body", value)
    if "annotator_kind" in payload or "result" in payload:
        return _phoenix(payload, spans, sessions)
    if "traceId" in payload or "sessionId" in payload or "dataType" in payload:
        return _langfuse(payload, sessions)
    if "value" in payload and "rating" not in payload:
        return _langfuse(payload, sessions)
    return _ours(payload, sessions)


def rated_sessions(payload: Any) -> list[str]:
    """The sessions a feedback body's items rate without naming a trace: what the caller
    looks up (``store.traces.latest_of_sessions``) before :func:`parse_feedback_items`."""
    nodes = payload.get("data") if isinstance(payload, Mapping) else None
    if not isinstance(nodes, list):
        nodes = payload if isinstance(payload, list) else [payload]
    found = []
    for node in nodes:
        if not isinstance(node, Mapping) or any(node.get(f) for f in _TRACE_FIELDS):
            continue
        if node.get("span_id"):
            continue
        session = next((node.get(f) for f in _SESSION_FIELDS if node.get(f)), None)
        if isinstance(session, str) and len(session) <= MAX_KEY_VALUE:
            found.append(session)
    return found


def parse_feedback_items(
    payload: Mapping[str, Any],
    spans: Mapping[str, str] | None = None,
    sessions: Mapping[str, str] | None = None,
) -> list[Feedback]:
    """Every feedback record of a body; Phoenix's ``{"data": [...]}`` may carry several.

    Every record is checked against the field limits (``check_feedback``) here. A
    Phoenix span annotation (``span_id``, no ``trace_id``) rates the trace ``spans``
    maps its span to (the ids :func:`annotated_spans` lists, looked up in the store); a
    session rating without a trace id rates the trace ``sessions`` maps its session to
    (:func:`rated_sessions`).

    Raises:
        UnknownSpanError: a span annotation names a span not in ``spans``.
        UnknownSessionError: a session rating names a session not in ``sessions``.
        FeedbackError: an item does not fit any shape; the message names the field
            (``data[2].result: …`` for list items).
        FieldLimitError: a value past its limit (``data[2].comment``): the whole
            body is refused.
    """
    data = payload.get("data") if isinstance(payload, Mapping) else None
    if data is None:
        item = _parse_one(payload, spans or {}, sessions or {})
        check_feedback(item)
        return [item]
    if not isinstance(data, list) or not data:
        raise FeedbackError("data: expected a non-empty list of annotations")
    items: list[Feedback] = []
    for index, node in enumerate(data):
        if not isinstance(node, Mapping):
            raise FeedbackError(f"data[{index}]: expected a JSON object, got {type(node).__name__}")
        try:
            with located(f"data[{index}]"):
                item = _parse_one(node, spans or {}, sessions or {})
                check_feedback(item)
        except FeedbackError as exc:
            raise type(exc)(f"data[{index}].{exc}") from None
        items.append(item)
    return items


def parse_feedback(payload: Mapping[str, Any]) -> Feedback:
    """One feedback record from a ``/v1/feedback`` body (our, Langfuse or Phoenix shape).

    Raises:
        FeedbackError: the payload does not fit any shape, or is a ``data`` list of
            more than one item (use :func:`parse_feedback_items`); the message
            starts with the field's name.
        FieldLimitError: a value past its limit.

    >>> parse_feedback({"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "rating": "down"}).score
    0.0
    """
    items = parse_feedback_items(payload)
    if len(items) != 1:
        raise FeedbackError(f"data: {len(items)} items; parse them with parse_feedback_items")
    return items[0]
