"""Distribution-shift tests between a baseline window of scores and a current window.

A drift check asks whether the current window's scores come from the baseline's
distribution. Continuous scores (similarity, log-probabilities, judge scores averaged
over trials): :func:`ks_test`, :func:`mann_whitney_test` and :func:`wasserstein_test`
(a distance with a seeded permutation p-value). Scores on a few categories (1–5 judge
scores, pass/fail): :func:`chi_square_homogeneity_test` (both windows sampled, the right
default), :func:`chi_square_goodness_of_fit_test` (the baseline's proportions taken as
known, which overstates significance when the baseline is itself a sample: 18.1 vs 11.6
on the same counts in statistics.md §5.3) and :func:`jensen_shannon_test`.

Each returns a :class:`~evallock.stats.TestResult` with the statistic, the p-value and,
in ``details``, both window sizes (and ``df`` where there is one). Every test assumes the
scores within each window are independent: batch or cluster them first if they are not
(several traces of one conversation, several trials of one case).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence

import numpy as np

from evallock.errors import UsageError
from evallock.stats._lazy import lazy_module
from evallock.stats._results import Details, TestResult
from evallock.stats._validate import Alternative, FloatArray, Scores, as_scores, check_alternative

sps = lazy_module("scipy.stats")
special = lazy_module("scipy.special")

__all__ = [
    "category_counts",
    "chi_square_goodness_of_fit_test",
    "chi_square_homogeneity_test",
    "jensen_shannon_test",
    "ks_test",
    "mann_whitney_test",
    "wasserstein_test",
]

_CELLS_PER_BATCH = 4_000_000  # permutation matrix cells held in memory at once


def _two_samples(baseline: Scores, window: Scores) -> tuple[FloatArray, FloatArray]:
    base, current = as_scores(baseline, "baseline"), as_scores(window, "window")
    if base.size == 0 or current.size == 0:
        raise UsageError("both the baseline and the window need at least one score")
    return base, current


def _sizes(base: FloatArray, current: FloatArray) -> Details:
    return {"n_baseline": int(base.size), "n_window": int(current.size)}


def ks_test(
    baseline: Scores, window: Scores, *, alternative: Alternative = "two-sided"
) -> TestResult:
    """Two-sample Kolmogorov-Smirnov test: the largest gap between the two empirical CDFs.

    A thin wrapper over ``scipy.stats.ks_2samp`` (exact p for small samples, asymptotic
    otherwise). Sensitive to any change of shape, not only of location. With heavily tied
    scores (a 1–5 scale) its p-value is conservative: use the chi-square test there.
    ``"greater"`` means the window's scores tend to be larger (its CDF lies below).

    Args:
        baseline: Scores of the reference window.
        window: Scores of the current window.
        alternative: ``"two-sided"``, ``"greater"`` or ``"less"``.

    Returns:
        statistic = estimate = D; ``details`` has both sizes.

    Reference:
        Kolmogorov (1933), Smirnov (1948); scipy ``ks_2samp``.
    """
    check_alternative(alternative)
    base, current = _two_samples(baseline, window)
    # scipy's "less" means the first sample's CDF is below: the first sample is larger
    side = {"two-sided": "two-sided", "greater": "less", "less": "greater"}[alternative]
    result = sps.ks_2samp(current, base, alternative=side)
    return TestResult(
        statistic=float(result.statistic),
        p_value=float(result.pvalue),
        estimate=float(result.statistic),
        interval=None,
        method="two-sample Kolmogorov-Smirnov",
        n=int(base.size + current.size),
        details=_sizes(base, current),
        alternative=alternative,
    )


def mann_whitney_test(
    baseline: Scores, window: Scores, *, alternative: Alternative = "two-sided"
) -> TestResult:
    """Mann-Whitney U (Wilcoxon rank-sum) test: does the window tend to score higher or lower?

    A thin wrapper over ``scipy.stats.mannwhitneyu`` (exact p for small samples without
    ties, normal approximation with the tie correction otherwise). The estimate is the
    probability of superiority ``P(window > baseline) + ½ P(tie) = U / (n_w n_b)``; 0.5
    means no shift. It tests a shift of the distribution, not of the mean.

    Args:
        baseline: Scores of the reference window.
        window: Scores of the current window.
        alternative: ``"greater"``: the window tends to be larger.

    Returns:
        statistic = U of the window, estimate = the probability of superiority.

    Reference:
        Mann & Whitney, Ann. Math. Statist. 18 (1947); scipy ``mannwhitneyu``.
    """
    check_alternative(alternative)
    base, current = _two_samples(baseline, window)
    result = sps.mannwhitneyu(current, base, alternative=alternative)
    u = float(result.statistic)
    return TestResult(
        statistic=u,
        p_value=float(result.pvalue),
        estimate=u / (base.size * current.size),
        interval=None,
        method="Mann-Whitney U",
        n=int(base.size + current.size),
        details=_sizes(base, current),
        alternative=alternative,
    )


def _wasserstein_many(pooled: FloatArray, in_window: np.ndarray, n_window: int) -> FloatArray:
    """W1 between the window and the rest of ``pooled`` (sorted), one row of labels each.

    ``W1 = Σ |F_window − F_baseline| · gap`` over the gaps between sorted pooled values.
    """
    n_base = pooled.size - n_window
    gaps = np.diff(pooled)
    window_cdf = np.cumsum(in_window[:, :-1], axis=1) / n_window
    base_cdf = np.cumsum(~in_window[:, :-1], axis=1) / n_base
    return np.asarray(np.abs(window_cdf - base_cdf) @ gaps, dtype=np.float64)


def wasserstein_test(
    baseline: Scores,
    window: Scores,
    *,
    n_permutations: int = 1000,
    seed: int | None = 0,
) -> TestResult:
    """Wasserstein (earth mover's) distance between the windows, with a permutation p-value.

    W1 is the area between the two empirical CDFs, in the scores' own units: how far, on
    average, scores had to move. The p-value is a seeded permutation test of "same
    distribution": the pooled scores are re-split at random ``n_permutations`` times and
    ``p = (1 + #{W* ≥ W}) / (1 + n_permutations)``, valid at any sample size. ``details``
    also has W divided by the baseline SD (Evidently's drift score, threshold 0.1).

    Args:
        baseline: Scores of the reference window.
        window: Scores of the current window.
        n_permutations: Random re-splits of the pooled scores.
        seed: Seed of the numpy Generator.

    Returns:
        statistic = estimate = W1 (scipy ``wasserstein_distance``).

    Reference:
        Vallender, Theory Probab. Appl. 18 (1974); permutation tests: Good,
        *Permutation Tests* (2000).
    """
    base, current = _two_samples(baseline, window)
    if n_permutations < 1:
        raise UsageError(f"n_permutations must be positive, got {n_permutations}")
    observed = float(sps.wasserstein_distance(current, base))
    order = np.argsort(np.concatenate([current, base]), kind="stable")
    pooled = np.concatenate([current, base])[order]
    rng = np.random.default_rng(seed)
    n_window, total = current.size, pooled.size
    batch = max(1, _CELLS_PER_BATCH // total)
    exceed, done = 0, 0
    tolerance = 1e-12 * max(1.0, observed)
    while done < n_permutations:
        size = min(batch, n_permutations - done)
        keys = rng.random((size, total))
        ranks = np.argsort(keys, axis=1)
        in_window = ranks < n_window  # a uniformly random subset of n_window positions
        null = _wasserstein_many(pooled, in_window, n_window)
        exceed += int(np.sum(null >= observed - tolerance))
        done += size
    sd = float(np.std(base, ddof=1)) if base.size > 1 else 0.0
    details = _sizes(base, current) | {
        "n_permutations": n_permutations,
        "seed": -1 if seed is None else seed,
        "normalised_by_baseline_sd": observed / sd if sd > 0.0 else math.nan,
    }
    return TestResult(
        statistic=observed,
        p_value=(exceed + 1) / (n_permutations + 1),
        estimate=observed,
        interval=None,
        method="Wasserstein distance, permutation p",
        n=int(total),
        details=details,
    )


def category_counts(values: Sequence[Hashable], categories: Sequence[Hashable]) -> list[int]:
    """How many of ``values`` fall in each of ``categories`` (in that order).

    A value outside the categories is a UsageError: silently dropping it would hide the
    very shift a drift test looks for.

    >>> category_counts([5, 4, 5, 1], categories=[1, 2, 3, 4, 5])
    [1, 0, 0, 1, 2]
    """
    index = {category: i for i, category in enumerate(categories)}
    counts = [0] * len(categories)
    for value in values:
        position = index.get(value)
        if position is None:
            raise UsageError(f"value {value!r} is not one of the categories {list(categories)}")
        counts[position] += 1
    return counts


def _counts(values: Sequence[int] | Sequence[float], name: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size < 2:
        raise UsageError(f"{name} must be counts over at least two categories")
    if np.any(array < 0) or not np.all(np.isfinite(array)) or np.any(array != np.round(array)):
        raise UsageError(f"{name} must be non-negative whole counts")
    if array.sum() == 0:
        raise UsageError(f"{name} has no observations")
    return array


def chi_square_goodness_of_fit_test(
    window_counts: Sequence[int], baseline_proportions: Sequence[float]
) -> TestResult:
    """Pearson's chi-square test of the window's counts against fixed baseline proportions.

    ``χ² = Σ (O − E)² / E`` with ``E = n_window · p_baseline`` and ``df = K − 1`` over the
    categories with a positive proportion. Correct when the baseline proportions are a
    specification (a known target mix); when they are estimated from a baseline window
    use :func:`chi_square_homogeneity_test`, which counts the baseline's own noise. A
    count in a category of proportion 0 gives χ² = inf and p = 0. Needs E ≥ ~5 per cell.

    Args:
        window_counts: Observed count per category in the current window.
        baseline_proportions: Expected share per category (renormalised to sum to 1).

    Returns:
        statistic = χ², estimate = the largest |observed − expected| share; ``details``
        has ``df`` and ``n_window``.

    Reference:
        Pearson (1900); scipy ``chisquare``.
    """
    observed = _counts(window_counts, "window_counts")
    shares = np.asarray(baseline_proportions, dtype=np.float64)
    if shares.shape != observed.shape or np.any(shares < 0) or shares.sum() <= 0:
        raise UsageError("baseline_proportions must be one non-negative share per category")
    shares = shares / shares.sum()
    n = float(observed.sum())
    estimate = float(np.max(np.abs(observed / n - shares)))
    impossible = (shares == 0) & (observed > 0)
    keep = shares > 0
    df = int(keep.sum()) - 1
    if np.any(impossible):
        statistic, p = math.inf, 0.0
    elif df < 1:
        statistic, p = 0.0, 1.0
    else:
        result = sps.chisquare(observed[keep], n * shares[keep])
        statistic, p = float(result.statistic), float(result.pvalue)
    return TestResult(
        statistic=statistic,
        p_value=p,
        estimate=estimate,
        interval=None,
        method="chi-square goodness of fit",
        n=int(n),
        details={"df": df, "n_window": int(n)},
    )


def chi_square_homogeneity_test(
    baseline_counts: Sequence[int], window_counts: Sequence[int]
) -> TestResult:
    """Pearson's chi-square test that two windows share one distribution over categories.

    The 2 × K contingency table test (no continuity correction), ``df = K' − 1`` over the
    K' categories seen in either window. Both windows are treated as samples, so it is the
    right test when the baseline mix was itself observed. Needs expected counts ≥ ~5.

    Args:
        baseline_counts: Count per category in the reference window.
        window_counts: Count per category in the current window, same order.

    Returns:
        statistic = χ², estimate = Cramér's V; ``details`` has ``df`` and both sizes.

    Reference:
        Pearson (1900); scipy ``chi2_contingency(correction=False)``.
    """
    base = _counts(baseline_counts, "baseline_counts")
    current = _counts(window_counts, "window_counts")
    if base.shape != current.shape:
        raise UsageError("baseline_counts and window_counts need the same categories")
    keep = (base + current) > 0
    table = np.vstack([base[keep], current[keep]])
    df = int(keep.sum()) - 1
    total = float(table.sum())
    if df < 1:
        statistic, p = 0.0, 1.0
    else:
        result = sps.chi2_contingency(table, correction=False)
        statistic, p = float(result.statistic), float(result.pvalue)
    return TestResult(
        statistic=statistic,
        p_value=p,
        estimate=math.sqrt(statistic / total) if df >= 1 else 0.0,
        interval=None,
        method="chi-square homogeneity",
        n=int(total),
        details={"df": df, "n_baseline": int(base.sum()), "n_window": int(current.sum())},
    )


def _js_distance(first: FloatArray, second: FloatArray, base: float) -> FloatArray:
    """Jensen-Shannon distance between count vectors, row by row (last axis = categories)."""
    p = first / first.sum(axis=-1, keepdims=True)
    q = second / second.sum(axis=-1, keepdims=True)
    m = (p + q) / 2.0
    divergence = (special.rel_entr(p, m).sum(axis=-1) + special.rel_entr(q, m).sum(axis=-1)) / 2
    return np.asarray(np.sqrt(np.maximum(divergence, 0.0) / math.log(base)), dtype=np.float64)


def jensen_shannon_test(
    baseline_counts: Sequence[int],
    window_counts: Sequence[int],
    *,
    base: float = 2.0,
    n_permutations: int = 1000,
    seed: int | None = 0,
) -> TestResult:
    """Jensen-Shannon distance between two windows' category shares, with a permutation p.

    ``JS = sqrt(½ KL(p‖m) + ½ KL(q‖m))``, m = (p + q)/2: symmetric, finite when a
    category is empty on one side, bounded by 1 in base 2 (NannyML) or sqrt(ln 2) ≈ 0.83
    in base e (Evidently), so say which base a threshold assumes. A raw distance says
    nothing about noise: small windows differ by chance. The p-value re-splits the pooled
    observations at random (multivariate hypergeometric draws of the window's size),
    ``p = (1 + #{JS* ≥ JS}) / (1 + n_permutations)``.

    Args:
        baseline_counts: Count per category in the reference window.
        window_counts: Count per category in the current window, same order.
        base: Logarithm base: 2 (default) or e.
        n_permutations: Random re-splits of the pooled observations.
        seed: Seed of the numpy Generator.

    Returns:
        statistic = estimate = the JS distance; ``details`` has both sizes and the base.

    Reference:
        Lin, IEEE Trans. Inf. Theory 37 (1991); Endres & Schindelin (2003) for the
        distance; scipy ``spatial.distance.jensenshannon``.
    """
    first = _counts(baseline_counts, "baseline_counts")
    second = _counts(window_counts, "window_counts")
    if first.shape != second.shape:
        raise UsageError("baseline_counts and window_counts need the same categories")
    if not base > 1.0:
        raise UsageError(f"base must exceed 1, got {base}")
    if n_permutations < 1:
        raise UsageError(f"n_permutations must be positive, got {n_permutations}")
    observed = float(_js_distance(first, second, base))
    pooled = (first + second).astype(np.int64)
    n_window = int(second.sum())
    rng = np.random.default_rng(seed)
    draws = rng.multivariate_hypergeometric(pooled, n_window, size=n_permutations)
    rest = (pooled[None, :] - draws).astype(np.float64)
    null = _js_distance(rest, draws.astype(np.float64), base)
    exceed = int(np.sum(null >= observed - 1e-12 * max(1.0, observed)))
    return TestResult(
        statistic=observed,
        p_value=(exceed + 1) / (n_permutations + 1),
        estimate=observed,
        interval=None,
        method=f"Jensen-Shannon distance (base {base:g}), permutation p",
        n=int(first.sum() + second.sum()),
        details={
            "n_baseline": int(first.sum()),
            "n_window": n_window,
            "base": base,
            "n_permutations": n_permutations,
            "seed": -1 if seed is None else seed,
        },
    )
