"""Helpers shared by the grader families: grade constructors, quoting, value checks.

Value checks run when an assertion is built (at load time), so they raise
``ValueError`` with a one-line reason that the case loader prefixes with
``file:line:``.
"""

from __future__ import annotations

import json
import math
from typing import Any

from evallock.records import Assertion, ErrorKind, Grade

__all__ = [
    "error_grade",
    "fail_grade",
    "pass_grade",
    "quote",
    "require_number",
    "require_text",
    "require_texts",
]

_QUOTE_LIMIT = 80


def quote(text: str, limit: int = _QUOTE_LIMIT) -> str:
    """Quote ``text`` for a reason line: JSON string escapes, cut to ``limit`` characters."""
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return json.dumps(text, ensure_ascii=False)


def pass_grade(name: str, reason: str, score: float = 1.0) -> Grade:
    """A passing grade."""
    return Grade(name=name, passed=True, score=score, reason=reason)


def fail_grade(name: str, reason: str, score: float = 0.0) -> Grade:
    """A failing grade (the answer was checked and fell short)."""
    return Grade(name=name, passed=False, score=score, reason=reason)


def error_grade(name: str, error: str, kind: ErrorKind = "grader") -> Grade:
    """The grader itself failed: not passed, score 0, ``error`` set, never raised."""
    return Grade(name=name, passed=False, score=0.0, reason=error, error=error, error_kind=kind)


def _scalar_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def require_text(assertion: Assertion) -> str:
    """The assertion's value as non-empty text (numbers are accepted and written as text).

    Raises:
        ValueError: when the value is missing, empty or not text.
    """
    text = _scalar_text(assertion.value)
    if text is None:
        raise ValueError(f"{assertion.type} needs a text value, got {_kind(assertion.value)}")
    if not text:
        raise ValueError(f"{assertion.type} needs a non-empty text value")
    return text


def require_texts(assertion: Assertion) -> tuple[str, ...]:
    """The assertion's value as a non-empty list of texts.

    A comma-separated string is accepted too, as promptfoo does.

    Raises:
        ValueError: when the value is not a list of texts.
    """
    value = assertion.value
    if isinstance(value, str):
        items: list[Any] = [part.strip() for part in value.split(",")]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise ValueError(f"{assertion.type} needs a list of texts, got {_kind(value)}")
    texts: list[str] = []
    for item in items:
        text = _scalar_text(item)
        if text is None:
            raise ValueError(f"{assertion.type} needs a list of texts, got an item {_kind(item)}")
        if text:
            texts.append(text)
    if not texts:
        raise ValueError(f"{assertion.type} needs at least one non-empty text")
    return tuple(texts)


def require_number(value: Any, what: str) -> float:
    """``value`` as a finite number; numeric strings (from CSV cells) are accepted.

    Args:
        value: the raw value.
        what: how to name it in the error, e.g. ``"numeric value"``.

    Raises:
        ValueError: when it is not a finite number.
    """
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if number is None or not math.isfinite(number):
        raise ValueError(f"{what} must be a number, got {_kind(value)}")
    return number


def _kind(value: Any) -> str:
    """How to describe a wrong value in an error: its JSON type, and the value when short."""
    if value is None:
        return "nothing"
    names = {bool: "a boolean", dict: "an object", list: "a list", tuple: "a list", str: "text"}
    name = names.get(type(value), type(value).__name__)
    shown = repr(value)
    return f"{name} {shown}" if len(shown) <= 40 else name
