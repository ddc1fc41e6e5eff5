"""Paired comparisons of two variants on the same cases: mean difference, t, McNemar, signs.

Every function takes ``a`` and ``b`` as one score per case, in the same case order, and
analyses the per-case differences ``d = b - a``: a positive estimate means B scored higher.
Pairing removes the between-case variance that an unpaired comparison pays for (Miller
2024, eq. 7), so always pair when both variants ran on the same cases.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import Literal

import numpy as np

from evallock.errors import UsageError
from evallock.stats._lazy import lazy_module
from evallock.stats._results import Details, Interval, TestResult
from evallock.stats._validate import (
    Alternative,
    FloatArray,
    Scores,
    as_pair,
    check_alternative,
    check_confidence,
    normal_p_value,
    paired_differences,
    z_critical,
)
from evallock.stats.means import clustered_standard_error

sps = lazy_module("scipy.stats")

__all__ = ["McNemarMethod", "mcnemar_test", "paired_difference", "paired_t_test", "sign_test"]

McNemarMethod = Literal["mid-p", "exact", "asymptotic", "asymptotic-cc"]
"""Which McNemar p-value: mid-p (default), exact conditional, chi-square without or with
continuity correction."""


def _interval(
    estimate: float, half_width: float, confidence: float, alternative: Alternative, method: str
) -> Interval:
    lo = estimate - half_width if alternative != "less" else -math.inf
    hi = estimate + half_width if alternative != "greater" else math.inf
    return Interval(lo=lo, hi=hi, confidence=confidence, method=method)


def _standardised(difference: float, se: float) -> float:
    """``difference / se``, with the zero-variance case made explicit (0 or ±inf)."""
    if se > 0.0:
        return difference / se
    return 0.0 if difference == 0.0 else math.copysign(math.inf, difference)


def _binary_counts(a: FloatArray, b: FloatArray) -> dict[str, int] | None:
    """The 2x2 table of a paired pass/fail comparison, or None if the scores are not 0/1."""
    if not (np.isin(a, (0.0, 1.0)).all() and np.isin(b, (0.0, 1.0)).all()):
        return None
    return {
        "n11": int(np.sum((a == 1) & (b == 1))),
        "b_a_only": int(np.sum((a == 1) & (b == 0))),
        "c_b_only": int(np.sum((a == 0) & (b == 1))),
        "n00": int(np.sum((a == 0) & (b == 0))),
    }


def _correlation(a: FloatArray, b: FloatArray) -> float:
    """Pearson correlation, NaN when either side has no variance."""
    sa, sb = float(np.std(a)), float(np.std(b))
    if sa == 0.0 or sb == 0.0:
        return math.nan
    return float(np.mean((a - a.mean()) * (b - b.mean())) / (sa * sb))


def paired_difference(
    a: Scores,
    b: Scores,
    *,
    confidence: float = 0.95,
    null: float = 0.0,
    alternative: Alternative = "two-sided",
    ddof: Literal[0, 1] = 1,
    clusters: Sequence[Hashable] | None = None,
) -> TestResult:
    """Mean paired difference ``mean(b - a)`` with a CLT (z) interval and test.

    This is Miller's paired analysis: inference on the per-case differences rather than on
    the two pass rates, with ``SE = sqrt(var(d, ddof=1) / n)`` (eq. 7). For pass/fail scores
    the estimate is the difference of pass rates. It is valid by the CLT for moderate n
    (~30+ with bounded scores); for small golden sets prefer :func:`mcnemar_test` (binary)
    or :func:`evallock.stats.permutation_test`.

    A minimum-effect floor is the one-sided test ``null=floor, alternative="greater"``: B
    clears the floor when p < alpha, equivalently when the one-sided lower bound exceeds
    the floor. Non-inferiority against a margin is ``null=-margin, alternative="greater"``.

    With ``clusters`` (cases sharing a context, or several trials of one case pooled), the SE
    is Miller's clustered SE (eq. 4/8) of the differences. With zero variance the test is
    degenerate: p is 1 when the mean equals ``null`` and 0 (or 1, against the direction)
    otherwise.

    Args:
        a: Score of variant A per case.
        b: Score of variant B per case, same order.
        confidence: Coverage of the interval (one-sided bound for a one-sided alternative).
        null: The difference under H0 (0, a floor, or minus a non-inferiority margin).
        alternative: ``"greater"`` tests B − A > null.
        ddof: 1 for Miller's SE (default), 0 for the Wald SE.
        clusters: Optional cluster label per case.

    Returns:
        statistic = z, estimate = mean difference; ``details`` has ``se``, the per-variant
        means and SEs, their correlation, the unpaired SE and, for 0/1 scores, the counts
        ``n11``, ``b_a_only``, ``c_b_only``, ``n00``.

    Reference:
        Miller, *Adding Error Bars to Evals*, arXiv 2411.00640 (2024), eqs. 4, 7, 8.
        Vectors ``mcnemar_small_n40``, ``clustered_se_15q_5clusters``.
    """
    check_confidence(confidence)
    check_alternative(alternative)
    first, second = pair = as_pair(a, b)
    d = pair.difference
    n = d.size
    if n < 2:
        raise UsageError(f"paired_difference needs at least 2 pairs, got {n}")
    estimate = float(d.mean())
    details: Details = {}
    if clusters is None:
        se = math.sqrt(float(np.var(d, ddof=ddof)) / n)
        method = "paired CLT" if ddof == 1 else "paired Wald"
    else:
        clustered = clustered_standard_error(d, clusters)
        se = clustered.se
        details["n_clusters"] = clustered.n_clusters
        details["se_naive"] = clustered.se_naive
        method = "paired CLT, clustered SE"
    se_a = math.sqrt(float(np.var(first, ddof=ddof)) / n)
    se_b = math.sqrt(float(np.var(second, ddof=ddof)) / n)
    se_unpaired = math.hypot(se_a, se_b)
    details |= {
        "se": se,
        "mean_a": float(first.mean()),
        "mean_b": float(second.mean()),
        "se_a": se_a,
        "se_b": se_b,
        "corr_ab": _correlation(first, second),
        "se_unpaired": se_unpaired,
        "variance_ratio_paired_over_unpaired": (
            se * se / (se_unpaired * se_unpaired) if se_unpaired > 0.0 else math.nan
        ),
    }
    details |= _binary_counts(first, second) or {}
    z = _standardised(estimate - null, se)
    half = z_critical(confidence, two_sided=alternative == "two-sided") * se
    return TestResult(
        statistic=z,
        p_value=normal_p_value(z, alternative),
        estimate=estimate,
        interval=_interval(estimate, half, confidence, alternative, method),
        method=method,
        n=n,
        details=details,
        alternative=alternative,
    )


def paired_t_test(
    a: Scores,
    b: Scores,
    *,
    confidence: float = 0.95,
    null: float = 0.0,
    alternative: Alternative = "two-sided",
) -> TestResult:
    """Paired t-test and t interval on the mean difference ``mean(b - a)``.

    The default test for ordinal (1–5) and continuous judge scores: it estimates the mean
    score change, which is what a product decision is about. Valid by the CLT for moderate
    n, or for small n when the differences are roughly normal; for n below ~20 on a 1–5
    scale confirm with :func:`evallock.stats.permutation_test`. With zero variance the test
    is degenerate (p is 0 or 1, the interval a point).

    Args:
        a: Score of variant A per case.
        b: Score of variant B per case, same order.
        confidence: Coverage of the interval.
        null: Mean difference under H0.
        alternative: ``"greater"`` tests B − A > null.

    Returns:
        statistic = t; ``details`` has ``sd``, ``se``, ``df`` and ``cohens_dz``.

    Reference:
        Student (1908); vector ``paired_ordinal_judge_scores_n20``.
    """
    check_confidence(confidence)
    check_alternative(alternative)
    d = paired_differences(a, b)
    n = d.size
    if n < 2:
        raise UsageError(f"paired_t_test needs at least 2 pairs, got {n}")
    estimate = float(d.mean())
    sd = float(np.std(d, ddof=1))
    se = sd / math.sqrt(n)
    df = n - 1
    t = _standardised(estimate - null, se)
    if alternative == "greater":
        p = float(sps.t.sf(t, df))
    elif alternative == "less":
        p = float(sps.t.cdf(t, df))
    else:
        p = float(min(1.0, 2.0 * sps.t.sf(abs(t), df)))
    tail = (1.0 - confidence) / (2.0 if alternative == "two-sided" else 1.0)
    half = float(sps.t.isf(tail, df)) * se
    return TestResult(
        statistic=t,
        p_value=p,
        estimate=estimate,
        interval=_interval(estimate, half, confidence, alternative, "paired t"),
        method="paired t",
        n=n,
        details={
            "sd": sd,
            "se": se,
            "df": df,
            "cohens_dz": estimate / sd if sd > 0.0 else math.nan,
        },
        alternative=alternative,
    )


def mcnemar_test(
    a: Scores,
    b: Scores,
    *,
    method: McNemarMethod = "mid-p",
    alternative: Alternative = "two-sided",
) -> TestResult:
    """McNemar's test for paired pass/fail outcomes (only discordant cases count).

    With b = cases only A passes and c = cases only B passes, under H0 c ~ Bin(b + c, 1/2).
    ``"mid-p"`` (the default) never exceeded the nominal level in Fagerland et al.'s 9,595
    scenarios and is almost as powerful as the asymptotic test; ``"exact"`` is guaranteed but
    conservative; ``"asymptotic"`` (chi-square without continuity correction) is fine when
    b + c is large; ``"asymptotic-cc"`` is the conservative statsmodels default, kept for
    comparison. Pre-register which one a gate uses: at b=3, c=11 exact and mid-p fall on
    opposite sides of 0.05. No discordant pairs gives p = 1.

    Args:
        a: 0/1 pass flag of variant A per case.
        b: 0/1 pass flag of variant B per case, same order.
        method: Which p-value, see above.
        alternative: ``"greater"`` tests that B passes more often than A.

    Returns:
        statistic = chi-square (asymptotic methods, two-sided), z (asymptotic, one-sided) or
        min(b, c) (exact and mid-p); estimate = (c − b) / n. Use :func:`paired_difference`
        for the interval.

    Reference:
        Fagerland, Lydersen & Laake, BMC Med Res Methodol 13:91 (2013). Vector
        ``mcnemar_small_n40``.
    """
    check_alternative(alternative)
    if method not in ("mid-p", "exact", "asymptotic", "asymptotic-cc"):
        raise UsageError(f"unknown McNemar method {method!r}")
    first, second = as_pair(a, b)
    counts = _binary_counts(first, second)
    if counts is None:
        raise UsageError("McNemar's test needs 0/1 pass flags in a and b")
    n = first.size
    only_a, only_b = counts["b_a_only"], counts["c_b_only"]
    discordant = only_a + only_b
    statistic: float
    if discordant == 0:
        statistic, p = 0.0, 1.0
    elif method in ("exact", "mid-p"):
        statistic = float(min(only_a, only_b) if alternative == "two-sided" else only_b)
        p = _mcnemar_binomial_p(only_a, only_b, mid=method == "mid-p", alternative=alternative)
    else:
        shrink = 1.0 if method == "asymptotic-cc" else 0.0
        excess = max(0.0, abs(only_b - only_a) - shrink)
        if alternative == "two-sided":
            statistic = excess * excess / discordant
            p = float(sps.chi2.sf(statistic, 1))
        else:
            statistic = math.copysign(excess, only_b - only_a) / math.sqrt(discordant)
            p = normal_p_value(statistic, alternative)
    return TestResult(
        statistic=statistic,
        p_value=p,
        estimate=(only_b - only_a) / n if n else 0.0,
        interval=None,
        method=f"McNemar {method}",
        n=n,
        details={**counts, "discordant": discordant},
        alternative=alternative,
    )


def _mcnemar_binomial_p(only_a: int, only_b: int, *, mid: bool, alternative: Alternative) -> float:
    """Exact or mid-p McNemar p-value from the discordant counts (X ~ Bin(b + c, 1/2))."""
    m = only_a + only_b
    weight = 0.5 if mid else 0.0  # the mid-p counts only half of P(X = observed)
    if alternative == "greater":  # B wins more discordant pairs than chance: upper tail of c
        p = sps.binom.sf(only_b, m, 0.5) + (1.0 - weight) * sps.binom.pmf(only_b, m, 0.5)
    elif alternative == "less":
        p = sps.binom.cdf(only_b, m, 0.5) - weight * sps.binom.pmf(only_b, m, 0.5)
    else:
        k = min(only_a, only_b)
        p = 2.0 * (sps.binom.cdf(k, m, 0.5) - weight * sps.binom.pmf(k, m, 0.5))
    return min(1.0, float(p))


def sign_test(a: Scores, b: Scores, *, alternative: Alternative = "two-sided") -> TestResult:
    """Exact sign test on the paired differences, ties dropped.

    Tests whether B is above A in more than half of the non-tied cases. Minimal assumptions
    and low power; on 0/1 data it is the exact McNemar test. No non-tied pairs gives p = 1.

    Args:
        a: Score of variant A per case.
        b: Score of variant B per case, same order.
        alternative: ``"greater"`` tests that B is above A more often than below.

    Returns:
        statistic = M = (n₊ − n₋) / 2 (statsmodels' convention), estimate = median of
        ``b - a``; ``details`` has ``n_pos``, ``n_neg``, ``n_zero``.

    Reference:
        Vector ``paired_ordinal_judge_scores_n20``.
    """
    check_alternative(alternative)
    d = paired_differences(a, b)
    if d.size == 0:
        raise UsageError("sign_test needs at least one pair")
    n_pos, n_neg = int(np.sum(d > 0)), int(np.sum(d < 0))
    untied = n_pos + n_neg
    p = 1.0 if untied == 0 else float(sps.binomtest(n_pos, untied, 0.5, alternative).pvalue)
    return TestResult(
        statistic=(n_pos - n_neg) / 2.0,
        p_value=p,
        estimate=float(np.median(d)),
        interval=None,
        method="sign test",
        n=int(d.size),
        details={"n_pos": n_pos, "n_neg": n_neg, "n_zero": int(d.size) - untied},
        alternative=alternative,
    )
