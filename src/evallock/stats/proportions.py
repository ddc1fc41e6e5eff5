"""Proportions: intervals and the exact test for one pass rate (the deploy gate).

For a golden set of a few dozen to a few hundred cases the normal (Wald) interval
under-covers; Wilson and Clopper-Pearson do not (Bowyer, Aitchison & Ivanova, ICML 2025,
arXiv 2503.01747). The gate rule "one-sided lower bound > threshold" uses ``side="lower"``.
"""

from __future__ import annotations

import math
from typing import Literal

from evallock.errors import UsageError
from evallock.stats._checks import (
    Alternative,
    check_alternative,
    check_confidence,
    check_probability,
    z_critical,
)
from evallock.stats._lazy import lazy_module
from evallock.stats._results import Interval, TestResult

sps = lazy_module("scipy.stats")

__all__ = ["Side", "binomial_test", "clopper_pearson_interval", "wilson_interval"]

Side = Literal["two-sided", "lower", "upper"]
"""``"lower"``: a one-sided lower bound (``hi`` = 1); ``"upper"``: an upper bound (``lo`` = 0)."""


_SIDE_OF_ALTERNATIVE: dict[str, Side] = {
    "two-sided": "two-sided",
    "greater": "lower",
    "less": "upper",
}


def _check_counts(successes: int, n: int) -> None:
    if n < 0 or not 0 <= successes <= n:
        raise UsageError(f"need 0 <= successes <= n, got successes={successes}, n={n}")


def _check_side(side: str) -> None:
    if side not in ("two-sided", "lower", "upper"):
        raise UsageError(f"side must be two-sided, lower or upper, got {side!r}")


def _one_sided(bound: Interval, side: Side) -> Interval:
    if side == "lower":
        return Interval(lo=bound.lo, hi=1.0, confidence=bound.confidence, method=bound.method)
    if side == "upper":
        return Interval(lo=0.0, hi=bound.hi, confidence=bound.confidence, method=bound.method)
    return bound


def wilson_interval(
    successes: int, n: int, confidence: float = 0.95, *, side: Side = "two-sided"
) -> Interval:
    """Wilson score interval for a binomial proportion.

    The interval inverts the score test, so it stays inside [0, 1] and keeps close to
    nominal coverage for small n and rates near 0 or 1, where the Wald interval fails.
    ``side="lower"`` gives the one-sided lower bound at ``confidence`` (the deploy gate:
    pass when it exceeds the threshold); ``side="upper"`` the one-sided upper bound.

    With ``n == 0`` there is no information and the interval is the whole of [0, 1].

    Args:
        successes: Number of passes, ``0 <= successes <= n``.
        n: Number of cases.
        confidence: Coverage of the interval (or of the one-sided bound).
        side: Two-sided interval, or a one-sided lower or upper bound.

    Returns:
        The interval, method ``"wilson"``.

    Reference:
        Wilson, *Probable inference, the law of succession, and statistical inference*,
        JASA 22 (1927). Vector ``golden_set_gate_47_of_50``.
    """
    _check_counts(successes, n)
    _check_side(side)
    check_confidence(confidence)
    if n == 0:
        return Interval(lo=0.0, hi=1.0, confidence=confidence, method="wilson")
    z = z_critical(confidence, two_sided=side == "two-sided")
    p_hat = successes / n
    z2 = z * z
    denominator = 1.0 + z2 / n
    centre = (p_hat + z2 / (2.0 * n)) / denominator
    half = z * math.sqrt(p_hat * (1.0 - p_hat) / n + z2 / (4.0 * n * n)) / denominator
    lo = 0.0 if successes == 0 else max(0.0, centre - half)
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return _one_sided(Interval(lo=lo, hi=hi, confidence=confidence, method="wilson"), side)


def clopper_pearson_interval(
    successes: int, n: int, confidence: float = 0.95, *, side: Side = "two-sided"
) -> Interval:
    """Clopper-Pearson ("exact") interval for a binomial proportion.

    Built from beta quantiles, it guarantees at least nominal coverage for every true rate,
    at the price of being wider than Wilson. With 0 failures in n cases the one-sided upper
    bound on the failure rate is ``1 - (1 - confidence) ** (1 / n)``, which the "rule of
    three" (3/n at 95%) approximates. ``n == 0`` gives [0, 1].

    Args:
        successes: Number of passes, ``0 <= successes <= n``.
        n: Number of cases.
        confidence: Coverage of the interval (or of the one-sided bound).
        side: Two-sided interval, or a one-sided lower or upper bound.

    Returns:
        The interval, method ``"clopper-pearson"``.

    Reference:
        Clopper & Pearson, Biometrika 26 (1934). Vector ``golden_set_gate_47_of_50``.
    """
    _check_counts(successes, n)
    _check_side(side)
    check_confidence(confidence)
    method = "clopper-pearson"
    if n == 0:
        return Interval(lo=0.0, hi=1.0, confidence=confidence, method=method)
    tail = (1.0 - confidence) / 2.0 if side == "two-sided" else 1.0 - confidence
    lo = 0.0 if successes == 0 else float(sps.beta.ppf(tail, successes, n - successes + 1))
    hi = 1.0 if successes == n else float(sps.beta.isf(tail, successes + 1, n - successes))
    return _one_sided(Interval(lo=lo, hi=hi, confidence=confidence, method=method), side)


def binomial_test(
    successes: int,
    n: int,
    *,
    p0: float,
    alternative: Alternative = "greater",
    confidence: float = 0.95,
) -> TestResult:
    """Exact binomial test of a pass rate against a threshold ``p0``.

    The deploy-gate form is ``alternative="greater"``: H0 is "the true pass rate is at most
    p0", and a small p-value certifies the rate is above the threshold. The interval is the
    Clopper-Pearson interval matching the alternative (a lower bound for ``"greater"``).

    Args:
        successes: Number of passes.
        n: Number of cases (at least 1).
        p0: The threshold rate under the null, in (0, 1).
        alternative: ``"greater"`` (default), ``"less"`` or ``"two-sided"``.
        confidence: Coverage of the reported interval.

    Returns:
        statistic = successes, estimate = successes / n.

    Reference:
        Vector ``golden_set_gate_47_of_50`` (one-sided p vs 0.85).
    """
    _check_counts(successes, n)
    check_probability(p0, "p0")
    check_alternative(alternative)
    if n == 0:
        raise UsageError("binomial_test needs at least one case")
    result = sps.binomtest(successes, n, p0, alternative=alternative)
    side = _SIDE_OF_ALTERNATIVE[alternative]
    return TestResult(
        statistic=float(successes),
        p_value=float(result.pvalue),
        estimate=successes / n,
        interval=clopper_pearson_interval(successes, n, confidence, side=side),
        method="exact binomial",
        n=n,
        details={"successes": successes, "p0": p0},
        alternative=alternative,
    )
