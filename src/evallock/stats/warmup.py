"""Charts with an estimated baseline: the false-alarm rate a warm-up of m values really gives.

A CUSUM or EWMA designed for ARL0 = 465 has that ARL0 only if µ0 and σ are *known*. When
they are estimated from the first m values (the ``warmup`` of the detectors, or a
baseline window of m batch means), each chart inherits its own estimation error: a chart
whose σ̂ came out low alarms far more often, one whose σ̂ came out high is slow. The
in-control ARL is then a random variable over warm-ups (Jones, Champ & Rigdon 2004).

Given (µ̂, σ̂) in units of the true σ, the chart is a known-parameter chart with
reference ``±µ̂ + kσ̂`` and interval ``hσ̂`` (CUSUM), or fed N(−µ̂/σ̂, 1/σ̂²) values
(EWMA); its ARL comes from the Markov chain of :mod:`evallock.stats.arl`. Averaging over
µ̂ ~ N(0, 1/m) and (m − 1)σ̂² ~ χ²_{m−1} gives the distribution of the chart's real
ARL0: its mean (Gauss-Hermite over both estimates; what a simulation that re-estimates
every run measures), its median and a low quantile (512 quasi-random warm-ups).
:func:`cusum_warmup_threshold` and :func:`ewma_warmup_width` then choose the limit so
that, with probability ``1 − quantile`` over the warm-up, the chart's ARL0 is at least
the target: the exceedance-probability design of Gandy & Kvaløy (2013).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from evallock.errors import UsageError
from evallock.stats._lazy import lazy_module
from evallock.stats._validate import FloatArray, check_probability
from evallock.stats.arl import cusum_arl, ewma_arl

sps = lazy_module("scipy.stats")
special = lazy_module("scipy.special")
qmc = lazy_module("scipy.stats.qmc")
optimize = lazy_module("scipy.optimize")

__all__ = [
    "WarmupARL",
    "cusum_warmup_arl",
    "cusum_warmup_threshold",
    "ewma_warmup_arl",
    "ewma_warmup_width",
]

_POINTS = 512  # quasi-random warm-up estimates, for the quantiles
_SOBOL_SEED = 20040101
_NODES = 20  # Gauss-Hermite nodes per dimension, for the mean
_STATES = 64  # Markov-chain states per conditional ARL (0.2 % accurate at the usual h)


@dataclass(frozen=True, kw_only=True, slots=True)
class WarmupARL:
    """The in-control ARL of a chart whose baseline was estimated from ``warmup`` values."""

    chart: str
    """``"CUSUM"`` or ``"EWMA"``."""
    limit: float
    """The chart's h (CUSUM) or L (EWMA)."""
    warmup: int
    """Values the baseline mean and SD were estimated from."""
    known: float
    """ARL0 with the true mean and SD (the design figure)."""
    mean: float
    """ARL0 averaged over warm-ups: what repeated simulation with re-estimation measures.

    Dominated by rare warm-ups with a large σ̂ below m ≈ 30 (it hardly converges there);
    the median and the low quantile are the figures to design by."""
    median: float
    """The median chart's ARL0."""
    low: float
    """The ``quantile`` of the chart's ARL0: that share of warm-ups give a chart below it."""
    quantile: float
    """The quantile reported in ``low``."""


def _estimates(warmup: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(µ̂, σ̂, weight) at scrambled Sobol points (fixed seed), for the quantiles over warm-ups.

    A product grid of equal-probability cells misplaces a 10 % quantile by several percent
    of ARL; 512 quasi-random points keep it within about 1 %.
    """
    if warmup < 3:
        raise UsageError(f"warmup must be at least 3 values, got {warmup}")
    points = qmc.Sobol(2, scramble=True, seed=_SOBOL_SEED).random(_POINTS)
    df = warmup - 1
    mean = sps.norm.ppf(points[:, 0]) / math.sqrt(warmup)
    sd = np.sqrt(sps.chi2.ppf(points[:, 1], df) / df)
    return (
        np.asarray(mean, np.float64),
        np.asarray(sd, np.float64),
        np.full(_POINTS, 1.0 / _POINTS),
    )


def _gauss_estimates(warmup: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(µ̂, σ̂, weight) on a Gauss-Hermite product rule, for the mean over warm-ups.

    σ̂² uses the Wilson-Hilferty normal approximation of χ²_{m−1}/(m − 1), accurate to
    a fraction of a percent for m ≥ 10.
    """
    nodes, weights = np.polynomial.hermite_e.hermegauss(_NODES)
    weights = weights / weights.sum()
    df = warmup - 1
    c = 2.0 / (9.0 * df)
    variance = np.maximum(1.0 - c + math.sqrt(c) * nodes, 1e-3) ** 3
    mu, sigma = np.meshgrid(nodes / math.sqrt(warmup), np.sqrt(variance), indexing="ij")
    return mu.ravel(), sigma.ravel(), np.outer(weights, weights).ravel()


def _weighted_quantile(values: FloatArray, weights: FloatArray, q: float) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order]) - weights[order] / 2.0
    return float(np.interp(q, cumulative, values[order]))


