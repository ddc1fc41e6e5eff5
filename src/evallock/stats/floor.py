"""The floor verdict: does B beat A by at least a minimum effect, with bound and test agreeing?

"B wins" means the one-sided lower confidence bound on the paired difference exceeds the
floor (0 for plain superiority, a minimum effect, or minus a margin for non-inferiority).
Each function here computes the bound and the one-sided p-value of H0: Δ ≤ floor from the
*same* statistic, so ``clears`` is both "bound > floor" and "p ≤ 1 − confidence": a report
can never show a winning p-value next to an interval that still contains the floor.

- pass/fail outcomes: :func:`paired_floor_test`, Tango's score statistic, with its exact
  unconditional version at small n (guaranteed level);
- scores (1–5 judge scores, continuous): :func:`mean_floor_test`, the paired t.

The power of these rules, and the cases they need, are in :mod:`evallock.stats.floor_power`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from evallock.errors import UsageError
from evallock.stats._lazy import lazy_module
from evallock.stats._results import Details
from evallock.stats._validate import Scores, check_confidence, paired_differences
from evallock.stats.paired_proportions import (
    EXACT_MAX_N,
    exact_floor_decision,
    tango_interval,
    tango_statistic,
)

sps = lazy_module("scipy.stats")

__all__ = [
    "EXACT_AUTO_MAX_N",
    "FloorMethod",
    "FloorVerdict",
    "mean_floor_test",
    "paired_floor_test",
]

FloorMethod = Literal["auto", "score", "exact"]
"""Tango's asymptotic score test, its exact unconditional version, or exact up to
:data:`EXACT_AUTO_MAX_N` cases and score above."""

EXACT_AUTO_MAX_N = 200
"""``method="auto"`` uses the exact test up to this many cases (well under a second at 200)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class FloorVerdict:
    """Whether B beats A by more than a floor: the lower bound and the test, which agree."""

    clears: bool
    """True when the lower bound exceeds the floor (equivalently p ≤ 1 − confidence)."""
    estimate: float
    """The paired difference B − A (of pass rates, or of mean scores)."""
    lower: float
    """One-sided lower confidence bound on the difference at ``confidence``."""
    floor: float
    """The difference B had to beat."""
    p_value: float
    """One-sided p-value of H0: difference ≤ floor."""
    confidence: float
    """Coverage of the one-sided bound; the test's level is 1 − confidence."""
    method: str
    """How bound and p-value were computed, e.g. ``"tango score"``."""
    n: int
    """Paired cases."""
    details: Details = field(default_factory=dict)
    """Counts, standard error, degrees of freedom, … as the method has them."""


def _check_floor(floor: float) -> None:
    if not -1.0 < floor < 1.0:
        raise UsageError(f"floor must be a difference of rates in (-1, 1), got {floor}")


