"""Average run lengths of control charts, and the thresholds that give a target ARL0.

A drift detector is characterised by two numbers: ARL0, the expected number of
observations to a false alarm when nothing changed, and ARL1, the expected delay to detect
a shift of a given size. Choose the threshold from the ARL0 you can tolerate per monitored
stream, then read the delay. The run lengths here come from Markov-chain approximations
(Brook & Evans 1972): the chart statistic is discretised into states and the ARL is the
expected absorption time, ``(I − R)⁻¹ 1``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from evallock.errors import UsageError
from evallock.stats._lazy import lazy_module
from evallock.stats._validate import FloatArray, check_probability

optimize = lazy_module("scipy.optimize")
sparse = lazy_module("scipy.sparse")
special = lazy_module("scipy.special")
sparse_linalg = lazy_module("scipy.sparse.linalg")

__all__ = [
    "bernoulli_cusum_arl",
    "bernoulli_cusum_threshold",
    "cusum_arl",
    "cusum_threshold",
    "ewma_arl",
    "ewma_width",
]

_CUSUM_STATES = 600
_EWMA_STATES = 601
_BERNOULLI_STATES = 4000
_FAR = 8.0  # one-sided EWMA: the unwatched side is cut (reflecting) this many σ_z out


def _absorption_time(transitions: FloatArray, start: int) -> float:
    """Expected steps to leave the transient states, starting in ``start``."""
    size = transitions.shape[0]
    times = np.linalg.solve(np.eye(size) - transitions, np.ones(size))
    return float(times[start])


def _one_sided_cusum_arl(k: float, h: float, shift: float, states: int) -> float:
    width = 2.0 * h / (2 * states - 1)
    levels = np.arange(states) * width
    step = levels[None, :] - levels[:, None]  # target level minus current level
    upper = special.ndtr(step + width / 2.0 + k - shift)
    lower = special.ndtr(step - width / 2.0 + k - shift)
    transitions = upper - lower
    transitions[:, 0] = upper[:, 0]  # everything at or below 0 resets to state 0
    return _absorption_time(transitions, 0)


@functools.lru_cache(maxsize=1024)
def cusum_arl(*, k: float = 0.5, h: float, shift: float = 0.0, two_sided: bool = True) -> float:
    """Average run length of a standardized tabular CUSUM (Page 1954).

    The chart runs on z = (x − µ0)/σ with ``S⁺ = max(0, S⁺ + z − k)`` (and ``S⁻`` for the
    lower side), alarming when a sum exceeds h. Observations are N(shift, 1): ``shift=0``
    gives ARL0, ``shift=1`` the delay for a 1σ shift. The two-sided ARL combines the sides
    as ``1/ARL = 1/ARL⁺ + 1/ARL⁻`` (the usual approximation). k = 0.5 with h = 4 gives a
    two-sided ARL0 ≈ 168, h = 5 ≈ 465.

    Args:
        k: Reference value (slack) in σ units, usually half the shift to detect.
        h: Decision interval in σ units.
        shift: Mean of the standardized observations.
        two_sided: Both sides watched (default) or the upper side only.

    Returns:
        The average run length in observations.

    Reference:
        Brook & Evans, Biometrika 59 (1972); vector ``arl_cusum_ewma``.
    """
    if not h > 0.0 or k < 0.0:
        raise UsageError(f"need h > 0 and k >= 0, got h={h}, k={k}")
    upper = _one_sided_cusum_arl(k, h, shift, _CUSUM_STATES)
    if not two_sided:
        return upper
    lower = upper if shift == 0.0 else _one_sided_cusum_arl(k, h, -shift, _CUSUM_STATES)
    return 1.0 / (1.0 / upper + 1.0 / lower)


@functools.lru_cache(maxsize=1024)
def ewma_arl(
    *, lam: float = 0.2, width: float, shift: float = 0.0, two_sided: bool = True
) -> float:
    """Average run length of a standardized EWMA chart (Roberts 1959) with asymptotic limits.

    ``z_t = λx_t + (1 − λ)z_{t−1}`` from z_0 = 0, alarming outside
    ``± width·sqrt(λ/(2 − λ))``. Observations are N(shift, 1). λ = 0.2 with width 2.962
    gives ARL0 ≈ 500 (Lucas & Saccucci 1990); width 3 gives ≈ 560. A chart using the exact
    time-varying limits alarms slightly earlier at start-up; the ARL0 differs little.

    Args:
        lam: Smoothing weight λ in (0, 1].
        width: Limit width L in units of the EWMA's asymptotic standard deviation.
        shift: Mean of the standardized observations.
        two_sided: Both limits (default) or the upper limit only.

    Returns:
        The average run length in observations.

    Reference:
        Lucas & Saccucci, Technometrics 32 (1990); vector ``arl_cusum_ewma``.
    """
    if not 0.0 < lam <= 1.0 or not width > 0.0:
        raise UsageError(f"need 0 < lam <= 1 and width > 0, got lam={lam}, width={width}")
    return ewma_chain_arl(lam, width, shift, 1.0, two_sided, _EWMA_STATES)


def ewma_chain_arl(
    lam: float, width: float, shift: float, scale: float, two_sided: bool, states: int
) -> float:
    """Markov-chain ARL of a standardized EWMA chart fed N(shift, scale²) observations.

    ``scale`` ≠ 1 is what a chart sees when its σ was estimated: z = (x − µ̂)/σ̂ has SD
    σ/σ̂. Used by :mod:`evallock.stats.warmup` with fewer states.
    """
    limit = width * math.sqrt(lam / (2.0 - lam))
    low = -limit if two_sided else -_FAR * max(limit, math.sqrt(lam / (2.0 - lam)) * scale)
    cell = (limit - low) / states
    centres = low + (np.arange(states) + 0.5) * cell
    carried = (1.0 - lam) * centres[:, None]
    upper = special.ndtr(((centres[None, :] + cell / 2.0 - carried) / lam - shift) / scale)
    lower = special.ndtr(((centres[None, :] - cell / 2.0 - carried) / lam - shift) / scale)
    transitions = upper - lower
    if not two_sided:  # the far lower edge reflects: nothing is lost below it
        transitions[:, 0] = upper[:, 0]
    start = int(np.argmin(np.abs(centres)))
    return _absorption_time(transitions, start)


def one_sided_cusum_arl(k: float, h: float, shift: float, states: int) -> float:
    """Markov-chain ARL of an upper CUSUM (reference k, interval h) fed N(shift, 1) values.

    Any k (also negative) and h > 0: what a chart with an estimated baseline amounts to,
    in units of the true σ. Used by :mod:`evallock.stats.warmup` with fewer states.
    """
    return _one_sided_cusum_arl(k, h, shift, states)


class _Steps(NamedTuple):
    bad: float
    good: float


def _bernoulli_steps(p0: float, p1: float) -> _Steps:
    """The Bernoulli CUSUM's increments for a bad and for a good observation."""
    check_probability(p0, "p0")
    check_probability(p1, "p1")
    if p0 == p1:
        raise UsageError("p1 must differ from p0")
    return _Steps(math.log(p1 / p0), math.log((1.0 - p1) / (1.0 - p0)))


