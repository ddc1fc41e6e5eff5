"""Agreement between raters: an LLM judge against human labels, or judges against each other.

Correlations alone hide a calibration offset (a judge that is always half a point lenient
correlates perfectly), so report exact agreement, the mean bias and a chance-corrected
coefficient side by side: :func:`judge_agreement` does that in one call.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from evallock.errors import UsageError
from evallock.stats._lazy import lazy_module
from evallock.stats._results import Estimate
from evallock.stats._validate import FloatArray, Scores, as_scores

sps = lazy_module("scipy.stats")

__all__ = [
    "Agreement",
    "JudgeAgreement",
    "KappaWeights",
    "KrippendorffLevel",
    "cohen_kappa",
    "judge_agreement",
    "kappa_interval",
    "krippendorff_alpha",
    "weighted_kappa",
]

KappaWeights = Literal["linear", "quadratic"]
"""Disagreement weights on the category index: |i − j| or (i − j)²."""
KrippendorffLevel = Literal["nominal", "ordinal", "interval", "ratio"]
"""The metric of Krippendorff's α, i.e. the level of measurement of the labels."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Agreement:
    """A chance-corrected agreement coefficient, ``1 − observed/expected disagreement``."""

    value: float
    """κ or α: 1 is perfect agreement, 0 is chance level; NaN when undefined (no variation)."""
    n: int
    """Number of rated units (with at least two ratings, for α)."""
    method: str
    """The coefficient, e.g. ``"cohen kappa (quadratic)"``."""
    observed_disagreement: float
    """Weighted disagreement actually observed."""
    expected_disagreement: float
    """Weighted disagreement expected by chance from the marginals."""


@dataclass(frozen=True, kw_only=True, slots=True)
class JudgeAgreement:
    """How well judge scores match human labels on the same items, in one record."""

    n: int
    """Items rated by both."""
    exact: float
    """Share of items where judge and human give the same score."""
    within_one: float
    """Share of items where they differ by at most one point."""
    mean_bias: float
    """Mean of judge − human: positive when the judge is lenient."""
    kappa_unweighted: float
    """Cohen's κ treating the scores as nominal."""
    kappa_quadratic: float
    """Quadratic-weighted κ on the category index."""
    alpha_ordinal: float
    """Krippendorff's α with the ordinal metric."""
    spearman_rho: float
    """Spearman rank correlation (NaN if either side is constant)."""
    spearman_p: float
    """Two-sided p-value of ``spearman_rho``."""
    kendall_tau_b: float
    """Kendall's τ-b (NaN if either side is constant)."""
    kendall_p: float
    """Two-sided p-value of ``kendall_tau_b``."""
    pearson_r: float
    """Pearson correlation (NaN if either side is constant)."""


class _Coded(NamedTuple):
    categories: list[Hashable]
    codes_a: npt.NDArray[np.intp]
    codes_b: npt.NDArray[np.intp]


def _category_index(
    rater_a: Sequence[Hashable], rater_b: Sequence[Hashable], categories: Sequence[Hashable] | None
) -> _Coded:
    if len(rater_a) != len(rater_b):
        raise UsageError(f"raters must label the same items: {len(rater_a)} vs {len(rater_b)}")
    if categories is None:
        try:
            categories = sorted(set(rater_a) | set(rater_b))  # type: ignore[type-var]
        except TypeError as error:
            raise UsageError("labels are not sortable: pass categories= in order") from error
    index = {label: i for i, label in enumerate(categories)}
    unknown = (set(rater_a) | set(rater_b)) - set(index)
    if unknown:
        raise UsageError(f"labels not in categories: {sorted(map(repr, unknown))}")
    codes_a = np.fromiter((index[x] for x in rater_a), dtype=np.intp, count=len(rater_a))
    codes_b = np.fromiter((index[x] for x in rater_b), dtype=np.intp, count=len(rater_b))
    return _Coded(list(categories), codes_a, codes_b)


