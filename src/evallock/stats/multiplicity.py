"""Multiple comparisons: adjusted p-values for several variants, metrics or slices.

Use Holm for ship decisions across several variants or metrics (family-wise error, valid
under any dependence) and Benjamini-Hochberg for exploratory slice scans and alerts across
many monitored streams (false discovery rate). Every adjustment returns p-values in the
input order that are monotone in the raw p-values, never below them, and capped at 1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from evallock.errors import UsageError
from evallock.stats._lazy import lazy_module
from evallock.stats._validate import FloatArray, check_confidence

sps = lazy_module("scipy.stats")

__all__ = [
    "AdjustedPValues",
    "FamilyMethod",
    "FloorFamily",
    "adjust_benjamini_hochberg",
    "adjust_benjamini_yekutieli",
    "adjust_bonferroni",
    "adjust_floor_tests",
    "adjust_hochberg",
    "adjust_holm",
    "simultaneous_confidence",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class AdjustedPValues:
    """Raw and adjusted p-values of one family of tests, in the input order."""

    raw: tuple[float, ...]
    """The p-values as given."""
    adjusted: tuple[float, ...]
    """The adjusted p-values: compare each with alpha."""
    method: str
    """The adjustment, e.g. ``"holm"`` or ``"benjamini-hochberg"``."""
    controls: str
    """What the adjustment controls: ``"FWER"`` or ``"FDR"``."""

    def reject(self, alpha: float = 0.05) -> tuple[bool, ...]:
        """Which hypotheses are rejected at level ``alpha`` (adjusted p ≤ alpha)."""
        return tuple(p <= alpha for p in self.adjusted)


def _as_p_values(p_values: Sequence[float]) -> FloatArray:
    array = np.asarray(p_values, dtype=np.float64)
    if array.ndim != 1:
        raise UsageError(f"p_values must be one-dimensional, got shape {array.shape}")
    if np.any(np.isnan(array)) or np.any((array < 0.0) | (array > 1.0)):
        raise UsageError("p_values must all lie in [0, 1]")
    return array


def _result(raw: FloatArray, adjusted: FloatArray, method: str, controls: str) -> AdjustedPValues:
    capped = np.minimum(np.maximum(adjusted, raw), 1.0)
    return AdjustedPValues(
        raw=tuple(raw.tolist()), adjusted=tuple(capped.tolist()), method=method, controls=controls
    )


def adjust_bonferroni(p_values: Sequence[float]) -> AdjustedPValues:
    """Bonferroni: ``min(1, m·p)``. Controls FWER under any dependence; Holm dominates it.

    Args:
        p_values: Raw p-values of the m tests.

    Returns:
        Adjusted p-values in input order.

    Reference:
        Vector ``multiplicity_10_slices``.
    """
    raw = _as_p_values(p_values)
    return _result(raw, raw * raw.size, "bonferroni", "FWER")


def adjust_holm(p_values: Sequence[float]) -> AdjustedPValues:
    """Holm's step-down adjustment: ``p_adj(i) = max_{j≤i} min(1, (m−j+1)·p_(j))``.

    Controls the family-wise error rate under any dependence and is uniformly more powerful
    than Bonferroni: the default for "ship B" decisions over several variants or metrics.

    Args:
        p_values: Raw p-values of the m tests.

    Returns:
        Adjusted p-values in input order.

    Reference:
        Holm, Scand. J. Statist. 6 (1979). Vector ``multiplicity_10_slices``.
    """
    raw = _as_p_values(p_values)
    m = raw.size
    order = np.argsort(raw, kind="stable")
    stepped = np.maximum.accumulate((m - np.arange(m)) * raw[order])
    adjusted = np.empty(m)
    adjusted[order] = stepped
    return _result(raw, adjusted, "holm", "FWER")


def adjust_hochberg(p_values: Sequence[float]) -> AdjustedPValues:
    """Hochberg's step-up adjustment: ``p_adj(i) = min_{j≥i} (m−j+1)·p_(j)``.

    More powerful than Holm but valid only under positive dependence (PRDS), e.g.
    independent tests or positively correlated slices of one eval.

    Args:
        p_values: Raw p-values of the m tests.

    Returns:
        Adjusted p-values in input order.

    Reference:
        Hochberg, Biometrika 75 (1988). Vector ``multiplicity_10_slices``.
    """
    raw = _as_p_values(p_values)
    m = raw.size
    order = np.argsort(raw, kind="stable")
    scaled = (m - np.arange(m)) * raw[order]
    stepped = np.minimum.accumulate(scaled[::-1])[::-1]
    adjusted = np.empty(m)
    adjusted[order] = stepped
    return _result(raw, adjusted, "hochberg", "FWER")


def adjust_benjamini_hochberg(p_values: Sequence[float]) -> AdjustedPValues:
    """Benjamini-Hochberg: ``p_adj(i) = min_{j≥i} min(1, m·p_(j)/j)``, controlling the FDR.

    Valid for independent or positively dependent (PRDS) tests. Use it for slice scans and
    for alerts across many monitored streams, where a few false leads are acceptable.

    Args:
        p_values: Raw p-values of the m tests.

    Returns:
        Adjusted p-values in input order.

    Reference:
        Benjamini & Hochberg, JRSS-B 57 (1995). Vector ``multiplicity_10_slices``.
    """
    raw = _as_p_values(p_values)
    if raw.size == 0:
        return _result(raw, raw, "benjamini-hochberg", "FDR")
    adjusted = np.asarray(sps.false_discovery_control(raw, method="bh"), dtype=np.float64)
    return _result(raw, adjusted, "benjamini-hochberg", "FDR")


def adjust_benjamini_yekutieli(p_values: Sequence[float]) -> AdjustedPValues:
    """Benjamini-Yekutieli: BH multiplied by ``Σ_{k≤m} 1/k``; FDR under any dependence.

    Args:
        p_values: Raw p-values of the m tests.

    Returns:
        Adjusted p-values in input order.

    Reference:
        Benjamini & Yekutieli, Ann. Statist. 29 (2001). Vector ``multiplicity_10_slices``.
    """
    raw = _as_p_values(p_values)
    if raw.size == 0:
        return _result(raw, raw, "benjamini-yekutieli", "FDR")
    adjusted = np.asarray(sps.false_discovery_control(raw, method="by"), dtype=np.float64)
    return _result(raw, adjusted, "benjamini-yekutieli", "FDR")


FamilyMethod = Literal["holm", "bonferroni"]
"""Family-wise adjustment of one-sided floor tests: Holm (default) or Bonferroni."""


@dataclass(frozen=True, kw_only=True, slots=True)
class FloorFamily:
    """Floor verdicts over several slices (or variants), family-wise error controlled."""

    names: tuple[str, ...]
    """The slices, in input order."""
    raw: tuple[float, ...]
    """Each slice's one-sided p-value of H0: difference ≤ floor."""
    adjusted: tuple[float, ...]
    """The adjusted p-values: a slice wins when its adjusted p ≤ alpha."""
    wins: tuple[bool, ...]
    """Per slice, "B beats the floor" with the family-wise error held at alpha."""
    alpha: float
    """The family-wise level."""
    method: str
    """``"holm"`` or ``"bonferroni"``."""
    bound_confidence: float
    """Confidence of each slice's lower bound to show next to the verdicts: 1 − alpha/m."""


