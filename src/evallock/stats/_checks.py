"""Argument checks and normal quantiles that need no numpy (the gate's path imports only these)."""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Literal

from evallock.errors import UsageError

__all__ = [
    "Alternative",
    "check_alternative",
    "check_confidence",
    "check_probability",
    "standardise",
    "z_critical",
]

Alternative = Literal["two-sided", "greater", "less"]
"""``"greater"``: the effect (B − A, or estimate − null) is positive."""


def check_confidence(confidence: float) -> None:
    """Reject a confidence level outside (0, 1)."""
    if not 0.0 < confidence < 1.0:
        raise UsageError(f"confidence must be between 0 and 1, got {confidence}")


def check_probability(value: float, name: str, *, open_interval: bool = True) -> None:
    """Reject a probability outside (0, 1), or outside [0, 1] when ``open_interval`` is False."""
    ok = 0.0 < value < 1.0 if open_interval else 0.0 <= value <= 1.0
    if not ok or math.isnan(value):
        bounds = "(0, 1)" if open_interval else "[0, 1]"
        raise UsageError(f"{name} must be in {bounds}, got {value}")


def check_alternative(alternative: str) -> None:
    """Reject an alternative other than two-sided, greater or less."""
    if alternative not in ("two-sided", "greater", "less"):
        raise UsageError(f"alternative must be two-sided, greater or less, got {alternative!r}")


def z_critical(confidence: float, *, two_sided: bool = True) -> float:
    """The standard-normal quantile for a two-sided (or one-sided) interval."""
    check_confidence(confidence)
    tail = (1.0 - confidence) / 2.0 if two_sided else 1.0 - confidence
    return NormalDist().inv_cdf(1.0 - tail)


def standardise(difference: float, se: float) -> float:
    """``difference / se``, with the zero-variance case made explicit (0 or ±inf)."""
    if se > 0.0:
        return difference / se
    return 0.0 if difference == 0.0 else math.copysign(math.inf, difference)
