"""Means of eval scores with honest standard errors: CLT, clustered, and K trials per case.

The unit of analysis is the eval case (or the cluster of cases), never the individual
sample. Cases that share a context, and repeated trials of one case, are clusters; treating
them as independent understates the SE (Miller 2024, sec. 2–3).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from evallock.errors import UsageError
from evallock.stats._results import Details, Estimate, Interval
from evallock.stats._validate import (
    FloatArray,
    Scores,
    as_scores,
    check_confidence,
    cluster_codes,
    z_critical,
)

__all__ = [
    "ClusterCorrection",
    "ClusteredStandardError",
    "TrialDecomposition",
    "clustered_standard_error",
    "decompose_trials",
    "mean_estimate",
]

ClusterCorrection = Literal["miller", "cr0", "cr1"]
"""Small-sample factor of the clustered SE: Miller eq. 4 (default), the plain sandwich
CR0, or CR1 = CR0·sqrt(C/(C−1)) as in inspect_ai and statsmodels."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ClusteredStandardError:
    """The standard error of a mean score when cases come in correlated clusters."""

    mean: float
    """The mean score over all cases."""
    se: float
    """The clustered standard error of the mean."""
    se_naive: float
    """The CLT standard error that ignores clusters, ``sd(ddof=1) / sqrt(n)``."""
    n: int
    """Number of cases."""
    n_clusters: int
    """Number of distinct clusters."""
    method: str
    """The small-sample correction used: ``"miller"``, ``"cr0"`` or ``"cr1"``."""

    @property
    def ratio(self) -> float:
        """``se / se_naive``: above 1 when clustering inflates the SE (NaN if naive is 0)."""
        return self.se / self.se_naive if self.se_naive > 0.0 else math.nan


@dataclass(frozen=True, kw_only=True, slots=True)
class TrialDecomposition:
    """Between-case and within-case variance of a score measured K times per case."""

    n: int
    """Number of cases."""
    k: int
    """Trials per case."""
    mean: float
    """Grand mean score."""
    case_means: tuple[float, ...]
    """Mean of each case's K trials, in input order."""
    se: float
    """SE of the grand mean: ``sd(case_means, ddof=1) / sqrt(n)`` (trials as clusters)."""
    within_var: float
    """E[σ²ᵢ], the mean of the per-case sample variances (ddof=1)."""
    between_var: float
    """Var(x), ``var(case_means, ddof=1) - within_var / k``, floored at 0."""
    se_naive_pooled: float
    """The wrong SE that treats all n·K answers as independent; shown for contrast."""

    def projected_se(self, k: int) -> float:
        """The SE expected with ``k`` trials per case: ``sqrt((Var(x) + E[σ²]/k) / n)``."""
        if k < 1:
            raise UsageError(f"k must be at least 1, got {k}")
        return math.sqrt((self.between_var + self.within_var / k) / self.n)


def mean_estimate(
    scores: Scores,
    *,
    confidence: float = 0.95,
    ddof: Literal[0, 1] = 1,
    clusters: Sequence[Hashable] | None = None,
) -> Estimate:
    """Mean score with its CLT standard error and normal interval.

    ``SE = sqrt(var(s, ddof=1) / n)`` and ``CI = mean ± z·SE`` (Miller eqs. 1 and 3); with
    ``clusters`` the SE is Miller's clustered SE (eq. 4). ``ddof=0`` gives the variance
    convention of ppi_py's classical interval. For a 0/1 pass rate on a small set prefer
    :func:`evallock.stats.wilson_interval`, which stays inside [0, 1].

    Args:
        scores: One score per case (average repeated trials of a case first).
        confidence: Coverage of the interval.
        ddof: Delta degrees of freedom of the variance (1, or 0 as ppi_py).
        clusters: Optional cluster label per case.

    Returns:
        The estimate; ``details`` has ``n_clusters`` and ``se_naive`` when clustered.

    Reference:
        Miller, arXiv 2411.00640 (2024), eqs. 1, 3, 4.
    """
    check_confidence(confidence)
    values = as_scores(scores, "scores")
    n = values.size
    if n < 1 + ddof:
        raise UsageError(f"mean_estimate needs at least {1 + ddof} scores, got {n}")
    mean = float(values.mean())
    details: Details = {}
    if clusters is None:
        se = math.sqrt(float(np.var(values, ddof=ddof)) / n)
        method = "CLT"
    else:
        clustered = clustered_standard_error(values, clusters)
        se, method = clustered.se, "CLT, clustered SE"
        details = {"n_clusters": clustered.n_clusters, "se_naive": clustered.se_naive}
    half = z_critical(confidence) * se
    interval = Interval(lo=mean - half, hi=mean + half, confidence=confidence, method=method)
    return Estimate(estimate=mean, se=se, interval=interval, n=n, method=method, details=details)


