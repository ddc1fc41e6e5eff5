"""Intervals from summary statistics: what a SQL ``count``/``sum``/``sum of squares`` gives.

The dashboard, ``compare`` and ``history`` aggregate scores in the store and get
``(n, sum, sum of squares)`` per slice rather than the scores themselves; these
functions turn such moments (and counts of successes) into the intervals every
printed number carries:

- :func:`t_mean_interval`: a mean with its Student-t interval (not the normal
  one, which is too narrow for the handful of judged traces a slice may hold);
- :func:`welch_difference`: the difference of two means, Welch's t;
- :func:`newcombe_interval` / :func:`proportion_difference`: the difference of
  two independent proportions, Newcombe's hybrid score interval (Newcombe 1998,
  method 10) with the pooled z-test's p-value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from evallock.stats._lazy import lazy_module
from evallock.stats._results import Interval
from evallock.stats.proportions import wilson_interval

sps = lazy_module("scipy.stats")

__all__ = [
    "Difference",
    "Moments",
    "newcombe_interval",
    "proportion_difference",
    "t_mean_interval",
    "welch_difference",
]

Moments = tuple[int, float, float]
"""``(n, sum, sum of squares)`` of a sample."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Difference:
    """A difference between two groups (b − a) with its interval and p-value."""

    delta: float
    """b − a."""
    interval: Interval
    """Its interval."""
    p_value: float
    """Two-sided p-value of "no difference"."""


def _variance(n: int, total: float, squares: float) -> float:
    # Clamped: rounding can make a constant sample's variance a tiny negative number.
    return max(0.0, (squares - total * total / n) / (n - 1))


def t_mean_interval(
    n: int, total: float, squares: float, *, confidence: float = 0.95
) -> Interval | None:
    """The mean of ``n`` scores from their sum and sum of squares, with a t interval.

    None for fewer than two scores (no spread to estimate).

    Scores 2, 4, 6 (scipy's ``t.interval`` gives the same):

    >>> ci = t_mean_interval(3, 12.0, 56.0)
    >>> round(ci.lo, 3), round(ci.hi, 3)
    (-0.968, 8.968)
    """
    if n < 2:
        return None
    mean = total / n
    half = float(sps.t.ppf(0.5 + confidence / 2, n - 1)) * math.sqrt(
        _variance(n, total, squares) / n
    )
    return Interval(lo=mean - half, hi=mean + half, confidence=confidence, method="t")


def welch_difference(a: Moments, b: Moments, *, confidence: float = 0.95) -> Difference | None:
    """The difference of two means (b − a) from their moments: Welch's t.

    None when either side has fewer than two scores.

    Scores 1, 3, 5, 7 against 2, 3, 3, 4 (scipy's ``ttest_ind(equal_var=False)``: p 0.5055):

    >>> d = welch_difference((4, 16.0, 84.0), (4, 12.0, 38.0))
    >>> round(d.delta, 2), round(d.p_value, 4)
    (-1.0, 0.5055)
    """
    (n1, s1, q1), (n2, s2, q2) = a, b
    if n1 < 2 or n2 < 2:
        return None
    v1 = _variance(n1, s1, q1) / n1
    v2 = _variance(n2, s2, q2) / n2
    delta = s2 / n2 - s1 / n1
    se = math.sqrt(v1 + v2)
    if se == 0.0:
        flat = Interval(lo=delta, hi=delta, confidence=confidence, method="Welch t")
        return Difference(delta=delta, interval=flat, p_value=1.0 if delta == 0 else 0.0)
    df = (v1 + v2) ** 2 / ((v1 * v1) / (n1 - 1) + (v2 * v2) / (n2 - 1))
    half = float(sps.t.ppf(0.5 + confidence / 2, df)) * se
    interval = Interval(lo=delta - half, hi=delta + half, confidence=confidence, method="Welch t")
    return Difference(
        delta=delta, interval=interval, p_value=float(2 * sps.t.sf(abs(delta) / se, df))
    )


def newcombe_interval(x1: int, n1: int, x2: int, n2: int) -> Interval:
    """Newcombe's hybrid score 95 % interval for p2 − p1 of two independent proportions.

    Newcombe (1998), table II, example (a): 56/70 against 48/80, 0.0524 to 0.3339:

    >>> ci = newcombe_interval(56, 70, 48, 80)
    >>> round(ci.lo, 4), round(ci.hi, 4)
    (-0.3339, -0.0524)
    """
    p1, p2 = x1 / n1, x2 / n2
    w1, w2 = wilson_interval(x1, n1), wilson_interval(x2, n2)
    d = p2 - p1
    lo = d - math.sqrt((p2 - w2.lo) ** 2 + (w1.hi - p1) ** 2)
    hi = d + math.sqrt((w2.hi - p2) ** 2 + (p1 - w1.lo) ** 2)
    return Interval(lo=lo, hi=hi, confidence=0.95, method="Newcombe hybrid score")


def proportion_difference(x1: int, n1: int, x2: int, n2: int) -> Difference:
    """p2 − p1 of two independent proportions: Newcombe's interval, pooled z-test p-value."""
    delta = x2 / n2 - x1 / n1
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    p_value = 1.0 if se == 0.0 else float(2 * sps.norm.sf(abs(delta) / se))
    return Difference(delta=delta, interval=newcombe_interval(x1, n1, x2, n2), p_value=p_value)
