"""Multiple comparisons: adjusted p-values for several variants, metrics or slices.

Use Holm for ship decisions across several variants or metrics (family-wise error, valid
under any dependence) and Benjamini-Hochberg for exploratory slice scans and alerts across
many monitored streams (false discovery rate). Every adjustment returns p-values in the
input order that are monotone in the raw p-values, never below them, and capped at 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from evallock.errors import UsageError
from evallock.stats._lazy import lazy_module
from evallock.stats._validate import FloatArray

sps = lazy_module("scipy.stats")

__all__ = [
    "AdjustedPValues",
    "adjust_benjamini_hochberg",
    "adjust_benjamini_yekutieli",
    "adjust_bonferroni",
    "adjust_hochberg",
    "adjust_holm",
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