def _kappa(
    rater_a: Sequence[Hashable],
    rater_b: Sequence[Hashable],
    categories: Sequence[Hashable] | None,
    weights: Literal["none", "linear", "quadratic"],
) -> Agreement:
    labels, codes_a, codes_b = _category_index(rater_a, rater_b, categories)
    n, k = codes_a.size, len(labels)
    if n == 0:
        raise UsageError("kappa needs at least one rated item")
    observed = np.zeros((k, k))
    np.add.at(observed, (codes_a, codes_b), 1.0 / n)
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0))
    distance = np.abs(np.subtract.outer(np.arange(k), np.arange(k))).astype(np.float64)
    disagreement = {"none": (distance > 0).astype(np.float64), "linear": distance}.get(
        weights, distance * distance
    )
    d_observed = float(np.sum(disagreement * observed))
    d_expected = float(np.sum(disagreement * expected))
    name = "cohen kappa" if weights == "none" else f"cohen kappa ({weights})"
    return Agreement(
        value=1.0 - d_observed / d_expected if d_expected > 0.0 else math.nan,
        n=n,
        method=name,
        observed_disagreement=d_observed,
        expected_disagreement=d_expected,
    )


def cohen_kappa(
    rater_a: Sequence[Hashable],
    rater_b: Sequence[Hashable],
    *,
    categories: Sequence[Hashable] | None = None,
) -> Agreement:
    """Cohen's κ for two raters on nominal labels: ``(p_o − p_e) / (1 − p_e)``.

    Undefined (NaN) when chance agreement is 1, i.e. both raters use a single category.

    Args:
        rater_a: One label per item.
        rater_b: The other rater's label per item, same order.
        categories: All possible labels; defaults to the sorted labels seen.

    Returns:
        κ with its observed and expected disagreement.

    Reference:
        Cohen, Educ. Psychol. Meas. 20 (1960). Vector ``judge_human_agreement_1to5``.
    """
    return _kappa(rater_a, rater_b, categories, "none")


def weighted_kappa(
    rater_a: Sequence[Hashable],
    rater_b: Sequence[Hashable],
    *,
    weights: KappaWeights = "quadratic",
    categories: Sequence[Hashable] | None = None,
) -> Agreement:
    """Weighted κ for ordinal labels, with linear or quadratic disagreement weights.

    Weights are computed on the *index* of each label in ``categories``. Pass the full scale
    (e.g. ``categories=[1, 2, 3, 4, 5]``): otherwise, as with sklearn without ``labels=``,
    a category nobody used shifts the indices and changes κ. Quadratic κ is asymptotically
    an intraclass correlation (Fleiss & Cohen 1973).

    Args:
        rater_a: One label per item.
        rater_b: The other rater's label per item, same order.
        weights: ``"quadratic"`` (default) or ``"linear"``.
        categories: The ordered scale; defaults to the sorted labels seen.

    Returns:
        Weighted κ with its observed and expected disagreement.

    Reference:
        Cohen, Psychol. Bull. 70 (1968). Vector ``judge_human_agreement_1to5``.
    """
    if weights not in ("linear", "quadratic"):
        raise UsageError(f"weights must be linear or quadratic, got {weights!r}")
    return _kappa(rater_a, rater_b, categories, weights)


def _reliability_matrix(ratings: Sequence[Sequence[float | None]] | FloatArray) -> FloatArray:
    rows = [[math.nan if x is None else float(x) for x in row] for row in ratings]
    if not rows or len({len(row) for row in rows}) != 1:
        raise UsageError("ratings must be a coders x units table with equal-length rows")
    matrix = np.asarray(rows, dtype=np.float64)
    if np.any(np.isinf(matrix)):
        raise UsageError("ratings contain infinite values")
    return matrix


def _metric(level: KrippendorffLevel, values: FloatArray, totals: FloatArray) -> FloatArray:
    """Squared distance δ²_ck between the distinct values, for the level of measurement."""
    if level == "nominal":
        return 1.0 - np.eye(values.size)
    if level == "interval":
        return np.subtract.outer(values, values) ** 2
    if level == "ratio":
        sums = np.add.outer(values, values)
        gaps = np.abs(np.subtract.outer(values, values))
        safe = np.where(sums == 0.0, 1.0, sums)
        return np.where(sums == 0.0, 0.0, gaps / safe) ** 2
    # ordinal: (Σ_{g=c..k} n_g − (n_c + n_k)/2)² with c ≤ k
    cumulative = np.cumsum(totals)
    lo = np.minimum.outer(np.arange(values.size), np.arange(values.size))
    hi = np.maximum.outer(np.arange(values.size), np.arange(values.size))
    between = cumulative[hi] - cumulative[lo] + totals[lo]
    return (between - (totals[lo] + totals[hi]) / 2.0) ** 2


