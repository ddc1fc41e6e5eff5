"""A judge's reply parsed into a verdict: a 1–5 score and a reason, or a clear refusal."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["JudgeParseError", "JudgeVerdict", "parse_judge_reply", "verdict_from_mapping"]


class JudgeParseError(ValueError):
    """The judge's reply holds no usable verdict; the message says why."""


@dataclass(frozen=True, kw_only=True, slots=True)
class JudgeVerdict:
    """A parsed judge reply."""

    score: int
    """1–5."""
    reason: str
    """The judge's short reason (may be empty)."""


def verdict_from_mapping(obj: Mapping[str, Any]) -> JudgeVerdict:
    """Read ``{"score", "reason"}`` (a parsed reply object or a cached verdict).

    Raises:
        JudgeParseError: no score, or not a whole number in 1–5.
    """
    if "score" not in obj:
        raise JudgeParseError("the JSON object has no score")
    raw = obj["score"]
    score: int | None = None
    if isinstance(raw, bool):
        score = None
    elif isinstance(raw, int):
        score = raw
    elif isinstance(raw, float | str):
        try:
            number = float(raw)
        except ValueError:
            raise JudgeParseError(f"score {raw!r} is not a number") from None
        if not number.is_integer():
            raise JudgeParseError(f"score {raw!r} is not a whole number")
        score = int(number)
    if score is None:
        raise JudgeParseError(f"score {raw!r} is not a number")
    if not 1 <= score <= 5:
        raise JudgeParseError(f"score {raw!r} is outside 1-5")
    reason = obj.get("reason")
    return JudgeVerdict(score=score, reason="" if reason is None else str(reason).strip())


def parse_judge_reply(text: str) -> JudgeVerdict:
    """Find the verdict in a judge's reply.

    Accepts a bare JSON object, one in a fenced block, or one surrounded by
    prose; a score of ``4``, ``4.0`` or ``"4"``; extra keys. Every top-level
    JSON object with a ``score`` is read; they must agree.

    Raises:
        JudgeParseError: no JSON object, no score, a score that is not a whole
            number in 1–5, or several objects with different scores.
    """
    decoder = json.JSONDecoder()
    verdicts: list[JudgeVerdict] = []
    objects = 0
    start = text.find("{")
    while start != -1:
        try:
            obj, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            start = text.find("{", start + 1)
            continue
        if isinstance(obj, dict):
            objects += 1
            if "score" in obj:
                verdicts.append(verdict_from_mapping(obj))
        start = text.find("{", end)
    if not verdicts:
        raise JudgeParseError("the JSON object has no score" if objects else "no JSON object")
    scores = sorted({v.score for v in verdicts})
    if len(scores) > 1:
        raise JudgeParseError(f"conflicting scores {', '.join(map(str, scores))}")
    return verdicts[0]