def paired_floor_test(
    *,
    only_a: int,
    only_b: int,
    n: int,
    floor: float = 0.0,
    confidence: float = 0.95,
    method: FloorMethod = "auto",
) -> FloorVerdict:
    """The floor verdict for paired pass/fail outcomes: lower bound on p_B − p_A > floor?

    ``"score"``: Tango's score statistic Z at the floor; p = 1 − Φ(Z) and the bound is
    Tango's one-sided interval, so the two agree exactly. Its level is asymptotic: with
    n ≤ ~100 and nearly all discordant cases going B's way the one-sided error can reach
    7–9 % at a nominal 5 %. ``"exact"``: the exact unconditional p-value of the same
    statistic (maximised over the unknown discordance) and the bound that inverts it, kept
    in step by :func:`~evallock.stats.paired_proportions.exact_floor_decision`; the level
    is guaranteed at every n and discordance. ``"auto"`` (default) is exact up to
    :data:`EXACT_AUTO_MAX_N` cases. A 0.95 one-sided bound is the lower end of a two-sided
    90 % interval; a two-sided 95 % interval's lower end is the 0.975 one-sided bound.

    Args:
        only_a: Cases that pass under A and fail under B.
        only_b: Cases that pass under B and fail under A.
        n: All paired cases (the concordant ones count in n).
        floor: The difference B must beat: 0, a minimum effect, or −margin.
        confidence: Coverage of the one-sided lower bound (level = 1 − confidence).
        method: ``"auto"``, ``"score"`` or ``"exact"``.

    Returns:
        The verdict; ``details`` has ``only_a``, ``only_b`` and the statistic ``z``.

    Reference:
        Tango, Statistics in Medicine 17 (1998) 891–908; Berger & Boos, JASA 89 (1994).
        On vector ``mcnemar_small_n40`` (b = 3, c = 11) the exact one-sided p is 0.0192,
        between the conditional mid-p (0.0176) and exact (0.0287) one-sided values.

    Example:
        >>> verdict = paired_floor_test(only_a=3, only_b=11, n=40, floor=0.0)
        >>> verdict.clears, round(verdict.lower, 4), round(verdict.p_value, 4)
        (True, 0.0393, 0.0192)
    """
    _check_floor(floor)
    check_confidence(confidence)
    if method not in ("auto", "score", "exact"):
        raise UsageError(f"method must be auto, score or exact, got {method!r}")
    z = tango_statistic(only_a=only_a, only_b=only_b, n=n, delta0=floor)
    exact = method == "exact" or (method == "auto" and n <= EXACT_AUTO_MAX_N)
    if exact:
        if n > EXACT_MAX_N:
            raise UsageError(f"the exact floor test takes n <= {EXACT_MAX_N}; use 'score'")
        decision = exact_floor_decision(
            only_a=only_a, only_b=only_b, n=n, floor=floor, confidence=confidence
        )
        p, lower = decision.p_value, decision.lower
        clears, name = lower > floor, "exact unconditional score"
    else:
        p = float(sps.norm.sf(z))
        bound = tango_interval(
            only_a=only_a, only_b=only_b, n=n, confidence=confidence, side="lower"
        )
        lower = bound.lo
        clears, name = z > float(sps.norm.isf(1.0 - confidence)), "tango score"
    return FloorVerdict(
        clears=bool(clears),
        estimate=(only_b - only_a) / n,
        lower=lower,
        floor=floor,
        p_value=p,
        confidence=confidence,
        method=name,
        n=n,
        details={"only_a": only_a, "only_b": only_b, "z": z},
    )


def mean_floor_test(
    a: Scores, b: Scores, *, floor: float = 0.0, confidence: float = 0.95
) -> FloorVerdict:
    """The floor verdict for paired scores: one-sided t lower bound on mean(b − a) > floor?

    ``lower = d̄ − t_{confidence, n−1}·s/√n`` and ``p = P(T_{n−1} ≥ (d̄ − floor)/(s/√n))``,
    so ``clears`` is both "lower > floor" and "p ≤ 1 − confidence". Exact when the
    per-case differences are normal, by the CLT otherwise (for n below ~20 on a 1–5 scale,
    confirm with :func:`evallock.stats.permutation_test` at ``null`` shifted by the floor).
    With zero variance the bound is the mean itself.

    Args:
        a: Score of variant A per case.
        b: Score of variant B per case, same order.
        floor: The mean difference B must beat.
        confidence: Coverage of the one-sided lower bound.

    Returns:
        The verdict; ``details`` has ``se``, ``sd``, ``df`` and ``t``.

    Reference:
        Student (1908); the one-sided test of H0: Δ ≤ δ_min (statistics.md §3.3).

    Example:
        >>> verdict = mean_floor_test([3, 4, 3, 5, 4, 2], [4, 5, 4, 5, 4, 4], floor=0.1)
        >>> verdict.clears, round(verdict.lower, 3)
        (True, 0.214)
    """
    check_confidence(confidence)
    d = paired_differences(a, b)
    n = d.size
    if n < 2:
        raise UsageError(f"mean_floor_test needs at least 2 pairs, got {n}")
    mean, sd = float(d.mean()), float(np.std(d, ddof=1))
    se, df = sd / math.sqrt(n), n - 1
    if se > 0.0:
        t = (mean - floor) / se
        p = float(sps.t.sf(t, df))
        lower = mean - float(sps.t.isf(1.0 - confidence, df)) * se
        clears = t > float(sps.t.isf(1.0 - confidence, df))
    else:
        t = math.inf if mean > floor else (-math.inf if mean < floor else 0.0)
        p, lower, clears = (0.0 if mean > floor else 1.0), mean, mean > floor
    return FloorVerdict(
        clears=bool(clears),
        estimate=mean,
        lower=lower,
        floor=floor,
        p_value=p,
        confidence=confidence,
        method="paired t",
        n=n,
        details={"se": se, "sd": sd, "df": df, "t": t},
    )
