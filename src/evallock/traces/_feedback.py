"""Feedback payloads: our shape, Langfuse scores and Phoenix annotations, as one record.

``POST /v1/feedback`` accepts what users already send (interop §8.5):

* ours: ``{"trace_id", "rating": "up"|"down"|number, "comment"?, "id"?}``;
* a Langfuse score: ``{"traceId", "name", "value", "dataType"?, "comment"?, "id"?}``;
* a Phoenix annotation: ``{"trace_id", "name", "annotator_kind", "result": {"label"?,
  "score"?, "explanation"?}, "identifier"?}``, alone or as ``{"data": [...]}``.

Thumbs come out as ``rating`` ``up``/``down`` (score 1/0), numbers as their text.
A payload without an id gets one derived from its content, so a retried request
is stored once.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from typing import Any

import orjson

from evallock.records import Feedback
from evallock.traces._ids import normalise_trace_id

__all__ = ["feedback_id_of", "parse_feedback", "parse_feedback_items", "rating_of"]

_UP = frozenset({"up", "thumbs_up", "thumbsup", "thumbs-up", "👍", "positive", "like", "good"})
_DOWN = frozenset(
    {"down", "thumbs_down", "thumbsdown", "thumbs-down", "👎", "negative", "dislike", "bad"}
)


def feedback_id_of(*parts: Any) -> str:
    """A deterministic feedback id: ``fb-`` and 32 hex digits of the parts' hash."""
    data = orjson.dumps(parts, option=orjson.OPT_SORT_KEYS, default=str)
    return "fb-" + hashlib.sha256(data).hexdigest()[:32]


def _number_text(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{field}: expected a number, got {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{field}: expected a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{field}: expected a finite number, got {value!r}")
    return number


def rating_of(label: Any, score: Any, field: str) -> tuple[str, float | None]:
    """``(rating, score)`` from a label and/or a score; thumbs labels become up/down.

    Raises:
        ValueError: neither is given, or the score is not a number.
    """
    number = None if score is None else _number(score, field)
    if isinstance(label, bool):
        label = "up" if label else "down"
    if label is not None and not isinstance(label, str):
        raise ValueError(f"{field}: expected a label string, got {label!r}")
    thumbs = label.strip().lower() if label else ""
    if thumbs in _UP:
        return "up", 1.0 if number is None else number
    if thumbs in _DOWN:
        return "down", 0.0 if number is None else number
    if number is not None:
        return _number_text(number), number
    if label:
        return label, None
    raise ValueError(f"{field}: missing (a rating needs a score or a label)")


def _trace_id(payload: Mapping[str, Any], field: str) -> str:
    value = payload.get(field)
    if value is None or value == "":
        others = [k for k in ("span_id", "observationId", "sessionId") if payload.get(k)]
        hint = f" ({others[0]} alone is not enough: feedback is linked by trace)" if others else ""
        raise ValueError(f"{field}: missing{hint}")
    if not isinstance(value, str):
        raise ValueError(f"{field}: expected a string of 32 hex digits, got {value!r}")
    try:
        return normalise_trace_id(value)
    except ValueError as exc:
        raise ValueError(f"{field}: {exc}") from None


def _text(payload: Mapping[str, Any], field: str) -> str | None:
    value = payload.get(field)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"{field}: expected a string, got {type(value).__name__}")
    return value


def _given_id(payload: Mapping[str, Any], field: str) -> str | None:
    value = payload.get(field)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"{field}: expected a string, got {value!r}")
    return str(value)


def _ours(payload: Mapping[str, Any]) -> Feedback:
    trace_id = _trace_id(payload, "trace_id")
    if "rating" not in payload or payload["rating"] is None:
        raise ValueError('rating: missing (expected "up", "down" or a number)')
    raw = payload["rating"]
    if isinstance(raw, str) and raw.strip().lower() not in _UP | _DOWN:
        try:
            raw = float(raw)
        except ValueError:
            raise ValueError(f'rating: expected "up", "down" or a number, got {raw!r}') from None
    if isinstance(raw, str | bool):
        rating, score = rating_of(raw, None, "rating")
    else:
        rating, score = rating_of(None, raw, "rating")
    return Feedback(
        feedback_id=_given_id(payload, "id") or feedback_id_of("evallock", dict(payload)),
        trace_id=trace_id,
        rating=rating,
        score=score,
        comment=_text(payload, "comment"),
        source="evallock",
        author=_text(payload, "author"),
        name=_text(payload, "name") or "user_feedback",
    )


