"""Input checks and conversions shared by the statistics modules.

Bad input raises :class:`evallock.errors.UsageError` with one line naming the argument,
so a command that passes user data through prints a message instead of a traceback.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from evallock.errors import UsageError
from evallock.stats._checks import (
    Alternative,
    check_alternative,
    check_confidence,
    check_probability,
    z_critical,
)
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