@functools.lru_cache(maxsize=1024)
def bernoulli_cusum_arl(*, p0: float, p1: float, h: float, p: float | None = None) -> float:
    """Average run length of a Bernoulli CUSUM on a bad/good indicator.

    The chart adds ``ln(p1/p0)`` on a bad observation and ``ln((1 − p1)/(1 − p0))`` on a
    good one, floored at 0, and alarms above h. Observations are bad with probability p
    (``p0`` by default, giving ARL0). The run length is computed on a fine lattice of the
    statistic, which rounds the two increments by at most h/8000.

    Args:
        p0: In-control share of bad observations.
        p1: Share of bad observations the chart is tuned to detect.
        h: Decision threshold on the log-likelihood-ratio scale.
        p: Actual share of bad observations (default p0).

    Returns:
        The average run length in observations.

    Reference:
        Reynolds & Stoumbos, J. Quality Technology 31 (1999).
    """
    up, down = _bernoulli_steps(p0, p1)
    if not h > 0.0:
        raise UsageError(f"h must be positive, got {h}")
    rate = p0 if p is None else p
    check_probability(rate, "p", open_interval=False)
    cell = h / _BERNOULLI_STATES
    top = _BERNOULLI_STATES  # states 0..top are in control (S ≤ h)
    bad_step, good_step = round(up / cell), round(down / cell)
    states = np.arange(top + 1)
    rows, cols, values = [], [], []
    for step, weight in ((bad_step, rate), (good_step, 1.0 - rate)):
        target = np.maximum(states + step, 0)
        keep = target <= top  # beyond h is the alarm (absorbing, dropped)
        rows.append(states[keep])
        cols.append(target[keep])
        values.append(np.full(int(keep.sum()), weight))
    size = top + 1
    transitions = sparse.csc_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))), shape=(size, size)
    )
    system = sparse.identity(size, format="csc") - transitions
    times = sparse_linalg.spsolve(system, np.ones(size))
    return float(times[0])