def simultaneous_confidence(confidence: float, m: int) -> float:
    """Per-interval confidence that makes m one-sided bounds hold together (Bonferroni).

    ``1 − (1 − confidence)/m``: with each of m lower bounds at this level, all m hold at
    once with probability at least ``confidence`` whatever their dependence, so "bound >
    floor" on any slice is a family-wise controlled win. Pass it as ``confidence`` to
    :func:`evallock.stats.paired_floor_test` or :func:`evallock.stats.mean_floor_test`.

    Args:
        confidence: Family-wise coverage, e.g. 0.95.
        m: Number of bounds (slices, variants, metrics) in the family.

    Returns:
        The per-bound confidence.

    Reference:
        Bonferroni (1936); Dunn, JASA 56 (1961).

    Example:
        >>> round(simultaneous_confidence(0.95, 10), 6)
        0.995
    """
    check_confidence(confidence)
    if m < 1:
        raise UsageError(f"m must be at least 1, got {m}")
    return 1.0 - (1.0 - confidence) / m


def adjust_floor_tests(
    p_values: Mapping[str, float] | Sequence[float],
    *,
    alpha: float = 0.05,
    method: FamilyMethod = "holm",
) -> FloorFamily:
    """Family-wise control of per-slice floor verdicts ("B wins on slice s").

    Takes each slice's one-sided p-value of H0: Δ_s ≤ floor (``FloorVerdict.p_value``) and
    applies Holm (default) or Bonferroni, so the chance that *any* slice is declared a win
    while B does not beat the floor there is at most alpha, under any dependence between
    slices. Holm wins on every slice Bonferroni does, and sometimes more; its decisions
    have no matching simultaneous intervals, so report the Bonferroni-level bounds
    (``bound_confidence``) beside them: a slice whose Bonferroni bound clears the floor is
    a Holm win as well.

    Args:
        p_values: One-sided floor p-value per slice (a mapping keeps the slice names).
        alpha: The family-wise level.
        method: ``"holm"`` or ``"bonferroni"``.

    Returns:
        Raw and adjusted p-values, the wins, and the per-bound confidence.

    Reference:
        Holm, Scand. J. Statist. 6 (1979); vector ``multiplicity_10_slices``.
    """
    if not 0.0 < alpha < 1.0:
        raise UsageError(f"alpha must be in (0, 1), got {alpha}")
    if method not in ("holm", "bonferroni"):
        raise UsageError(f"method must be holm or bonferroni, got {method!r}")
    if isinstance(p_values, Mapping):
        names = tuple(str(name) for name in p_values)
        values = [float(p) for p in p_values.values()]
    else:
        values = [float(p) for p in p_values]
        names = tuple(str(i) for i in range(len(values)))
    if not values:
        raise UsageError("adjust_floor_tests needs at least one p-value")
    adjusted = adjust_holm(values) if method == "holm" else adjust_bonferroni(values)
    return FloorFamily(
        names=names,
        raw=adjusted.raw,
        adjusted=adjusted.adjusted,
        wins=adjusted.reject(alpha),
        alpha=alpha,
        method=method,
        bound_confidence=simultaneous_confidence(1.0 - alpha, len(values)),
    )
