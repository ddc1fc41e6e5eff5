"""Post-stratified means: compare windows at the baseline's traffic mix, with Kish's deff.

A drift window's mean moves when quality changes, and also when the traffic mix changes
(more enterprise users this week, fewer refund questions). Post-stratification weighs
each stratum's mean by a fixed share, so two windows are compared at the same mix:
``ȳ_ps = Σ_h W_h ȳ_h``. The price is variance: unequal weights inflate it by Kish's design
effect ``deff = n Σ_h W_h² / n_h`` (1 when the sample already has the target mix), and
the window then counts as ``n / deff`` cases.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from evallock.errors import UsageError
from evallock.stats._checks import (
    Alternative,
    check_alternative,
    check_confidence,
    standardise,
)
from evallock.stats._lazy import lazy_module
from evallock.stats._results import Interval, TestResult
from evallock.stats._validate import FloatArray, Scores, as_scores

sps = lazy_module("scipy.stats")

__all__ = ["StratifiedMean", "post_stratified_mean", "post_stratified_shift"]


@dataclass(frozen=True, kw_only=True, slots=True)
class StratifiedMean:
    """A post-stratified mean with its standard error and design effect."""

    mean: float
    """``Σ_h W_h ȳ_h`` over the strata present, shares renormalised among them."""
    se: float
    """Its standard error given the stratum sizes, ``sqrt(Σ_h W_h² s_h² / n_h)``."""
    n: int
    """Scores used (in strata that have a share)."""
    deff: float
    """Kish's design effect of the weighting, ``n Σ_h W_h² / n_h`` (≥ 1)."""
    effective_n: float
    """``n / deff``: the equally weighted sample size with the same precision."""
    strata: tuple[str, ...]
    """The strata used, in first-seen order."""
    shares: tuple[float, ...]
    """The share W_h applied to each stratum (summing to 1)."""
    missing_share: float
    """Target share of strata with no score in this sample (dropped, then renormalised)."""


class _Strata:
    """Per-stratum counts, means and variances of one sample."""

    def __init__(self, values: FloatArray, labels: Sequence[Hashable]) -> None:
        if len(labels) != values.size:
            raise UsageError(f"strata must label every score: {len(labels)} for {values.size}")
        groups: dict[Hashable, list[float]] = {}
        for label, value in zip(labels, values.tolist(), strict=True):
            groups.setdefault(label, []).append(value)
        self.labels = list(groups)
        self.count = {h: len(v) for h, v in groups.items()}
        self.mean = {h: float(np.mean(v)) for h, v in groups.items()}
        spread = {h: float(np.var(v, ddof=1)) for h, v in groups.items() if len(v) > 1}
        pooled = _pooled_variance(groups) if spread else float(np.var(values, ddof=0))
        # a stratum with one score has no variance of its own: borrow the pooled one
        self.variance = {h: spread.get(h, pooled) for h in groups}


def _pooled_variance(groups: Mapping[Hashable, list[float]]) -> float:
    squares = sum(float(np.sum((np.array(v) - np.mean(v)) ** 2)) for v in groups.values())
    df = sum(len(v) - 1 for v in groups.values())
    return squares / df if df > 0 else 0.0


def _target_shares(
    shares: Mapping[Hashable, float], present: Sequence[Hashable]
) -> dict[Hashable, float]:
    total = sum(shares.values())
    if total <= 0.0 or any(w < 0.0 or not math.isfinite(w) for w in shares.values()):
        raise UsageError("stratum shares must be non-negative with a positive total")
    kept = {h: shares[h] / total for h in present if shares.get(h, 0.0) > 0.0}
    if not kept:
        raise UsageError("no stratum of the sample has a positive share")
    return kept


def _combine(strata: _Strata, kept: Mapping[Hashable, float]) -> StratifiedMean:
    mass = sum(kept.values())
    weights = {h: w / mass for h, w in kept.items()}
    n = sum(strata.count[h] for h in weights)
    mean = sum(w * strata.mean[h] for h, w in weights.items())
    variance = sum(w * w * strata.variance[h] / strata.count[h] for h, w in weights.items())
    deff = n * sum(w * w / strata.count[h] for h, w in weights.items())
    return StratifiedMean(
        mean=mean,
        se=math.sqrt(variance),
        n=n,
        deff=deff,
        effective_n=n / deff,
        strata=tuple(str(h) for h in weights),
        shares=tuple(weights.values()),
        missing_share=max(0.0, 1.0 - mass),
    )


