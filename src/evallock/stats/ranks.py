"""Wilcoxon signed-rank test for paired scores, with exact conditional p-values under ties.

Judge scores on a 1–5 scale produce many zero differences and heavy ties. scipy's
``wilcoxon`` then quietly falls back to the normal approximation (``method="auto"`` for
n > 13, and ``method="exact"`` is not exact with ties). Here the exact conditional
distribution of W+ given the tied ranks is computed by convolution over the tie groups, which
is cheap for any realistic eval size, so small and tied samples get an exact p.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from evallock.errors import UsageError
from evallock.stats._lazy import lazy_module
from evallock.stats._results import TestResult
from evallock.stats._validate import (
    Alternative,
    FloatArray,
    Scores,
    check_alternative,
    normal_p_value,
    paired_differences,
)

sps = lazy_module("scipy.stats")

__all__ = ["WilcoxonMethod", "ZeroMethod", "hodges_lehmann", "wilcoxon_signed_rank_test"]

ZeroMethod = Literal["pratt", "wilcox", "zsplit"]
"""Zero differences: rank then drop (pratt), drop before ranking (wilcox), split (zsplit)."""
WilcoxonMethod = Literal["auto", "exact", "asymptotic"]
"""``"auto"``: exact conditional p up to ``EXACT_MAX_PAIRS`` non-zero pairs, else normal."""

EXACT_MAX_PAIRS = 500
"""Above this many non-zero differences ``method="auto"`` uses the normal approximation."""
_EXACT_HARD_LIMIT = 3000  # the convolution costs O(m³): about half a minute at this size
_TOLERANCE = 1e-9  # ranks are multiples of 1/2, so sums compare exactly up to rounding


def wilcoxon_signed_rank_test(
    a: Scores,
    b: Scores,
    *,
    zero_method: ZeroMethod = "pratt",
    method: WilcoxonMethod = "auto",
    correction: bool = False,
    alternative: Alternative = "two-sided",
) -> TestResult:
    """Wilcoxon signed-rank test on the paired differences ``b - a``.

    Tests that the distribution of the differences is symmetric about 0; its location
    estimate is the Hodges-Lehmann pseudo-median, not the mean (use
    :func:`evallock.stats.paired_t_test` when the mean is the decision quantity).

    Zeros are handled by Pratt's method by default: they are ranked with the other
    differences and their ranks then dropped, which keeps their influence on the other ranks
    and avoids the inconsistencies of discarding them (Pratt 1959). The exact p-value is
    conditional on the observed (tied) ranks: all 2^m sign patterns of the m non-zero ranks,
    enumerated by convolution. The normal approximation uses the tie-corrected variance
    ``n(n+1)(2n+1)/24 − Σ(t³−t)/48`` (Pratt: zeros' terms subtracted, Cureton 1967). If every
    difference is zero the test is vacuous and p = 1.

    Args:
        a: Score of variant A per case.
        b: Score of variant B per case, same order.
        zero_method: ``"pratt"`` (default), ``"wilcox"`` or ``"zsplit"``.
        method: ``"auto"`` (exact when feasible), ``"exact"`` or ``"asymptotic"``.
        correction: Continuity correction of the normal approximation.
        alternative: ``"greater"`` tests that B − A tends to be positive.

    Returns:
        statistic = W+ (not scipy's min(W+, W−)), estimate = Hodges-Lehmann pseudo-median;
        ``details`` has ``w_plus``, ``w_minus``, ``z``, ``p_asymptotic``, ``n_zero``,
        ``share_zero``.

    Reference:
        Wilcoxon (1945); Pratt, JASA 54 (1959); Cureton, JASA 62 (1967). Vector
        ``paired_ordinal_judge_scores_n20``.
    """
    check_alternative(alternative)
    if zero_method not in ("pratt", "wilcox", "zsplit"):
        raise UsageError(f"zero_method must be pratt, wilcox or zsplit, got {zero_method!r}")
    if method not in ("auto", "exact", "asymptotic"):
        raise UsageError(f"method must be auto, exact or asymptotic, got {method!r}")
    d = paired_differences(a, b)
    if d.size == 0:
        raise UsageError("wilcoxon_signed_rank_test needs at least one pair")
    zero = d == 0.0
    n_zero = int(zero.sum())
    kept = d[~zero] if zero_method == "wilcox" else d
    ranks = sps.rankdata(np.abs(kept))
    signs = np.sign(kept)
    w_plus = float(ranks[signs > 0].sum())
    w_minus = float(ranks[signs < 0].sum())
    offset = float(ranks[signs == 0].sum()) / 2.0 if zero_method == "zsplit" else 0.0
    w_plus, w_minus = w_plus + offset, w_minus + offset
    z = _normal_statistic(ranks, signs, w_plus, zero_method, correction, alternative)
    p_asymptotic = normal_p_value(z, alternative)
    signed_ranks = ranks[signs != 0]
    if method == "exact" and signed_ranks.size > _EXACT_HARD_LIMIT:
        raise UsageError(
            f"the exact distribution of {signed_ranks.size} signed ranks is too costly; "
            "use method='asymptotic'"
        )
    exact = method == "exact" or (method == "auto" and signed_ranks.size <= EXACT_MAX_PAIRS)
    if exact:
        p = _exact_conditional_p(signed_ranks, w_plus - offset, alternative)
        name = f"Wilcoxon signed-rank ({zero_method}, exact conditional)"
    else:
        p = p_asymptotic
        name = f"Wilcoxon signed-rank ({zero_method}, normal approximation)"
    return TestResult(
        statistic=w_plus,
        p_value=p,
        estimate=hodges_lehmann(d),
        interval=None,
        method=name,
        n=int(d.size),
        details={
            "w_plus": w_plus,
            "w_minus": w_minus,
            "z": z,
            "p_asymptotic": p_asymptotic,
            "n_zero": n_zero,
            "share_zero": n_zero / d.size,
        },
        alternative=alternative,
    )


def _normal_statistic(
    ranks: FloatArray,
    signs: FloatArray,
    w_plus: float,
    zero_method: ZeroMethod,
    correction: bool,
    alternative: Alternative,
) -> float:
    """z of W+ under the tie-corrected normal approximation (scipy's conventions)."""
    n = ranks.size
    mean = n * (n + 1) / 4.0
    variance = n * (n + 1) * (2 * n + 1) / 24.0
    tied = ranks
    if zero_method == "pratt":
        n_zero = int(np.sum(signs == 0))
        mean -= n_zero * (n_zero + 1) / 4.0
        variance -= n_zero * (n_zero + 1) * (2 * n_zero + 1) / 24.0
        tied = ranks[signs != 0]
    _, tie_sizes = np.unique(tied, return_counts=True)
    variance -= float(np.sum(tie_sizes**3 - tie_sizes)) / 48.0
    shift = 0.0
    if correction:  # shift half a unit towards the mean, as scipy does
        if alternative == "greater":
            shift = 0.5
        elif alternative == "less":
            shift = -0.5
        else:
            shift = 0.5 * float(np.sign(w_plus - mean))
    excess = w_plus - mean - shift
    if variance <= 0.0:  # every difference is zero (or a single tie group): no evidence
        return 0.0
    return excess / math.sqrt(variance)


def _exact_conditional_p(ranks: FloatArray, w_plus: float, alternative: Alternative) -> float:
    """P-value of W+ over all 2^m sign patterns of the given (possibly tied) ranks."""
    if ranks.size == 0:
        return 1.0
    doubled = np.rint(2.0 * ranks).astype(np.int64)  # mid-ranks are multiples of 1/2
    values, counts = np.unique(doubled, return_counts=True)
    distribution = np.ones(1)
    for value, count in zip(values.tolist(), counts.tolist(), strict=True):
        # j of the `count` tied ranks positive adds j*value, with probability Bin(count, 1/2)
        weights = sps.binom.pmf(np.arange(count + 1), count, 0.5)
        grown = np.zeros(distribution.size + count * value)
        for j, weight in enumerate(weights.tolist()):
            grown[j * value : j * value + distribution.size] += weight * distribution
        distribution = grown
    support = np.arange(distribution.size) / 2.0  # back to W+ units
    observed = w_plus
    if alternative == "greater":
        p = distribution[support >= observed - _TOLERANCE].sum()
    elif alternative == "less":
        p = distribution[support <= observed + _TOLERANCE].sum()
    else:
        centre = float(ranks.sum()) / 2.0
        far = np.abs(support - centre) >= abs(observed - centre) - _TOLERANCE
        p = distribution[far].sum()
    return float(min(1.0, p))


def hodges_lehmann(differences: Scores) -> float:
    """Hodges-Lehmann pseudo-median: the median of all Walsh averages (d_i + d_j)/2, i ≤ j.

    The location estimate that goes with the signed-rank test. Computed by selection over
    the implicit sorted Walsh averages (O(n log n) per step), so it works for large n
    without building the n(n+1)/2 averages.

    Args:
        differences: Paired differences (at least one).

    Returns:
        The pseudo-median.
    """
    d = np.sort(np.asarray(differences, dtype=np.float64))
    if d.size == 0:
        raise UsageError("hodges_lehmann needs at least one difference")
    total = d.size * (d.size + 1) // 2
    middle = (total + 1) // 2
    lower = _kth_walsh_average(d, middle)
    if total % 2 == 1:
        return lower
    return (lower + _kth_walsh_average(d, middle + 1)) / 2.0


def _count_walsh_at_most(d: FloatArray, value: float) -> int:
    """Number of pairs i ≤ j of the sorted ``d`` with d_i + d_j ≤ 2·value."""
    upto = np.searchsorted(d, 2.0 * value - d, side="right")
    return int(np.maximum(upto - np.arange(d.size), 0).sum())


def _kth_walsh_average(d: FloatArray, k: int) -> float:
    """The k-th smallest (1-based) Walsh average of the sorted ``d``, by bisection."""
    lo, hi = float(d[0]) - 1.0, float(d[-1])  # count(≤ lo) < k ≤ count(≤ hi)
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if mid in (lo, hi):
            break
        if _count_walsh_at_most(d, mid) >= k:
            hi = mid
        else:
            lo = mid
    # the answer is the smallest Walsh average above lo
    partner = np.searchsorted(d, 2.0 * lo - d, side="right")
    partner = np.maximum(partner, np.arange(d.size))
    valid = partner < d.size
    sums = d[valid] + d[partner[valid]]
    return float(sums.min()) / 2.0
