"""Resampling inference on paired scores: the sign-flip permutation test and the bootstrap.

Both are seeded with a numpy ``Generator`` (``seed`` argument), so a report is reproducible.
Use the permutation test for p-values at small n (it is exact under the sharp null) and the
bootstrap for intervals around a statistic the CLT does not cover, or for few clusters.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any, Literal, NamedTuple

import numpy as np

from evallock.errors import UsageError
from evallock.stats._lazy import lazy_module
from evallock.stats._results import Estimate, Interval, TestResult
from evallock.stats._validate import (
    Alternative,
    FloatArray,
    Scores,
    as_scores,
    check_alternative,
    check_confidence,
    cluster_codes,
    paired_differences,
)

sps = lazy_module("scipy.stats")

__all__ = ["EXACT_MAX_PAIRS", "BootstrapMethod", "bootstrap_interval", "permutation_test"]

Statistic = Callable[..., Any]
"""A vectorised statistic called as ``statistic(samples, axis=-1)``, e.g. ``np.mean``."""
BootstrapMethod = Literal["bca", "percentile"]
"""BCa (bias-corrected and accelerated, the default) or plain percentile."""

EXACT_MAX_PAIRS = 20
"""Up to this many pairs the permutation test enumerates all 2^n sign flips."""
_CELLS_PER_BATCH = 2_000_000  # resample matrix cells held in memory at once


def _mean(samples: FloatArray, axis: int = -1) -> FloatArray:
    return np.asarray(np.mean(samples, axis=axis), dtype=np.float64)


def permutation_test(
    a: Scores,
    b: Scores,
    *,
    statistic: Statistic | None = None,
    alternative: Alternative = "two-sided",
    exact: bool | None = None,
    n_resamples: int = 10_000,
    seed: int | None = 0,
) -> TestResult:
    """Sign-flip permutation test on the paired differences ``b - a``.

    Under the sharp null that the variants are interchangeable on every case, each
    difference is equally likely to have either sign. Enumerating all 2^n sign patterns
    gives an exact p-value for any statistic (mean, trimmed mean, …); above
    :data:`EXACT_MAX_PAIRS` pairs a seeded Monte-Carlo sample of ``n_resamples`` flips is
    used, with p = (1 + #{as extreme}) / (1 + n_resamples) so it stays valid. The
    recommended reference test at small n. The two-sided p is P(|T*| ≥ |T|).

    Args:
        a: Score of variant A per case.
        b: Score of variant B per case, same order.
        statistic: Vectorised ``statistic(x, axis=-1)``; default the mean.
        alternative: ``"greater"`` tests that B − A tends to be positive.
        exact: Force enumeration (True, at most 26 pairs) or Monte Carlo (False);
            None decides by n.
        n_resamples: Monte-Carlo sign flips.
        seed: Seed of the numpy Generator for the Monte-Carlo flips.

    Returns:
        statistic = estimate = the statistic on the observed differences.

    Reference:
        Fisher (1935); vector ``paired_ordinal_judge_scores_n20`` (all 2^20 flips).
    """
    check_alternative(alternative)
    d = paired_differences(a, b)
    n = d.size
    if n == 0:
        raise UsageError("permutation_test needs at least one pair")
    if n_resamples < 1:
        raise UsageError(f"n_resamples must be positive, got {n_resamples}")
    stat = statistic or _mean
    enumerate_all = n <= EXACT_MAX_PAIRS if exact is None else exact
    if enumerate_all and n > 26:
        raise UsageError(f"exact enumeration of 2^{n} sign flips is too large; use exact=False")
    observed = float(stat(d[None, :], axis=-1)[0])
    if enumerate_all:
        null = _all_sign_flips(d, stat)
    else:
        null = _random_sign_flips(d, stat, n_resamples, np.random.default_rng(seed))
    tolerance = 1e-12 * max(1.0, abs(observed))  # equal statistics must count as extreme
    if alternative == "greater":
        extreme = int(np.sum(null >= observed - tolerance))
    elif alternative == "less":
        extreme = int(np.sum(null <= observed + tolerance))
    else:
        extreme = int(np.sum(np.abs(null) >= abs(observed) - tolerance))
    p = extreme / null.size if enumerate_all else (extreme + 1) / (null.size + 1)
    return TestResult(
        statistic=observed,
        p_value=min(1.0, p),
        estimate=observed,
        interval=None,
        method="sign-flip permutation (exact)" if enumerate_all else "sign-flip permutation",
        n=n,
        details={"n_resamples": null.size, "seed": -1 if seed is None else seed},
        alternative=alternative,
    )


def _all_sign_flips(d: FloatArray, stat: Statistic) -> FloatArray:
    n = d.size
    total = 1 << n
    rows = max(1, _CELLS_PER_BATCH // n)
    bit = np.arange(n, dtype=np.int64)
    parts = []
    for start in range(0, total, rows):
        codes = np.arange(start, min(total, start + rows), dtype=np.int64)[:, None]
        signs = 1.0 - 2.0 * ((codes >> bit) & 1)
        parts.append(np.asarray(stat(signs * d, axis=-1), dtype=np.float64))
    return np.concatenate(parts)


def _random_sign_flips(
    d: FloatArray, stat: Statistic, n_resamples: int, rng: np.random.Generator
) -> FloatArray:
    rows = max(1, _CELLS_PER_BATCH // d.size)
    parts = []
    for start in range(0, n_resamples, rows):
        count = min(rows, n_resamples - start)
        signs = rng.choice(np.array([-1.0, 1.0]), size=(count, d.size))
        parts.append(np.asarray(stat(signs * d, axis=-1), dtype=np.float64))
    return np.concatenate(parts)


def bootstrap_interval(
    a: Scores,
    b: Scores | None = None,
    *,
    statistic: Statistic | None = None,
    method: BootstrapMethod = "bca",
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    clusters: Sequence[Hashable] | None = None,
    seed: int | None = 0,
) -> Estimate:
    """Bootstrap confidence interval (BCa or percentile) for a statistic of paired scores.

    With ``b`` the statistic is computed on the per-case differences ``b - a`` (a paired
    bootstrap, resampling cases); without, on ``a`` itself. With ``clusters`` whole clusters
    are resampled (the cluster bootstrap for few clusters), for the mean only. The percentile
    interval is first-order accurate and too narrow at small n; BCa corrects for bias
    (z0 = Φ⁻¹(share of resamples below the estimate)) and skew (the jackknife acceleration
    ``a = Σ(j̄ − jᵢ)³ / (6 (Σ(j̄ − jᵢ)²)^{3/2})``) and is second-order accurate. Use at least
    10⁴ resamples. With no variation in the data the interval is the point itself. For a
    one-sided 95% bound take an end of the two-sided 90% interval.

    Args:
        a: Scores, or variant A's scores when ``b`` is given.
        b: Variant B's scores per case, same order (optional).
        statistic: Vectorised ``statistic(x, axis=-1)``; default the mean.
        method: ``"bca"`` (default) or ``"percentile"``.
        confidence: Coverage of the two-sided interval.
        n_resamples: Bootstrap resamples.
        clusters: Optional cluster label per case (mean only).
        seed: Seed of the numpy Generator.

    Returns:
        The statistic, the bootstrap SE and the interval; ``details`` has ``z0`` and
        ``acceleration`` (BCa), ``n_resamples``, ``n_clusters``.

    Reference:
        Efron, *Better bootstrap confidence intervals*, JASA 82 (1987); Koehn, EMNLP 2004.
    """
    check_confidence(confidence)
    if method not in ("bca", "percentile"):
        raise UsageError(f"method must be bca or percentile, got {method!r}")
    if n_resamples < 2:
        raise UsageError(f"n_resamples must be at least 2, got {n_resamples}")
    x = as_scores(a, "a") if b is None else paired_differences(a, b)
    n = x.size
    if clusters is not None and statistic is not None:
        raise UsageError("the cluster bootstrap supports the mean only")
    codes = cluster_codes(clusters, n) if clusters is not None else np.arange(n)
    n_clusters = int(codes.max()) + 1 if n else 0
    if n_clusters < 2:
        raise UsageError("bootstrap_interval needs at least 2 cases (or 2 clusters)")
    stat = statistic or _mean
    rng = np.random.default_rng(seed)
    observed = float(stat(x[None, :], axis=-1)[0])
    name = f"bootstrap {'BCa' if method == 'bca' else 'percentile'}"
    details: dict[str, float | int | str] = {"n_resamples": n_resamples, "n_clusters": n_clusters}
    if np.ptp(x) == 0.0:  # every resample is the same: no sampling variation to show
        point = Interval(lo=observed, hi=observed, confidence=confidence, method=name)
        return Estimate(
            estimate=observed, se=0.0, interval=point, n=n, method=name, details=details
        )
    if statistic is None:
        sums = np.asarray(np.bincount(codes, weights=x, minlength=n_clusters), dtype=np.float64)
        sizes = np.asarray(np.bincount(codes, minlength=n_clusters), dtype=np.float64)
        replicates = _cluster_mean_replicates(sums, sizes, n_resamples, rng)
        jackknife = (sums.sum() - sums) / (sizes.sum() - sizes)
    else:
        replicates = _case_replicates(x, stat, n_resamples, rng)
        jackknife = _leave_one_out(x, stat)
    alpha = 1.0 - confidence
    if method == "percentile":
        quantiles = (alpha / 2.0, 1.0 - alpha / 2.0)
    else:
        z0, acceleration = _bca_constants(replicates, observed, jackknife)
        details |= {"z0": z0, "acceleration": acceleration}
        quantiles = (
            _bca_quantile(z0, acceleration, alpha / 2.0),
            _bca_quantile(z0, acceleration, 1.0 - alpha / 2.0),
        )
    lo, hi = np.percentile(replicates, [100.0 * q for q in quantiles])
    interval = Interval(lo=float(lo), hi=float(hi), confidence=confidence, method=name)
    se = float(np.std(replicates, ddof=1))
    return Estimate(estimate=observed, se=se, interval=interval, n=n, method=name, details=details)


def _cluster_mean_replicates(
    sums: FloatArray, sizes: FloatArray, n_resamples: int, rng: np.random.Generator
) -> FloatArray:
    """Means of resamples that draw clusters (or single cases) with replacement."""
    k = sums.size
    rows = max(1, _CELLS_PER_BATCH // k)
    parts = []
    for start in range(0, n_resamples, rows):
        count = min(rows, n_resamples - start)
        draws = rng.multinomial(k, np.full(k, 1.0 / k), size=count).astype(np.float64)
        parts.append((draws @ sums) / (draws @ sizes))
    return np.concatenate(parts)


def _case_replicates(
    x: FloatArray, stat: Statistic, n_resamples: int, rng: np.random.Generator
) -> FloatArray:
    rows = max(1, _CELLS_PER_BATCH // x.size)
    parts = []
    for start in range(0, n_resamples, rows):
        count = min(rows, n_resamples - start)
        picks = rng.integers(0, x.size, size=(count, x.size))
        parts.append(np.asarray(stat(x[picks], axis=-1), dtype=np.float64))
    return np.concatenate(parts)


def _leave_one_out(x: FloatArray, stat: Statistic) -> FloatArray:
    n = x.size
    rows = max(1, _CELLS_PER_BATCH // n)
    keep = ~np.eye(n, dtype=bool)
    parts = []
    for start in range(0, n, rows):
        block = keep[start : start + rows]
        samples = np.broadcast_to(x, block.shape)[block].reshape(block.shape[0], n - 1)
        parts.append(np.asarray(stat(samples, axis=-1), dtype=np.float64))
    return np.concatenate(parts)


class _BcaConstants(NamedTuple):
    z0: float
    acceleration: float


def _bca_constants(replicates: FloatArray, observed: float, jackknife: FloatArray) -> _BcaConstants:
    """Bias correction z0 and acceleration a of the BCa interval."""
    b = replicates.size
    below = float(np.mean(replicates < observed))
    # keep z0 finite when the estimate lies outside every resample
    z0 = float(sps.norm.ppf(min(max(below, 0.5 / b), 1.0 - 0.5 / b)))
    spread = jackknife.mean() - jackknife
    squares = float(np.sum(spread**2))
    acceleration = float(np.sum(spread**3)) / (6.0 * squares**1.5) if squares > 0.0 else 0.0
    return _BcaConstants(z0, acceleration)


def _bca_quantile(z0: float, acceleration: float, level: float) -> float:
    """The resample quantile BCa uses in place of ``level``."""
    z = z0 + float(sps.norm.ppf(level))
    denominator = 1.0 - acceleration * z
    if denominator <= 0.0:  # beyond the range where the BCa transform is monotone
        return 1.0 if z > 0.0 else 0.0
    return float(sps.norm.cdf(z0 + z / denominator))