def krippendorff_alpha(
    ratings: Sequence[Sequence[float | None]] | FloatArray,
    *,
    level: KrippendorffLevel = "ordinal",
) -> Agreement:
    """Krippendorff's α for any number of coders, with missing ratings allowed.

    ``α = 1 − D_o / D_e`` from the coincidence matrix of pairable values; units with fewer
    than two ratings are dropped. The ordinal metric uses the value ranks weighted by how
    often each value occurs: ``δ²_ck = (Σ_{g=c..k} n_g − (n_c + n_k)/2)²``. Conventional
    reading: α ≥ 0.800 reliable, ≥ 0.667 tentative. NaN when all pairable values are equal.

    Args:
        ratings: A coders × units table (one row per coder, e.g. ``[human, judge]``);
            ``None`` or NaN marks a missing rating.
        level: ``"nominal"``, ``"ordinal"`` (default), ``"interval"`` or ``"ratio"``.

    Returns:
        α, with n the number of pairable units.

    Reference:
        Krippendorff, *Computing Krippendorff's Alpha-Reliability* (2011). Vector
        ``judge_human_agreement_1to5``.
    """
    if level not in ("nominal", "ordinal", "interval", "ratio"):
        raise UsageError(f"level must be nominal, ordinal, interval or ratio, got {level!r}")
    matrix = _reliability_matrix(ratings)
    present = ~np.isnan(matrix)
    values, codes = np.unique(matrix[present], return_inverse=True)
    counts = np.zeros((matrix.shape[1], values.size))  # units x values
    unit_of = np.nonzero(present)[1]
    np.add.at(counts, (unit_of, codes), 1.0)
    pairable = counts.sum(axis=1)
    counts = counts[pairable >= 2]
    pairable = pairable[pairable >= 2]
    if pairable.size == 0:
        raise UsageError("krippendorff_alpha needs at least one unit rated twice")
    scaled = counts / (pairable - 1.0)[:, None]
    coincidence = counts.T @ scaled - np.diag(scaled.sum(axis=0))
    totals = coincidence.sum(axis=1)
    n = float(totals.sum())
    delta2 = _metric(level, values, totals)
    d_observed = float(np.sum(coincidence * delta2)) / n
    d_expected = float(np.sum(np.outer(totals, totals) * delta2)) / (n * (n - 1.0))
    return Agreement(
        value=1.0 - d_observed / d_expected if d_expected > 0.0 else math.nan,
        n=int(pairable.size),
        method=f"krippendorff alpha ({level})",
        observed_disagreement=d_observed,
        expected_disagreement=d_expected,
    )


def _correlations(x: FloatArray, y: FloatArray) -> dict[str, float]:
    nan = {k: math.nan for k in ("rho", "rho_p", "tau", "tau_p", "r")}
    if x.size < 3 or np.ptp(x) == 0.0 or np.ptp(y) == 0.0:
        return nan
    spearman = sps.spearmanr(x, y)
    kendall = sps.kendalltau(x, y)
    return {
        "rho": float(spearman.statistic),
        "rho_p": float(spearman.pvalue),
        "tau": float(kendall.statistic),
        "tau_p": float(kendall.pvalue),
        "r": float(np.corrcoef(x, y)[0, 1]),
    }