def _quantiles(values: FloatArray, weights: FloatArray, quantile: float) -> tuple[float, float]:
    """The median and the ``quantile`` of the conditional ARLs."""
    return _weighted_quantile(values, weights, 0.5), _weighted_quantile(values, weights, quantile)


def _absorption_times(transitions: FloatArray, start: FloatArray) -> FloatArray:
    """Expected steps to absorption from state ``start``, for a stack of transient matrices."""
    size = transitions.shape[-1]
    system = np.eye(size)[None, :, :] - transitions
    times = np.linalg.solve(system, np.ones((transitions.shape[0], size, 1)))[..., 0]
    return np.asarray(times[np.arange(times.shape[0]), start.astype(np.intp)], np.float64)


def _upper_cusum_arls(k: FloatArray, h: FloatArray) -> FloatArray:
    """Brook-Evans ARL of upper CUSUMs (reference k, interval h) on N(0, 1), stacked."""
    width = (2.0 * h / (2 * _STATES - 1))[:, None, None]
    levels = np.arange(_STATES)[None, :] * width[:, :, 0]
    step = levels[:, None, :] - levels[:, :, None]
    offset = k[:, None, None]
    upper = special.ndtr(step + width / 2.0 + offset)
    transitions = upper - special.ndtr(step - width / 2.0 + offset)
    transitions[:, :, 0] = upper[:, :, 0]  # at or below 0 resets to state 0
    return _absorption_times(transitions, np.zeros(k.size))


Estimates = tuple[FloatArray, FloatArray, FloatArray]


def _cusum_conditional(
    k: float, h: float, grid: Estimates, two_sided: bool, shift: float = 0.0
) -> FloatArray:
    mu, sigma, _ = grid
    upper = _upper_cusum_arls(mu + k * sigma - shift, h * sigma)
    if not two_sided:
        return upper
    lower = _upper_cusum_arls(-mu + k * sigma + shift, h * sigma)
    return np.asarray(1.0 / (1.0 / upper + 1.0 / lower), np.float64)


def _ewma_conditional(
    lam: float, width: float, grid: Estimates, two_sided: bool, shift: float = 0.0
) -> FloatArray:
    """Markov-chain ARL of the standardized EWMA fed N((δ − µ̂)/σ̂, 1/σ̂²), one per estimate."""
    mu, sigma, _ = grid
    offset, scale = ((shift - mu) / sigma)[:, None, None], (1.0 / sigma)[:, None, None]
    spread = math.sqrt(lam / (2.0 - lam))
    limit = width * spread
    low = np.full(mu.size, -limit) if two_sided else -8.0 * np.maximum(limit, spread / sigma)
    cell = (limit - low) / _STATES
    centres = low[:, None] + (np.arange(_STATES)[None, :] + 0.5) * cell[:, None]
    carried = (1.0 - lam) * centres[:, :, None]
    half = cell[:, None, None] / 2.0
    target = centres[:, None, :]
    upper = special.ndtr(((target + half - carried) / lam - offset) / scale)
    transitions = upper - special.ndtr(((target - half - carried) / lam - offset) / scale)
    if not two_sided:  # the far lower edge reflects
        transitions[:, :, 0] = upper[:, :, 0]
    start = np.argmin(np.abs(centres), axis=1).astype(np.float64)
    return _absorption_times(transitions, start)


def _check(quantile: float, warmup: int) -> None:
    check_probability(quantile, "quantile")
    if warmup < 3:
        raise UsageError(f"warmup must be at least 3 values, got {warmup}")


@functools.lru_cache(maxsize=256)
def cusum_warmup_arl(
    *,
    h: float,
    warmup: int,
    k: float = 0.5,
    two_sided: bool = True,
    quantile: float = 0.1,
    shift: float = 0.0,
) -> WarmupARL:
    """The real in-control ARL of a CUSUM whose µ0 and σ come from ``warmup`` values.

    With ``shift`` ≠ 0 (in true-σ units) the figures are the detection delay of a shift
    present from the first monitored value, over warm-ups, instead of ARL0.

    Args:
        h: Decision interval in (estimated) σ units.
        warmup: Values the baseline was estimated from (mean, SD with ddof=1).
        k: Reference value in σ units.
        two_sided: Both sides watched (default) or the upper side only.
        quantile: The low quantile of the ARL0 distribution to report.
        shift: Mean of the monitored values in true-σ units (0: in control).

    Returns:
        The design (known) ARL0 and the mean, median and low quantile with estimation.

    Reference:
        Jones, Champ & Rigdon, Technometrics 46 (2004); Brook & Evans (1972).

    Example:
        >>> result = cusum_warmup_arl(h=5.0, warmup=50)
        >>> round(result.known), result.low < result.median < result.known
        (465, True)
    """
    _check(quantile, warmup)
    grid, gauss = _estimates(warmup), _gauss_estimates(warmup)
    median, low = _quantiles(_cusum_conditional(k, h, grid, two_sided, shift), grid[2], quantile)
    mean = float(np.sum(_cusum_conditional(k, h, gauss, two_sided, shift) * gauss[2]))
    return WarmupARL(
        chart="CUSUM",
        limit=h,
        warmup=warmup,
        known=cusum_arl(k=k, h=h, shift=shift, two_sided=two_sided),
        mean=mean,
        median=median,
        low=low,
        quantile=quantile,
    )