def post_stratified_mean(
    values: Scores, strata: Sequence[Hashable], shares: Mapping[Hashable, float]
) -> StratifiedMean:
    """The mean of ``values`` re-weighted to the stratum ``shares`` (e.g. a baseline's mix).

    ``ȳ_ps = Σ_h W_h ȳ_h`` and, given the stratum sizes, ``Var = Σ_h W_h² s_h² / n_h``
    (Cochran's conditional variance; a stratum with one score borrows the pooled
    within-stratum variance). Strata with a share but no score are dropped and the other
    shares renormalised (reported as ``missing_share``); scores in strata without a share
    are ignored. Kish's design effect ``deff = n Σ W_h²/n_h`` is the variance inflation
    of the unequal weights, so ``n / deff`` is the effective sample size.

    Args:
        values: One score per unit.
        strata: The stratum label of each score.
        shares: Target share per stratum (any positive scale; renormalised).

    Returns:
        The post-stratified mean, SE, deff and effective n.

    Reference:
        Cochran, *Sampling Techniques* (3rd ed., 1977), §5A.9; Kish, *Survey Sampling*
        (1965), §11.7 (deff = 1 + CV² of the weights).

    Example:
        >>> scores = [4, 4, 5, 2, 3]
        >>> tiers = ["free", "free", "free", "pro", "pro"]
        >>> result = post_stratified_mean(scores, tiers, {"free": 0.5, "pro": 0.5})
        >>> round(result.mean, 3), round(result.deff, 3)
        (3.417, 1.042)
    """
    sample = _Strata(as_scores(values, "values"), strata)
    return _combine(sample, _target_shares(shares, sample.labels))


def post_stratified_shift(
    baseline_values: Scores,
    baseline_strata: Sequence[Hashable],
    window_values: Scores,
    window_strata: Sequence[Hashable],
    *,
    alternative: Alternative = "two-sided",
    confidence: float = 0.95,
) -> TestResult:
    """Has quality moved within strata? The window against the baseline at the baseline's mix.

    Shares W_h are the baseline's stratum proportions; both windows are post-stratified
    to them over the strata both have, so a change of traffic mix alone does not move the
    estimate ``D = Σ_h W_h (ȳ_h,window − ȳ_h,baseline)``. Its variance is
    ``Σ_h W_h² (s²_h,w/n_h,w + s²_h,b/n_h,b)`` plus the delta-method term for estimating
    W from the baseline, ``(Σ_h W_h δ_h² − D²)/n_b`` with δ_h the per-stratum changes
    (0 under H0). z = D/SE with a normal p-value (large-sample; each stratum is a mean).

    Args:
        baseline_values: Scores of the baseline window.
        baseline_strata: Stratum label per baseline score.
        window_values: Scores of the current window.
        window_strata: Stratum label per window score.
        alternative: ``"less"`` tests for a drop within strata.
        confidence: Coverage of the interval on D.

    Returns:
        statistic = z, estimate = D; ``details`` has ``raw_difference`` (plain window
        mean − baseline mean), ``mix_effect`` (raw − D: the part due to the traffic mix),
        the window's ``deff`` and ``effective_n``, ``missing_share`` and ``se``.

    Reference:
        Cochran (1977), §5A.9 and §5.7 (variance of a difference of stratified means);
        Kish (1965) for the design effect.
    """
    check_alternative(alternative)
    check_confidence(confidence)
    base_scores = as_scores(baseline_values, "baseline_values")
    window_scores = as_scores(window_values, "window_values")
    base, window = _Strata(base_scores, baseline_strata), _Strata(window_scores, window_strata)
    total = sum(base.count.values())
    common = [h for h in base.labels if h in window.count]
    if not common:
        raise UsageError("the baseline and the window share no stratum")
    kept = {h: base.count[h] / total for h in common}
    mass = sum(kept.values())
    weights = {h: w / mass for h, w in kept.items()}
    changes = {h: window.mean[h] - base.mean[h] for h in weights}
    d = sum(w * changes[h] for h, w in weights.items())
    sampling = sum(
        w * w * (window.variance[h] / window.count[h] + base.variance[h] / base.count[h])
        for h, w in weights.items()
    )
    mix_noise = max(0.0, sum(w * changes[h] ** 2 for h, w in weights.items()) - d * d) / total
    se = math.sqrt(sampling + mix_noise)
    z = standardise(d, se)
    if alternative == "greater":
        p = float(sps.norm.sf(z))
    elif alternative == "less":
        p = float(sps.norm.cdf(z))
    else:
        p = float(min(1.0, 2.0 * sps.norm.sf(abs(z))))
    tail = (1.0 - confidence) / (2.0 if alternative == "two-sided" else 1.0)
    half = float(sps.norm.isf(tail)) * se
    stratified = _combine(window, kept)
    raw = float(window_scores.mean() - base_scores.mean())
    return TestResult(
        statistic=z,
        p_value=p,
        estimate=d,
        interval=Interval(
            lo=d - half if alternative != "less" else -math.inf,
            hi=d + half if alternative != "greater" else math.inf,
            confidence=confidence,
            method="post-stratified difference",
        ),
        method="post-stratified two-sample z",
        n=int(base_scores.size + window_scores.size),
        details={
            "se": se,
            "raw_difference": raw,
            "mix_effect": raw - d,
            "deff": stratified.deff,
            "effective_n": stratified.effective_n,
            "missing_share": max(0.0, 1.0 - mass),
            "n_strata": len(weights),
        },
        alternative=alternative,
    )