def judge_agreement(
    judge: Scores, human: Scores, *, categories: Sequence[float] | None = None
) -> JudgeAgreement:
    """Every agreement figure worth reporting for judge scores against human labels.

    Exact and within-one agreement, the mean bias (judge − human), Cohen's κ unweighted and
    quadratic, Krippendorff's ordinal α, Spearman ρ, Kendall τ-b and Pearson r. High rank
    correlation can coexist with a systematic leniency and low exact agreement: read them
    together.

    Args:
        judge: Judge score per item.
        human: Human label per item, same order.
        categories: The full ordered scale (e.g. ``[1, 2, 3, 4, 5]``) for the κ indices.

    Returns:
        The figures in one record.

    Reference:
        Vector ``judge_human_agreement_1to5``.
    """
    x, y = as_scores(judge, "judge"), as_scores(human, "human")
    if x.size != y.size or x.size == 0:
        raise UsageError(f"judge and human must rate the same items: {x.size} vs {y.size}")
    gaps = x - y
    judge_labels, human_labels = x.tolist(), y.tolist()
    scale = None if categories is None else [float(c) for c in categories]
    corr = _correlations(x, y)
    return JudgeAgreement(
        n=int(x.size),
        exact=float(np.mean(gaps == 0.0)),
        within_one=float(np.mean(np.abs(gaps) <= 1.0)),
        mean_bias=float(gaps.mean()),
        kappa_unweighted=cohen_kappa(judge_labels, human_labels, categories=scale).value,
        kappa_quadratic=weighted_kappa(judge_labels, human_labels, categories=scale).value,
        alpha_ordinal=krippendorff_alpha([human_labels, judge_labels]).value,
        spearman_rho=corr["rho"],
        spearman_p=corr["rho_p"],
        kendall_tau_b=corr["tau"],
        kendall_p=corr["tau_p"],
        pearson_r=corr["r"],
    )


def _pair_codes(
    judge: Scores, human: Scores, categories: Sequence[float]
) -> tuple[FloatArray, int]:
    """Each (judge, human) pair as one number ``judge_index · k + human_index``."""
    x, y = as_scores(judge, "judge"), as_scores(human, "human")
    if x.size != y.size or x.size == 0:
        raise UsageError(f"judge and human must rate the same items: {x.size} vs {y.size}")
    scale = [float(c) for c in categories]
    index = {c: i for i, c in enumerate(scale)}
    unknown = (set(x.tolist()) | set(y.tolist())) - set(index)
    if unknown:
        raise UsageError(f"labels not in categories: {sorted(unknown)}")
    k = len(scale)
    codes = np.array([index[a] * k + index[b] for a, b in zip(x.tolist(), y.tolist(), strict=True)])
    return codes.astype(np.float64), k


def _quadratic_kappa_of_codes(k: int) -> Callable[..., FloatArray]:
    """A vectorised statistic: quadratic κ of each row of pair codes (NaN without spread)."""
    cells = np.arange(k * k)
    rows_i, cols_j = np.divmod(cells, k)
    weight = ((rows_i - cols_j) / max(k - 1, 1)) ** 2

    def statistic(codes: FloatArray, axis: int = -1) -> FloatArray:
        sample = np.asarray(codes, dtype=np.intp)
        if sample.ndim == 1:
            sample = sample[None, :]
        n = sample.shape[-1]
        counts = np.zeros((sample.shape[0], k * k))
        for cell in range(k * k):  # k² ≤ 25 passes, each vectorised over the resamples
            counts[:, cell] = np.count_nonzero(sample == cell, axis=-1)
        joint = counts / n
        table = joint.reshape(-1, k, k)
        expected = (table.sum(axis=2)[:, :, None] * table.sum(axis=1)[:, None, :]).reshape(
            -1, k * k
        )
        d_obs = joint @ weight
        d_exp = expected @ weight
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(d_exp > 0, 1.0 - d_obs / d_exp, np.nan)

    return statistic


def kappa_interval(
    judge: Scores,
    human: Scores,
    *,
    categories: Sequence[float] = (1, 2, 3, 4, 5),
    confidence: float = 0.95,
    n_resamples: int = 4000,
    seed: int = 0,
) -> Estimate:
    """Quadratic-weighted κ of judge against human with a BCa bootstrap interval over items.

    The items (pairs) are resampled together; a resample with no spread in either rater
    (κ undefined) counts at the low end, so the interval never flatters a judge. The
    coverage of the interval is checked by ``bench/calibration.py``.

    Raises:
        UsageError: fewer than 2 items, unequal lengths, or a score off the scale.
    """
    from evallock.stats.resampling import bootstrap_interval

    codes, k = _pair_codes(judge, human, categories)
    if codes.size < 2:
        raise UsageError("kappa_interval needs at least 2 labelled items")
    kappa = _quadratic_kappa_of_codes(k)

    def statistic(sample: FloatArray, axis: int = -1) -> FloatArray:
        values = kappa(sample, axis)
        return np.where(np.isnan(values), -1.0, values)

    return bootstrap_interval(
        codes, statistic=statistic, confidence=confidence, n_resamples=n_resamples, seed=seed
    )