@functools.lru_cache(maxsize=256)
def ewma_warmup_arl(
    *,
    width: float,
    warmup: int,
    lam: float = 0.2,
    two_sided: bool = True,
    quantile: float = 0.1,
    shift: float = 0.0,
) -> WarmupARL:
    """The real in-control ARL of an EWMA chart whose µ0 and σ come from ``warmup`` values.

    Uses the asymptotic limits (as :func:`evallock.stats.ewma_arl`). With ``shift`` ≠ 0
    the figures are detection delays, as in :func:`cusum_warmup_arl`.

    Args:
        width: Limit width L in (estimated) σ_EWMA units.
        warmup: Values the baseline was estimated from.
        lam: Smoothing weight λ.
        two_sided: Both limits (default) or the upper one only.
        quantile: The low quantile of the ARL0 distribution to report.
        shift: Mean of the monitored values in true-σ units (0: in control).

    Returns:
        The design (known) ARL0 and the mean, median and low quantile with estimation.

    Reference:
        Jones, Champ & Rigdon, Technometrics 43 (2001) (EWMA with estimated parameters).
    """
    _check(quantile, warmup)
    grid, gauss = _estimates(warmup), _gauss_estimates(warmup)
    arls = _ewma_conditional(lam, width, grid, two_sided, shift)
    median, low = _quantiles(arls, grid[2], quantile)
    mean = float(np.sum(_ewma_conditional(lam, width, gauss, two_sided, shift) * gauss[2]))
    return WarmupARL(
        chart="EWMA",
        limit=width,
        warmup=warmup,
        known=ewma_arl(lam=lam, width=width, shift=shift, two_sided=two_sided),
        mean=mean,
        median=median,
        low=low,
        quantile=quantile,
    )


def _solve(low_arl: Callable[[float], float], target: float, start: float) -> float:
    """The limit at which the low-quantile ARL reaches ``target`` (it increases with the limit)."""
    lo, hi = start * 0.5, start
    while low_arl(hi) < target:
        lo, hi = hi, hi * 1.5
        if hi > 100.0:
            raise UsageError(f"no limit reaches an ARL0 of {target} with this warm-up")
    return float(optimize.brentq(lambda x: low_arl(x) - target, lo, hi, xtol=1e-4))


@functools.lru_cache(maxsize=256)
def cusum_warmup_threshold(
    arl0: float, *, warmup: int, k: float = 0.5, two_sided: bool = True, quantile: float = 0.1
) -> float:
    """The CUSUM interval h that keeps ARL0 ≥ ``arl0`` for ``1 − quantile`` of warm-ups.

    With the default quantile 0.1, nine charts in ten built from a fresh warm-up of this
    length false-alarm no more often than the target; ``quantile=0.5`` matches the median
    chart instead. Always above the known-parameter h; the gap closes as the warm-up grows.

    Args:
        arl0: Target in-control ARL.
        warmup: Values the baseline is estimated from.
        k: Reference value in σ units.
        two_sided: Both sides watched (default) or one.
        quantile: Share of warm-ups allowed to fall short of the target.

    Returns:
        h in estimated-σ units.

    Reference:
        Gandy & Kvaløy, Scandinavian J. Statist. 40 (2013); Jones, Champ & Rigdon (2004).
    """
    _check(quantile, warmup)
    if not arl0 > 1.0:
        raise UsageError(f"arl0 must exceed 1, got {arl0}")
    grid = _estimates(warmup)

    def low_arl(h: float) -> float:
        return _weighted_quantile(_cusum_conditional(k, h, grid, two_sided), grid[2], quantile)

    return _solve(low_arl, arl0, 4.0)


@functools.lru_cache(maxsize=256)
def ewma_warmup_width(
    arl0: float,
    *,
    warmup: int,
    lam: float = 0.2,
    two_sided: bool = True,
    quantile: float = 0.1,
) -> float:
    """The EWMA width L that keeps ARL0 ≥ ``arl0`` for ``1 − quantile`` of warm-ups.

    Args:
        arl0: Target in-control ARL.
        warmup: Values the baseline is estimated from.
        lam: Smoothing weight λ.
        two_sided: Both limits (default) or one.
        quantile: Share of warm-ups allowed to fall short of the target.

    Returns:
        L in estimated σ_EWMA units.

    Reference:
        Gandy & Kvaløy (2013); Jones, Champ & Rigdon (2001).
    """
    _check(quantile, warmup)
    if not arl0 > 1.0:
        raise UsageError(f"arl0 must exceed 1, got {arl0}")
    grid = _estimates(warmup)

    def low_arl(width: float) -> float:
        arls = _ewma_conditional(lam, width, grid, two_sided)
        return _weighted_quantile(arls, grid[2], quantile)

    return _solve(low_arl, arl0, 2.5)
