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
  method 10) with the pooled z-test's p-value;
- :func:`mean_shift_test`: a drift window's mean against a baseline's mean as a
  two-sample comparison, both variances counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from evallock.errors import UsageError
from evallock.stats._checks import (
    Alternative,
    check_alternative,
    check_confidence,
    standardise,
)
from evallock.stats._lazy import lazy_module
from evallock.stats._results import Interval, TestResult
from evallock.stats.proportions import wilson_interval

sps = lazy_module("scipy.stats")

__all__ = [
    "Difference",
    "Moments",
    "estimate_interval",
    "mean_shift_test",
    "newcombe_interval",
    "proportion_difference",
    "shift_test",
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


def mean_shift_test(
    baseline: Moments,
    window: Moments,
    *,
    alternative: Alternative = "two-sided",
    confidence: float = 0.95,
    welch: bool = True,
) -> TestResult:
    """Has the mean moved? The window's mean against the baseline's, both as samples.

    ``z = (m_w − m_b) / sqrt(s_w²/n_w + s_b²/n_b)``. Treating the baseline mean and SD as
    known (``(m_w − m_b)/(s_b/√n_w)``) ignores the baseline's own noise and fires too
    often when the baseline window is short; this counts both. With ``welch`` (default)
    the p-value and interval use Student's t with Welch's df, honest for the handful of
    judged traces a window may hold; otherwise the normal. Scores within each window are
    assumed independent (batch or cluster them first if not).

    Args:
        baseline: ``(n, sum, sum of squares)`` of the baseline window's scores.
        window: The same for the current window.
        alternative: ``"less"`` tests for a drop of the window's mean.
        confidence: Coverage of the interval on m_w − m_b (one-sided when the
            alternative is).
        welch: Welch's t (default) or the normal distribution.

    Returns:
        statistic = z (or t; the same number), estimate = m_w − m_b; ``details`` has
        ``se``, both SEs, ``df`` (Welch, or inf) and ``z_known_baseline``, the statistic
        the one-sample shortcut would have reported.

    Reference:
        Welch, Biometrika 34 (1947); Montgomery, *Introduction to Statistical Quality
        Control*, §4.3.7 (Phase I estimation error).

    Example:
        >>> result = mean_shift_test((40, 168.0, 720.0), (12, 46.0, 182.0), alternative="less")
        >>> round(result.estimate, 3), round(result.p_value, 3)
        (-0.367, 0.064)
    """
    check_alternative(alternative)
    check_confidence(confidence)
    (n_b, sum_b, squares_b), (n_w, sum_w, squares_w) = baseline, window
    if n_b < 2 or n_w < 2:
        raise UsageError(f"both windows need at least 2 scores, got {n_b} and {n_w}")
    var_b = _variance(n_b, sum_b, squares_b) / n_b
    var_w = _variance(n_w, sum_w, squares_w) / n_w
    delta = sum_w / n_w - sum_b / n_b
    se = math.sqrt(var_b + var_w)
    if welch and se > 0.0:
        df = (var_b + var_w) ** 2 / (var_b * var_b / (n_b - 1) + var_w * var_w / (n_w - 1))
        dist = sps.t(df)
    else:
        df, dist = math.inf, sps.norm()
    z = standardise(delta, se)
    if alternative == "greater":
        p = float(dist.sf(z))
    elif alternative == "less":
        p = float(dist.cdf(z))
    else:
        p = float(min(1.0, 2.0 * dist.sf(abs(z))))
    tail = (1.0 - confidence) / (2.0 if alternative == "two-sided" else 1.0)
    half = float(dist.isf(tail)) * se
    lo = delta - half if alternative != "less" else -math.inf
    hi = delta + half if alternative != "greater" else math.inf
    method = "two-sample Welch t" if welch else "two-sample z"
    shortcut_se = math.sqrt(var_b * n_b / n_w)  # baseline SD over √n_w: baseline as known
    return TestResult(
        statistic=z,
        p_value=p,
        estimate=delta,
        interval=Interval(lo=lo, hi=hi, confidence=confidence, method=method),
        method=method,
        n=n_b + n_w,
        details={
            "se": se,
            "se_baseline": math.sqrt(var_b),
            "se_window": math.sqrt(var_w),
            "df": df,
            "z_known_baseline": delta / shortcut_se if shortcut_se > 0.0 else math.nan,
            "n_baseline": n_b,
            "n_window": n_w,
        },
        alternative=alternative,
    )


def estimate_interval(
    estimate: float,
    se: float,
    *,
    confidence: float = 0.95,
    df: float = math.inf,
    method: str = "normal",
) -> Interval:
    """``estimate ± q·se``: a two-sided interval from an estimate and its standard error.

    ``q`` is Student's t quantile with ``df`` degrees of freedom (the normal one when
    ``df`` is infinite). For estimators whose SE comes from elsewhere (a post-stratified
    mean, a clustered mean), so the interval maths stays here.

    >>> estimate_interval(4.0, 0.1).to_json()  # doctest: +ELLIPSIS
    [3.804..., 4.195...]
    """
    check_confidence(confidence)
    if se < 0.0 or math.isnan(se):
        raise UsageError(f"se must be a non-negative number, got {se}")
    dist = sps.norm() if math.isinf(df) else sps.t(df)
    half = float(dist.isf((1.0 - confidence) / 2.0)) * se
    return Interval(lo=estimate - half, hi=estimate + half, confidence=confidence, method=method)


def shift_test(
    estimate: float,
    se: float,
    baseline: float,
    baseline_se: float = 0.0,
    *,
    alternative: Alternative = "two-sided",
    confidence: float = 0.95,
    df: float = math.inf,
    method: str = "z",
) -> TestResult:
    """Has an estimate moved from a baseline? ``(estimate − baseline) / sqrt(se² + se_b²)``.

    The general form behind :func:`mean_shift_test` for estimates whose standard errors
    are known otherwise: a post-stratified mean against another (normal), or a sample
    mean against a stated number (``baseline_se = 0`` and ``df = n − 1``: the one-sample
    t). A zero total SE gives p 0 or 1 by the sign of the difference and a point interval.

    Returns:
        statistic = z (or t), estimate = estimate − baseline; the interval (two-sided at
        ``confidence``) is on that difference; ``details`` has ``se`` and ``df``.
    """
    check_alternative(alternative)
    check_confidence(confidence)
    delta = estimate - baseline
    total = math.hypot(se, baseline_se)
    if total == 0.0:
        below = delta < 0.0
        p = {"less": 0.0 if below else 1.0, "greater": 0.0 if delta > 0.0 else 1.0}.get(
            alternative, 0.0 if delta != 0.0 else 1.0
        )
        interval = Interval(lo=delta, hi=delta, confidence=confidence, method=method)
        statistic = math.copysign(math.inf, delta) if delta else 0.0
    else:
        dist = sps.norm() if math.isinf(df) else sps.t(df)
        statistic = delta / total
        if alternative == "less":
            p = float(dist.cdf(statistic))
        elif alternative == "greater":
            p = float(dist.sf(statistic))
        else:
            p = float(min(1.0, 2.0 * dist.sf(abs(statistic))))
        interval = estimate_interval(delta, total, confidence=confidence, df=df, method=method)
    return TestResult(
        statistic=statistic,
        p_value=p,
        estimate=delta,
        interval=interval,
        method=method,
        n=0,
        details={"se": total, "df": df},
        alternative=alternative,
    )
