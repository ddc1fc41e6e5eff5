"""Power of the floor verdict itself, and the cases it needs: P(lower bound > floor).

:mod:`evallock.stats.power` plans a test of "no difference"; a team that ships on "B beats
A by at least the floor" needs the power of *that* rule, which is lower (the bound must
clear the floor, not 0). Here the rule is exactly the one :mod:`evallock.stats.floor`
applies, so the planned and the applied verdict cannot drift apart:

- pass/fail (:func:`paired_binary_floor_power`): the exact probability, summed over every
  possible table, that the rule clears the floor when the true difference is ``effect``
  and a share ``discordant`` of cases disagree. Exact for the score and the exact rule;
  it moves up and down by a point or so between neighbouring n (discreteness).
- scores (:func:`paired_t_floor_power`): the noncentral t, exact for normal differences.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from evallock.errors import UsageError
from evallock.stats._lazy import lazy_module
from evallock.stats._validate import check_confidence, check_probability
from evallock.stats.floor import EXACT_AUTO_MAX_N, FloorMethod
from evallock.stats.paired_proportions import (
    EXACT_MAX_N,
    critical_wins,
    exact_critical_value,
    upper_tail,
)

sps = lazy_module("scipy.stats")
optimize = lazy_module("scipy.optimize")

__all__ = [
    "FloorPower",
    "paired_binary_floor_mde",
    "paired_binary_floor_power",
    "paired_binary_floor_sample_size",
    "paired_t_floor_mde",
    "paired_t_floor_power",
    "paired_t_floor_sample_size",
]

_MAX_N = 1_000_000


@dataclass(frozen=True, kw_only=True, slots=True)
class FloorPower:
    """The power of the floor rule at an effect and n, or the n or effect that reaches a power."""

    n: int
    """Paired cases (given, or the smallest reaching the target power)."""
    n_exact: float
    """The unrounded n where the method has one (noncentral t), else ``float(n)``."""
    effect: float
    """The true difference B − A (given, or the minimum detectable one)."""
    floor: float
    """The difference the lower bound must exceed."""
    power: float
    """P(lower bound > floor) at this effect and n."""
    alpha: float
    """One-sided level of the rule, 1 − confidence."""
    discordant: float | None
    """Pass/fail: the share of cases where A and B disagree (ψ); None for scores."""
    sd: float | None
    """Scores: the SD of the per-case difference; None for pass/fail."""
    method: str
    """The rule: ``"tango score"``, ``"exact unconditional score"`` or ``"paired t"``."""


# --- pass/fail ---------------------------------------------------------------------------


def _check_binary(effect: float, discordant: float, floor: float) -> None:
    if not 0.0 < discordant <= 1.0:
        raise UsageError(f"discordant must be a share in (0, 1], got {discordant}")
    if abs(effect) > discordant:
        raise UsageError(f"need |effect| <= discordant, got effect={effect}, {discordant}")
    if not -1.0 < floor < 1.0:
        raise UsageError(f"floor must be in (-1, 1), got {floor}")


def _binary_method(method: FloorMethod, n: int) -> bool:
    """Whether the rule at this n is the exact one."""
    if method not in ("auto", "score", "exact"):
        raise UsageError(f"method must be auto, score or exact, got {method!r}")
    exact = method == "exact" or (method == "auto" and n <= EXACT_AUTO_MAX_N)
    if exact and n > EXACT_MAX_N:
        raise UsageError(f"the exact rule takes n <= {EXACT_MAX_N}; use method='score'")
    return exact


def _binary_power(
    n: int, effect: float, discordant: float, floor: float, alpha: float, exact: bool
) -> float:
    threshold = exact_critical_value(n, floor, alpha) if exact else float(sps.norm.isf(alpha))
    x_star = critical_wins(n, floor, threshold)
    p_b = np.array([(discordant + effect) / 2.0])
    p_a = np.array([max((discordant - effect) / 2.0, 0.0)])
    return float(min(1.0, upper_tail(n, x_star, p_b, p_a)[0]))


def paired_binary_floor_power(
    n: int,
    *,
    effect: float,
    discordant: float,
    floor: float = 0.0,
    confidence: float = 0.95,
    method: FloorMethod = "auto",
) -> FloorPower:
    """P(the paired pass/fail floor rule clears ``floor``) with n cases, exactly.

    Sums the multinomial probability of every table (B-only, A-only, concordant) with
    cell probabilities ((ψ + Δ)/2, (ψ − Δ)/2, 1 − ψ) over the tables where
    :func:`evallock.stats.paired_floor_test` clears the floor; no normal approximation.
    At ``effect == floor`` it is the rule's type I error at that discordance. For the exact
    rule it is the power of the exact test at the floor; the verdict's monotone p-value
    can only be larger, on the rare tables where the exact p-value wobbles, so the real
    power is at most this (equal in every case checked).

    Args:
        n: Paired cases.
        effect: True difference of pass rates p_B − p_A.
        discordant: ψ, the share of cases where A and B disagree (``|effect| <= ψ``).
        floor: The difference the lower bound must exceed.
        confidence: Coverage of the one-sided bound (level = 1 − confidence).
        method: The rule, as in :func:`evallock.stats.paired_floor_test`.

    Returns:
        The power in ``power``.

    Reference:
        Tango (1998); Connor, Biometrics 43 (1987) for the discordance parametrisation.
    """
    if n < 1:
        raise UsageError(f"n must be at least 1, got {n}")
    _check_binary(effect, discordant, floor)
    check_confidence(confidence)
    exact = _binary_method(method, n)
    alpha = 1.0 - confidence
    return FloorPower(
        n=n,
        n_exact=float(n),
        effect=effect,
        floor=floor,
        power=_binary_power(n, effect, discordant, floor, alpha, exact),
        alpha=alpha,
        discordant=discordant,
        sd=None,
        method="exact unconditional score" if exact else "tango score",
    )


def _normal_binary_n(
    effect: float, discordant: float, floor: float, alpha: float, power: float
) -> float:
    """The large-sample n for the score rule: null variance at the floor, alternative ψ − Δ²."""
    p_b, p_a = (discordant + effect) / 2.0, (discordant - effect) / 2.0
    w = -p_b - p_a + (2.0 - p_b + p_a) * floor
    q = (math.sqrt(max(w * w + 8.0 * p_a * floor * (1.0 - floor), 0.0)) - w) / 4.0
    sd_null = math.sqrt(max(2.0 * q + floor * (1.0 - floor), 1e-12))
    sd_alt = math.sqrt(max(discordant - effect * effect, 1e-12))
    z_alpha, z_beta = float(sps.norm.isf(alpha)), float(sps.norm.ppf(power))
    return ((z_alpha * sd_null + z_beta * sd_alt) / (effect - floor)) ** 2


def _first_n(reaches: Callable[[int], bool], guess: float) -> int:
    """The smallest n with ``reaches(n)``, assuming it holds from some n on (bisection)."""
    lo, hi = 1, max(2, math.ceil(guess))
    while not reaches(hi):
        lo, hi = hi, hi * 2
        if hi > _MAX_N:
            raise UsageError(f"no n up to {_MAX_N} reaches the target power")
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if reaches(mid) else (mid + 1, hi)
    return hi


def paired_binary_floor_sample_size(
    effect: float,
    *,
    discordant: float,
    floor: float = 0.0,
    confidence: float = 0.95,
    power: float = 0.8,
    method: FloorMethod = "score",
) -> FloorPower:
    """Cases needed for the paired pass/fail floor rule to clear ``floor`` with ``power``.

    Starts from the large-sample formula ``n = (z_α σ0 + z_β σ1)² / (Δ − floor)²`` (σ0²
    Tango's null variance at the floor, σ1² = ψ − Δ²; at floor 0 this is Connor's n) and
    bisects on the exact power of :func:`paired_binary_floor_power`. Exact power is not
    monotone in n; the n returned reaches the target, and its neighbours may differ by a
    point of power. Use ``method="score"`` (default) for plans beyond a few hundred cases.

    Args:
        effect: True difference p_B − p_A to plan for (above the floor).
        discordant: ψ, the expected share of cases where A and B disagree.
        floor: The difference the lower bound must exceed.
        confidence: Coverage of the one-sided bound.
        power: Target power.
        method: The rule; ``"auto"`` or ``"exact"`` only for plans up to 200–400 cases.

    Returns:
        ``n`` and the power reached there.

    Reference:
        Connor, Biometrics 43 (1987); Tango (1998).
    """
    _check_binary(effect, discordant, floor)
    check_confidence(confidence)
    check_probability(power, "power")
    if effect <= floor:
        raise UsageError(f"effect must exceed the floor, got effect={effect}, floor={floor}")
    alpha = 1.0 - confidence
    guess = _normal_binary_n(effect, discordant, floor, alpha, power)

    def reaches(n: int) -> bool:
        exact = _binary_method(method, n)
        return _binary_power(n, effect, discordant, floor, alpha, exact) >= power

    n = _first_n(reaches, guess * 0.8)
    return paired_binary_floor_power(
        n, effect=effect, discordant=discordant, floor=floor, confidence=confidence, method=method
    )


def paired_binary_floor_mde(
    n: int,
    *,
    discordant: float,
    floor: float = 0.0,
    confidence: float = 0.95,
    power: float = 0.8,
    method: FloorMethod = "auto",
) -> FloorPower:
    """The smallest true p_B − p_A the pass/fail floor rule clears with ``power`` at n cases.

    Solves ``paired_binary_floor_power(n, effect=Δ, ...) = power`` for Δ in (floor, ψ]
    (power increases with Δ at fixed ψ). ``inf`` when even Δ = ψ (B wins every discordant
    case) does not reach the power.

    Args:
        n: Paired cases.
        discordant: ψ, the expected share of cases where A and B disagree.
        floor: The difference the lower bound must exceed.
        confidence: Coverage of the one-sided bound.
        power: Target power.
        method: The rule, as in :func:`evallock.stats.paired_floor_test`.

    Returns:
        The MDE in ``effect``.

    Reference:
        Tango (1998); Connor (1987).
    """
    if n < 1:
        raise UsageError(f"n must be at least 1, got {n}")
    _check_binary(0.0, discordant, floor)
    check_confidence(confidence)
    check_probability(power, "power")
    exact = _binary_method(method, n)
    alpha = 1.0 - confidence

    def gap(effect: float) -> float:
        return _binary_power(n, effect, discordant, floor, alpha, exact) - power

    lo = max(floor, -discordant)
    if floor >= discordant or gap(discordant) < 0.0:
        effect = math.inf
    else:
        effect = float(optimize.brentq(gap, lo, discordant, xtol=1e-10))
    return FloorPower(
        n=n,
        n_exact=float(n),
        effect=effect,
        floor=floor,
        power=power,
        alpha=alpha,
        discordant=discordant,
        sd=None,
        method="exact unconditional score" if exact else "tango score",
    )


# --- scores: the noncentral t ------------------------------------------------------------


def _t_power(n: float, effect: float, sd: float, floor: float, alpha: float) -> float:
    df = n - 1.0
    noncentrality = (effect - floor) * math.sqrt(n) / sd
    return float(sps.nct.sf(float(sps.t.isf(alpha, df)), df, noncentrality))


def _check_sd(sd: float) -> None:
    if not sd > 0.0 or not math.isfinite(sd):
        raise UsageError(f"sd must be positive, got {sd}")


def paired_t_floor_power(
    n: int, *, effect: float, sd: float, floor: float = 0.0, confidence: float = 0.95
) -> FloorPower:
    """P(the one-sided paired-t lower bound on mean(b − a) exceeds ``floor``) with n cases.

    ``T = (d̄ − floor)/(s/√n)`` is noncentral t with n − 1 df and noncentrality
    ``(Δ − floor)√n/σ``; the rule clears when T > t_{1−α, n−1}. Exact for normal
    differences; the z-based formula overstates the power at small n.

    Args:
        n: Paired cases (at least 2).
        effect: True mean difference Δ.
        sd: σ, the SD of the per-case difference (from a pilot run).
        floor: The mean difference the bound must exceed.
        confidence: Coverage of the one-sided bound.

    Returns:
        The power in ``power``.

    Reference:
        Student (1908); the noncentral t power as in R's ``power.t.test``.
    """
    if n < 2:
        raise UsageError(f"n must be at least 2, got {n}")
    _check_sd(sd)
    check_confidence(confidence)
    alpha = 1.0 - confidence
    return FloorPower(
        n=n,
        n_exact=float(n),
        effect=effect,
        floor=floor,
        power=_t_power(n, effect, sd, floor, alpha),
        alpha=alpha,
        discordant=None,
        sd=sd,
        method="paired t",
    )


def paired_t_floor_sample_size(
    effect: float, *, sd: float, floor: float = 0.0, confidence: float = 0.95, power: float = 0.8
) -> FloorPower:
    """Cases needed for the paired-t floor rule to clear ``floor`` with ``power``.

    The smallest integer n whose noncentral-t power reaches the target; ``n_exact`` is
    the real n (df = n − 1 continuous) where the power equals it, as R's
    ``power.t.test(type="paired", alternative="one.sided")`` reports.

    Args:
        effect: True mean difference to plan for (above the floor).
        sd: SD of the per-case difference.
        floor: The mean difference the bound must exceed.
        confidence: Coverage of the one-sided bound.
        power: Target power.

    Returns:
        ``n``, ``n_exact`` and the power at ``n``.

    Reference:
        R ``power.t.test``: δ = 0.5, σ = 1, two-sided 0.05 (one-sided 0.975 here),
        power 0.8 → n = 33.367.
    """
    _check_sd(sd)
    check_confidence(confidence)
    check_probability(power, "power")
    if effect <= floor:
        raise UsageError(f"effect must exceed the floor, got effect={effect}, floor={floor}")
    alpha = 1.0 - confidence

    def gap(n: float) -> float:
        return _t_power(n, effect, sd, floor, alpha) - power

    hi = 4.0
    while gap(hi) < 0.0:
        hi *= 2.0
        if hi > _MAX_N:
            raise UsageError(f"no n up to {_MAX_N} reaches the target power")
    n_exact = 2.0 if gap(2.0) >= 0.0 else float(optimize.brentq(gap, 2.0, hi, xtol=1e-10))
    n = max(2, math.ceil(n_exact - 1e-9))
    return FloorPower(
        n=n,
        n_exact=n_exact,
        effect=effect,
        floor=floor,
        power=_t_power(n, effect, sd, floor, alpha),
        alpha=alpha,
        discordant=None,
        sd=sd,
        method="paired t",
    )


def paired_t_floor_mde(
    n: int, *, sd: float, floor: float = 0.0, confidence: float = 0.95, power: float = 0.8
) -> FloorPower:
    """The smallest true mean difference the paired-t floor rule clears with ``power``.

    Solves the noncentral-t power for Δ: about ``floor + (t_{1−α} + t_power)·σ/√n``.

    Args:
        n: Paired cases (at least 2).
        sd: SD of the per-case difference.
        floor: The mean difference the bound must exceed.
        confidence: Coverage of the one-sided bound.
        power: Target power.

    Returns:
        The MDE in ``effect``.

    Reference:
        Student (1908); noncentral t.
    """
    if n < 2:
        raise UsageError(f"n must be at least 2, got {n}")
    _check_sd(sd)
    check_confidence(confidence)
    check_probability(power, "power")
    alpha = 1.0 - confidence

    def gap(effect: float) -> float:
        return _t_power(n, effect, sd, floor, alpha) - power

    span = sd
    while gap(floor + span) < 0.0:
        span *= 2.0
    effect = float(optimize.brentq(gap, floor, floor + span, xtol=1e-12))
    return FloorPower(
        n=n,
        n_exact=float(n),
        effect=effect,
        floor=floor,
        power=power,
        alpha=alpha,
        discordant=None,
        sd=sd,
        method="paired t",
    )
