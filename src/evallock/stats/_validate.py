"""Input checks and conversions shared by the statistics modules.

Bad input raises :class:`evallock.errors.UsageError` with one line naming the argument,
so a command that passes user data through prints a message instead of a traceback.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from statistics import NormalDist
from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from evallock.errors import UsageError
from evallock.stats._lazy import lazy_module

sps = lazy_module("scipy.stats")

__all__ = [
    "Alternative",
    "FloatArray",
    "Pair",
    "Scores",
    "as_pair",
    "as_scores",
    "check_alternative",
    "check_confidence",
    "check_probability",
    "cluster_codes",
    "normal_p_value",
    "paired_differences",
    "z_critical",
]

FloatArray = npt.NDArray[np.float64]
Scores = Sequence[float] | Sequence[int] | Sequence[bool] | npt.NDArray[Any]
"""One score per case: 0/1 pass flags, 1–5 judge scores or any real number."""
Alternative = Literal["two-sided", "greater", "less"]
"""``"greater"``: the effect (B − A, or estimate − null) is positive."""


def as_scores(values: Scores, name: str) -> FloatArray:
    """A 1-D float array of finite values, or a UsageError naming ``name``."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise UsageError(f"{name} must be one-dimensional, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise UsageError(f"{name} contains NaN or infinite values")
    return array


class Pair(NamedTuple):
    """Two variants' scores on the same cases, as float arrays of equal length."""

    a: FloatArray
    b: FloatArray

    @property
    def difference(self) -> FloatArray:
        """``b - a`` per case."""
        return self.b - self.a


def as_pair(a: Scores, b: Scores) -> Pair:
    """Both score lists as arrays, after checking they pair up case by case."""
    first, second = as_scores(a, "a"), as_scores(b, "b")
    if first.shape != second.shape:
        raise UsageError(f"a and b must be paired: {first.size} vs {second.size} values")
    return Pair(first, second)


def paired_differences(a: Scores, b: Scores) -> FloatArray:
    """``b - a`` per case, after checking both have the same length."""
    return as_pair(a, b).difference


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


def normal_p_value(z: float, alternative: Alternative) -> float:
    """The p-value of a standard-normal statistic ``z`` for the given alternative."""
    if alternative == "greater":
        return float(sps.norm.sf(z))
    if alternative == "less":
        return float(sps.norm.cdf(z))
    return float(min(1.0, 2.0 * sps.norm.sf(abs(z))))


def cluster_codes(clusters: Sequence[Hashable], n: int) -> npt.NDArray[np.intp]:
    """Integer codes 0..C-1 for the cluster label of each of ``n`` units, in first-seen order."""
    if len(clusters) != n:
        raise UsageError(f"clusters must label every score: {len(clusters)} labels for {n}")
    codes: dict[Hashable, int] = {}
    return np.fromiter(
        (codes.setdefault(label, len(codes)) for label in clusters), dtype=np.intp, count=n
    )