def _solve_increasing(arl: Callable[[float], float], target: float, lo: float, hi: float) -> float:
    """The argument where an increasing ARL function reaches ``target``."""

    def gap(x: float) -> float:
        return arl(x) - target

    while gap(hi) < 0.0:
        lo, hi = hi, hi * 2.0
        if hi > 1e4:
            raise UsageError(f"no threshold reaches an ARL of {target}")
    return float(optimize.brentq(gap, lo, hi, xtol=1e-7))


@functools.lru_cache(maxsize=256)
def cusum_threshold(arl0: float, *, k: float = 0.5, two_sided: bool = True) -> float:
    """The decision interval h that gives a standardized CUSUM the in-control ARL ``arl0``.

    Args:
        arl0: Target expected observations between false alarms (> 1).
        k: Reference value in σ units.
        two_sided: Both sides watched (default) or one.

    Returns:
        h in σ units.
    """
    if not arl0 > 1.0:
        raise UsageError(f"arl0 must exceed 1, got {arl0}")
    return _solve_increasing(lambda h: cusum_arl(k=k, h=h, two_sided=two_sided), arl0, 1e-3, 8.0)


@functools.lru_cache(maxsize=256)
def ewma_width(arl0: float, *, lam: float = 0.2, two_sided: bool = True) -> float:
    """The limit width L that gives an EWMA chart the in-control ARL ``arl0``.

    Args:
        arl0: Target expected observations between false alarms (> 1).
        lam: Smoothing weight λ.
        two_sided: Both limits (default) or one.

    Returns:
        L in units of the EWMA's asymptotic standard deviation.
    """
    if not arl0 > 1.0:
        raise UsageError(f"arl0 must exceed 1, got {arl0}")
    return _solve_increasing(
        lambda width: ewma_arl(lam=lam, width=width, two_sided=two_sided), arl0, 1e-3, 5.0
    )


@functools.lru_cache(maxsize=256)
def bernoulli_cusum_threshold(arl0: float, *, p0: float, p1: float) -> float:
    """The threshold h that gives a Bernoulli CUSUM the in-control ARL ``arl0``.

    The statistic moves in two fixed step sizes, so the ARL is a step function of h; the
    smallest h (to lattice precision) reaching ``arl0`` is returned.

    Args:
        arl0: Target expected observations between false alarms (> 1).
        p0: In-control share of bad observations.
        p1: Share of bad observations to detect.

    Returns:
        h on the log-likelihood-ratio scale.
    """
    if not arl0 > 1.0:
        raise UsageError(f"arl0 must exceed 1, got {arl0}")
    up, _ = _bernoulli_steps(p0, p1)
    lo, hi = 1e-3, max(abs(up), 1.0)
    while bernoulli_cusum_arl(p0=p0, p1=p1, h=hi) < arl0:
        lo, hi = hi, hi * 2.0
        if hi > 1e3:
            raise UsageError(f"no threshold reaches an ARL of {arl0}")
    for _ in range(40):  # bisection: brentq assumes continuity, this is a step function
        mid = (lo + hi) / 2.0
        if bernoulli_cusum_arl(p0=p0, p1=p1, h=mid) >= arl0:
            hi = mid
        else:
            lo = mid
    return hi
