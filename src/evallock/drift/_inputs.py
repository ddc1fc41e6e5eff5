"""Input drift: has the mix of requests (intent, tier, language …) moved from the baseline?

Per key, the Population Stability Index (PSI, with the usual reading: < 0.1
stable, 0.1–0.25 moderate, > 0.25 major shift; empty bins smoothed) and a
chi-square test of homogeneity between the two windows' counts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from evallock._lazy import lazy_module

sps = lazy_module("scipy.stats")

__all__ = ["MODERATE_PSI", "KeyShift", "key_shift", "psi"]

_EPSILON = 1e-4


@dataclass(frozen=True, kw_only=True, slots=True)
class KeyShift:
    """How one key's mix moved between the baseline and the current window."""

    key: str
    """The key, e.g. ``intent``."""
    psi: float
    """Population Stability Index."""
    chi2: float
    """Chi-square statistic of homogeneity."""
    p_value: float
    """Its p-value (1 when there is a single category)."""
    level: str
    """``stable``, ``moderate`` or ``major`` by the PSI."""
    biggest_change: str
    """The category whose share moved most, e.g. ``enterprise 12% → 31%``."""


MODERATE_PSI = 0.1
"""A population stability index from here up is a moderate shift of the mix."""


def psi(expected: Mapping[str, int], actual: Mapping[str, int]) -> float:
    """PSI between two count tables over the union of their categories."""
    categories = set(expected) | set(actual)
    total_e = sum(expected.values()) or 1
    total_a = sum(actual.values()) or 1
    value = 0.0
    for category in categories:
        e = max(expected.get(category, 0) / total_e, _EPSILON)
        a = max(actual.get(category, 0) / total_a, _EPSILON)
        value += (a - e) * math.log(a / e)
    return value


def key_shift(key: str, baseline: Mapping[str, int], current: Mapping[str, int]) -> KeyShift:
    """PSI and chi-square homogeneity of one key between two windows."""
    categories = sorted(set(baseline) | set(current))
    value = psi(baseline, current)
    chi2, p = 0.0, 1.0
    if len(categories) > 1 and sum(baseline.values()) > 0 and sum(current.values()) > 0:
        table = [[baseline.get(c, 0) for c in categories], [current.get(c, 0) for c in categories]]
        kept = [i for i in range(len(categories)) if table[0][i] + table[1][i] > 0]
        table = [[row[i] for i in kept] for row in table]
        if len(kept) > 1:
            result = sps.chi2_contingency(table, correction=False)
            chi2, p = float(result.statistic), float(result.pvalue)
    total_b = sum(baseline.values()) or 1
    total_c = sum(current.values()) or 1
    moved = max(
        categories,
        key=lambda c: abs(current.get(c, 0) / total_c - baseline.get(c, 0) / total_b),
        default="",
    )
    change = (
        f"{moved} {baseline.get(moved, 0) / total_b:.0%} → {current.get(moved, 0) / total_c:.0%}"
        if moved
        else ""
    )
    level = "stable" if value < MODERATE_PSI else "moderate" if value < 0.25 else "major"
    return KeyShift(key=key, psi=value, chi2=chi2, p_value=p, level=level, biggest_change=change)