def _langfuse(payload: Mapping[str, Any]) -> Feedback:
    trace_id = _trace_id(payload, "traceId")
    name = _text(payload, "name")
    if name is None:
        raise ValueError("name: missing (a Langfuse score needs a name)")
    if "value" not in payload or payload["value"] is None:
        raise ValueError("value: missing")
    value = payload["value"]
    kind = str(payload.get("dataType") or "").upper()
    if kind == "BOOLEAN" or isinstance(value, bool):
        truth = _number(value, "value") if not isinstance(value, bool) else float(value)
        if truth not in (0.0, 1.0):
            raise ValueError(f"value: a BOOLEAN score is 0 or 1, got {value!r}")
        rating, score = rating_of("up" if truth else "down", None, "value")
    elif isinstance(value, str) and kind != "NUMERIC":
        rating, score = rating_of(value, None, "value")
    else:
        rating, score = rating_of(None, value, "value")
    return Feedback(
        feedback_id=_given_id(payload, "id") or feedback_id_of("langfuse", dict(payload)),
        trace_id=trace_id,
        rating=rating,
        score=score,
        comment=_text(payload, "comment"),
        source="langfuse",
        author=_text(payload, "authorUserId"),
        name=name,
    )


def _phoenix(payload: Mapping[str, Any]) -> Feedback:
    trace_id = _trace_id(payload, "trace_id")
    name = _text(payload, "name")
    if name is None:
        raise ValueError("name: missing (a Phoenix annotation needs a name)")
    result = payload.get("result")
    if not isinstance(result, Mapping):
        raise ValueError("result: missing (expected {label?, score?, explanation?})")
    rating, score = rating_of(result.get("label"), result.get("score"), "result")
    identifier = _given_id(payload, "identifier")
    span_id = payload.get("span_id")
    if identifier is not None:
        # Phoenix updates in place on (name, target, identifier); we keep the first one.
        feedback_id = feedback_id_of("phoenix", name, trace_id, span_id, identifier)
    else:
        feedback_id = feedback_id_of("phoenix", dict(payload))
    return Feedback(
        feedback_id=feedback_id,
        trace_id=trace_id,
        rating=rating,
        score=score,
        comment=_text(result, "explanation"),
        source="phoenix",
        author=_text(payload, "annotator_kind"),
        name=name,
    )


def _parse_one(payload: Any) -> Feedback:
    if not isinstance(payload, Mapping):
        raise ValueError(f"expected a JSON object, got {type(payload).__name__}")
    if "annotator_kind" in payload or "result" in payload:
        return _phoenix(payload)
    if "traceId" in payload or "dataType" in payload:
        return _langfuse(payload)
    if "value" in payload and "rating" not in payload:
        return _langfuse(payload)
    return _ours(payload)


def parse_feedback_items(payload: Mapping[str, Any]) -> list[Feedback]:
    """Every feedback record of a body; Phoenix's ``{"data": [...]}`` may carry several.

    Raises:
        ValueError: an item does not fit any shape; the message names the field
            (``data[2].result: …`` for list items).
    """
    data = payload.get("data") if isinstance(payload, Mapping) else None
    if data is None:
        return [_parse_one(payload)]
    if not isinstance(data, list) or not data:
        raise ValueError("data: expected a non-empty list of annotations")
    items: list[Feedback] = []
    for index, item in enumerate(data):
        if not isinstance(item, Mapping):
            raise ValueError(f"data[{index}]: expected a JSON object, got {type(item).__name__}")
        try:
            items.append(_parse_one(item))
        except ValueError as exc:
            raise ValueError(f"data[{index}].{exc}") from None
    return items


def parse_feedback(payload: Mapping[str, Any]) -> Feedback:
    """One feedback record from a ``/v1/feedback`` body (our, Langfuse or Phoenix shape).

    Raises:
        ValueError: the payload does not fit any shape, or is a ``data`` list of
            more than one item (use :func:`parse_feedback_items`); the message
            starts with the field's name.

    >>> parse_feedback({"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "rating": "down"}).score
    0.0
    """
    items = parse_feedback_items(payload)
    if len(items) != 1:
        raise ValueError(f"data: {len(items)} items; parse them with parse_feedback_items")
    return items[0]