def clustered_standard_error(
    scores: Scores,
    clusters: Sequence[Hashable],
    *,
    correction: ClusterCorrection = "miller",
) -> ClusteredStandardError:
    """Cluster-robust standard error of a mean score (Miller 2024, eq. 4).

    ``SE² = var(s, ddof=1)/n + (1/n²) Σ_c Σ_{i≠j∈c} (s_i − s̄)(s_j − s̄)``: the CLT variance
    plus the within-cluster cross products. For a paired comparison pass the per-case
    differences ``b - a`` (eq. 8); clustering can then *shrink* the SE when differences
    within a cluster are negatively correlated. For K trials per case pass every trial with
    the case id as its cluster (or use :func:`decompose_trials` when K is the same for all).

    The variants differ only in small-sample factors: Miller's is CR0 with the diagonal
    scaled by n/(n−1); ``"cr1"`` multiplies CR0 by sqrt(C/(C−1)) (inspect_ai's
    ``stderr(cluster=...)`` and statsmodels' default). With few clusters (< ~30–50) all of
    them under-cover: use t with C−1 degrees of freedom or a cluster bootstrap
    (:func:`evallock.stats.bootstrap_interval` with ``clusters``).

    Args:
        scores: One score per case.
        clusters: Cluster label per case (any hashable).
        correction: ``"miller"`` (default), ``"cr0"`` or ``"cr1"``.

    Returns:
        The clustered SE next to the naive CLT SE.

    Reference:
        Miller, arXiv 2411.00640 (2024), eq. 4; vectors ``clustered_se_15q_5clusters``.
    """
    values = as_scores(scores, "scores")
    n = values.size
    if n < 2:
        raise UsageError(f"clustered_standard_error needs at least 2 scores, got {n}")
    if correction not in ("miller", "cr0", "cr1"):
        raise UsageError(f"correction must be miller, cr0 or cr1, got {correction!r}")
    codes = cluster_codes(clusters, n)
    n_clusters = int(codes.max()) + 1
    residuals = values - values.mean()
    sum_squares = float(np.sum(residuals * residuals))
    cluster_sums = np.bincount(codes, weights=residuals, minlength=n_clusters)
    between = float(np.sum(cluster_sums * cluster_sums))  # Σ_c (Σ_{i∈c} e_i)²
    if correction == "miller":
        # Σe²/((n−1)n) + (Σ_c(Σe)² − Σe²)/n², which simplifies to (Σe²/(n−1) + Σ_c(Σe)²)/n²
        variance = (sum_squares / (n - 1) + between) / (n * n)
    elif correction == "cr0":
        variance = between / (n * n)
    else:
        if n_clusters < 2:
            raise UsageError("the cr1 correction needs at least 2 clusters")
        variance = n_clusters / (n_clusters - 1) * between / (n * n)
    return ClusteredStandardError(
        mean=float(values.mean()),
        se=math.sqrt(max(variance, 0.0)),
        se_naive=math.sqrt(sum_squares / (n - 1) / n),
        n=n,
        n_clusters=n_clusters,
        method=correction,
    )


def _trial_matrix(scores: Sequence[Sequence[float]] | FloatArray) -> FloatArray:
    try:
        matrix = np.asarray(scores, dtype=np.float64)
    except ValueError as error:  # ragged rows
        raise UsageError("every case needs the same number of trials") from error
    if matrix.ndim != 2:
        raise UsageError(f"scores must be a cases x trials table, got shape {matrix.shape}")
    if not np.all(np.isfinite(matrix)):
        raise UsageError("scores contain NaN or infinite values")
    return matrix


def decompose_trials(scores: Sequence[Sequence[float]] | FloatArray) -> TrialDecomposition:
    """Split the variance of a score measured K times per case into between and within.

    Each case's K answers form a cluster: average them per case first and take the SE of
    the case means. The within-case variance E[σ²ᵢ] is what extra trials reduce; the
    between-case variance Var(x) is the floor as K → ∞, so
    ``SE(K) = sqrt((Var(x) + E[σ²]/K) / n)`` (see :meth:`TrialDecomposition.projected_se`).
    For unequal trial counts use :func:`clustered_standard_error` with case ids.

    Args:
        scores: A cases × trials table (n ≥ 2 rows, K ≥ 2 columns).

    Returns:
        The decomposition, with the naive pooled SE for contrast.

    Reference:
        Miller, arXiv 2411.00640 (2024), sec. 3; vector ``resampled_answers_K4``.
    """
    matrix = _trial_matrix(scores)
    n, k = matrix.shape
    if n < 2 or k < 2:
        raise UsageError(f"decompose_trials needs at least 2 cases and 2 trials, got {n}x{k}")
    case_means = matrix.mean(axis=1)
    var_of_means = float(np.var(case_means, ddof=1))
    within = float(np.mean(np.var(matrix, axis=1, ddof=1)))
    return TrialDecomposition(
        n=n,
        k=k,
        mean=float(matrix.mean()),
        case_means=tuple(float(m) for m in case_means),
        se=math.sqrt(var_of_means / n),
        within_var=within,
        between_var=max(0.0, var_of_means - within / k),
        se_naive_pooled=math.sqrt(float(np.var(matrix, ddof=1)) / (n * k)),
    )
