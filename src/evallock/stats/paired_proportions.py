"""Paired proportions: intervals for p_B − p_A from the 2x2 table of a paired pass/fail run.

Only the discordant cases carry information about the difference: ``only_a`` cases pass
under A alone and ``only_b`` under B alone, so the estimate is ``(only_b − only_a) / n``.
Three intervals, all on that difference:

- :func:`tango_interval`: Tango's (1998) asymptotic score interval, the inversion of the
  score test of H0: Δ = Δ0 with the discordance profiled out by its constrained MLE. At
  Δ0 = 0 its statistic is the uncorrected McNemar z, so the interval excludes 0 exactly
  when that test rejects. Recommended by Fagerland, Lydersen & Laake (2014).
- :func:`newcombe_paired_interval`: Newcombe's (1998) method 10, Wilson intervals of the
  two marginal rates combined with the (corrected) phi correlation; closed form.
- :func:`exact_score_p_value`, :func:`exact_lower_bound` and
  :func:`exact_floor_decision`: the exact unconditional version of Tango's test, its
  p-value the largest tail probability over the unknown discordance. At small n the
  asymptotic score test's one-sided level can reach 7–9 % at a nominal 5 % (when almost
  every discordant case goes one way); the exact test never exceeds its level, and its
  lower bound is the inversion of the same p-value.

The verdict rule that uses these lives in :mod:`evallock.stats.floor`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from evallock.errors import UsageError
from evallock.stats._lazy import lazy_module
from evallock.stats._results import Interval
from evallock.stats._validate import FloatArray, check_confidence
from evallock.stats.proportions import Side, wilson_interval

optimize = lazy_module("scipy.optimize")
sps = lazy_module("scipy.stats")
special = lazy_module("scipy.special")

__all__ = [
    "EXACT_MAX_N",
    "ExactFloor",
    "critical_wins",
    "exact_critical_value",
    "exact_floor_decision",
    "exact_lower_bound",
    "exact_score_p_value",
    "newcombe_paired_interval",
    "tango_interval",
    "tango_statistic",
    "upper_tail",
]

EXACT_MAX_N = 400
"""Largest n for the exact unconditional test (its cost grows as n² per evaluation)."""
_NUISANCE_GRID = 201  # discordance values the exact p-value is maximised over
_EDGE = 1e-12
_SCAN_STEP = 0.01  # Δ0 grid of the exact bound's scan


def _check_counts(only_a: int, only_b: int, n: int) -> None:
    if min(only_a, only_b) < 0 or only_a + only_b > n or n < 1:
        raise UsageError(
            f"need only_a, only_b >= 0 and only_a + only_b <= n >= 1, got "
            f"only_a={only_a}, only_b={only_b}, n={n}"
        )


def _tango_z(
    delta: float, wins_b: FloatArray | float, wins_a: FloatArray | float, n: int
) -> FloatArray:
    """Tango's score statistic for H0: p_B − p_A = delta, vectorised over the counts.

    With x = B-only and y = A-only cases, the constrained MLE of the A-only cell is the
    root of ``2n q² + W q − yΔ(1 − Δ) = 0``, ``W = −x − y + (2n − x + y)Δ``, and
    ``Z = (x − y − nΔ) / sqrt(n(2q + Δ(1 − Δ)))``.
    """
    x = np.asarray(wins_b, dtype=np.float64)
    y = np.asarray(wins_a, dtype=np.float64)
    w = -x - y + (2.0 * n - x + y) * delta
    root = np.sqrt(np.maximum(w * w + 8.0 * n * y * delta * (1.0 - delta), 0.0))
    q = (root - w) / (4.0 * n)
    variance = np.maximum(n * (2.0 * q + delta * (1.0 - delta)), 0.0)
    excess = x - y - n * delta
    safe = np.where(variance > 0.0, variance, 1.0)
    degenerate = np.where(excess > 0.0, np.inf, np.where(excess < 0.0, -np.inf, 0.0))
    return np.asarray(np.where(variance > 0.0, excess / np.sqrt(safe), degenerate), np.float64)


def tango_statistic(*, only_a: int, only_b: int, n: int, delta0: float = 0.0) -> float:
    """Tango's score statistic for H0: p_B − p_A = ``delta0`` (positive favours B).

    Approximately standard normal under H0. At ``delta0 = 0`` it equals the uncorrected
    McNemar z, ``(only_b − only_a) / sqrt(only_a + only_b)``.

    Args:
        only_a: Cases that pass under A and fail under B.
        only_b: Cases that pass under B and fail under A.
        n: All paired cases.
        delta0: The difference under H0, in (−1, 1).

    Returns:
        The z statistic (±inf when its variance is 0 and the counts disagree with H0).

    Reference:
        Tango, Statistics in Medicine 17 (1998) 891–908, eqs. 3–5.
    """
    _check_counts(only_a, only_b, n)
    if not -1.0 < delta0 < 1.0:
        raise UsageError(f"delta0 must be in (-1, 1), got {delta0}")
    return float(_tango_z(delta0, only_b, only_a, n))


def _tango_root(only_a: int, only_b: int, n: int, target: float) -> float:
    """The Δ0 where Tango's Z (decreasing in Δ0) crosses ``target``, or ±1 when it never does."""

    def gap(delta: float) -> float:
        return float(_tango_z(delta, only_b, only_a, n)) - target

    lo, hi = -1.0 + _EDGE, 1.0 - _EDGE
    if gap(lo) <= 0.0:
        return -1.0
    if gap(hi) >= 0.0:
        return 1.0
    return float(optimize.brentq(gap, lo, hi, xtol=1e-13, rtol=1e-15))


def _one_sided(lo: float, hi: float, side: Side, confidence: float, method: str) -> Interval:
    if side == "lower":
        hi = 1.0
    elif side == "upper":
        lo = -1.0
    return Interval(lo=lo, hi=hi, confidence=confidence, method=method)


def _critical(confidence: float, side: Side) -> float:
    check_confidence(confidence)
    if side not in ("two-sided", "lower", "upper"):
        raise UsageError(f"side must be two-sided, lower or upper, got {side!r}")
    tail = (1.0 - confidence) / (2.0 if side == "two-sided" else 1.0)
    return float(sps.norm.isf(tail))


def tango_interval(
    *, only_a: int, only_b: int, n: int, confidence: float = 0.95, side: Side = "two-sided"
) -> Interval:
    """Tango's score interval for the difference of paired pass rates p_B − p_A.

    The set of Δ0 whose score test is not rejected: ``{Δ0 : |Z(Δ0)| < z}``, with
    :func:`tango_statistic` as Z. It stays inside [−1, 1], is never degenerate (b = c = 0
    gives a proper interval around 0), and keeps close to nominal two-sided coverage down
    to n ≈ 20 (Fagerland et al. 2014). ``side="lower"`` gives the one-sided lower bound
    at ``confidence``: B beats A by more than a floor when that bound exceeds the floor,
    exactly when the one-sided score test of H0: Δ ≤ floor rejects. At small n use
    :func:`exact_lower_bound` for a bound with guaranteed level.

    Args:
        only_a: Cases that pass under A and fail under B.
        only_b: Cases that pass under B and fail under A.
        n: All paired cases.
        confidence: Coverage of the interval (or of the one-sided bound).
        side: Two-sided interval, or a one-sided ``"lower"`` or ``"upper"`` bound.

    Returns:
        The interval, method ``"tango score"``.

    Reference:
        Tango, Statistics in Medicine 17 (1998) 891–908; Fagerland, Lydersen & Laake,
        Statistics in Medicine 33 (2014) 2850–2875, Table V: 1, 1, 7, 12 →
        (−0.517, −0.026) for p_1 − p_2.
    """
    _check_counts(only_a, only_b, n)
    z = _critical(confidence, side)
    lo = _tango_root(only_a, only_b, n, z) if side != "upper" else -1.0
    hi = _tango_root(only_a, only_b, n, -z) if side != "lower" else 1.0
    return _one_sided(lo, hi, side, confidence, "tango score")


def newcombe_paired_interval(
    *, both: int, only_a: int, only_b: int, neither: int, confidence: float = 0.95
) -> Interval:
    """Newcombe's method 10 interval for p_B − p_A from a paired 2x2 table.

    Square-and-add of the Wilson intervals (l, u) of the two marginal pass rates, with a
    correction for their correlation: ``Δ − sqrt(d_B² − 2φ d_B e_A + e_A²)`` and
    ``Δ + sqrt(e_B² − 2φ e_B d_A + d_A²)`` where d = p − l and e = u − p. φ is the phi
    coefficient of the table with ``(both·neither − only_a·only_b)`` reduced by n/2 when
    positive (to 0 at most), and 0 when a margin is empty. Closed form, good coverage, but
    not the inversion of a test: use :func:`tango_interval` when the interval must agree
    with a test verdict.

    Args:
        both: Cases that pass under A and B.
        only_a: Cases that pass under A only.
        only_b: Cases that pass under B only.
        neither: Cases that fail under both.
        confidence: Coverage of the two-sided interval.

    Returns:
        The interval, method ``"newcombe paired (method 10)"``.

    Reference:
        Newcombe, Statistics in Medicine 17 (1998) 2635–2650, Table II (method 10):
        e, f, g, h = 36, 12, 2, 0 → 0.0569 to 0.3404.
    """
    counts = (both, only_a, only_b, neither)
    if min(counts) < 0 or sum(counts) == 0:
        raise UsageError(f"counts must be non-negative with a positive total, got {counts}")
    n = sum(counts)
    rate_a, rate_b = (both + only_a) / n, (both + only_b) / n
    wilson_a = wilson_interval(both + only_a, n, confidence)
    wilson_b = wilson_interval(both + only_b, n, confidence)
    margins = (both + only_a) * (only_b + neither) * (both + only_b) * (only_a + neither)
    cross = both * neither - only_a * only_b
    if margins == 0:
        phi = 0.0
    else:
        corrected = max(cross - n / 2.0, 0.0) if cross > 0 else float(cross)
        phi = corrected / math.sqrt(margins)
    below_b, above_b = rate_b - wilson_b.lo, wilson_b.hi - rate_b
    below_a, above_a = rate_a - wilson_a.lo, wilson_a.hi - rate_a
    delta = rate_b - rate_a
    lo = delta - math.sqrt(max(0.0, below_b**2 - 2 * phi * below_b * above_a + above_a**2))
    hi = delta + math.sqrt(max(0.0, above_b**2 - 2 * phi * above_b * below_a + below_a**2))
    return Interval(
        lo=max(-1.0, lo),
        hi=min(1.0, hi),
        confidence=confidence,
        method="newcombe paired (method 10)",
    )


# --- the exact unconditional score test -------------------------------------------------


def _statistic_table(n: int, delta0: float) -> FloatArray:
    """Tango's Z at delta0 for every table: row m = discordant pairs, column x = B's wins.

    Entries with x > m are NaN. Z increases with x along each row, so a tail
    ``{Z ≥ t}`` is ``{x ≥ x*(m)}`` row by row.
    """
    m, x = np.meshgrid(np.arange(n + 1.0), np.arange(n + 1.0), indexing="ij")
    with np.errstate(invalid="ignore"):
        z = _tango_z(delta0, x, m - x, n)
    return np.where(x <= m, z, np.nan)


def critical_wins(n: int, delta0: float, threshold: float) -> FloatArray:
    """x*(m) for m = 0..n without the n² table: a vectorised bisection along each row.

    Z at delta0 increases with B's wins x among m discordant pairs, so the rejection region
    ``Z ≥ threshold`` is ``x ≥ x*(m)``; x*(m) = m + 1 when no x reaches the threshold.
    """
    m = np.arange(n + 1.0)
    lo, hi = np.zeros(n + 1), m + 1.0  # invariant: Z(lo - 1) < t (or lo = 0), Z(hi) >= t
    tolerance = 1e-9 * max(1.0, abs(threshold)) if math.isfinite(threshold) else 0.0
    while np.any(lo < hi):
        mid = np.floor((lo + hi) / 2.0)
        probe = np.minimum(mid, m)
        reaches = _tango_z(delta0, probe, m - probe, n) >= threshold - tolerance
        active = lo < hi
        hi = np.where(active & reaches, mid, hi)
        lo = np.where(active & ~reaches, mid + 1.0, lo)
    return lo


def upper_tail(n: int, x_star: FloatArray, p_b: FloatArray, p_a: FloatArray) -> FloatArray:
    """P(B wins ≥ x*(m) among the m discordant pairs), for each (p_B-only, p_A-only) pair.

    The number of discordant pairs is Bin(n, ψ) with ψ = p_B-only + p_A-only, and B's wins
    among them Bin(m, p_B-only/ψ). Written with scipy.special rather than scipy.stats: it
    runs inside the exact test's scans, where the distribution objects' overhead dominates.
    """
    m = np.arange(n + 1.0)[None, :]
    discordance = np.clip((p_b + p_a)[:, None], 0.0, 1.0)
    share = np.divide(
        p_b[:, None], discordance, out=np.full_like(discordance, 0.5), where=discordance > 0
    )
    log_weights = (
        special.gammaln(n + 1.0)
        - special.gammaln(m + 1.0)
        - special.gammaln(n - m + 1.0)
        + special.xlogy(m, discordance)
        + special.xlog1py(n - m, -discordance)
    )
    # P(X ≥ k) = I_share(k, m − k + 1) for 1 ≤ k ≤ m; k ≤ 0 is certain, k > m impossible
    k = x_star[None, :]
    inside = (k >= 1.0) & (k <= m)
    beta = special.betainc(np.where(inside, k, 1.0), np.where(inside, m - k + 1.0, 1.0), share)
    tails = np.where(k <= 0.0, 1.0, np.where(inside, beta, 0.0))
    return np.asarray(np.sum(np.exp(log_weights) * tails, axis=1), dtype=np.float64)


def _null_cells(delta0: float) -> tuple[FloatArray, FloatArray]:
    """(p_B-only, p_A-only) along the null boundary Δ = delta0, over a grid of discordance."""
    discordance = np.linspace(max(abs(delta0), _EDGE), 1.0, _NUISANCE_GRID)
    return (discordance + delta0) / 2.0, np.maximum((discordance - delta0) / 2.0, 0.0)


def _exact_tail(n: int, delta0: float, threshold: float) -> float:
    """The largest null probability of Z ≥ threshold over the discordance grid."""
    x_star = critical_wins(n, delta0, threshold)
    return float(min(1.0, upper_tail(n, x_star, *_null_cells(delta0)).max()))


def _check_exact(n: int) -> None:
    if n > EXACT_MAX_N:
        raise UsageError(f"the exact test sums over n² tables; n must be <= {EXACT_MAX_N}")


def exact_critical_value(n: int, floor: float, alpha: float) -> float:
    """The smallest attainable Tango Z at ``floor`` whose exact p-value is at most ``alpha``.

    The exact test rejects H0: Δ ≤ floor exactly when Z(floor) reaches this value (inf if
    no table of n pairs can reject). Used for the power of the exact rule.
    """
    _check_exact(n)
    table = _statistic_table(n, floor)
    values = np.unique(table[np.isfinite(table)])
    lo, hi = 0, values.size  # p(values[i]) decreases with i; find the first i with p <= alpha
    while lo < hi:
        mid = (lo + hi) // 2
        if _exact_tail(n, floor, float(values[mid])) <= alpha:
            hi = mid
        else:
            lo = mid + 1
    return float(values[lo]) if lo < values.size else math.inf


def exact_score_p_value(*, only_a: int, only_b: int, n: int, floor: float = 0.0) -> float:
    """Exact unconditional p-value of H0: p_B − p_A ≤ ``floor`` (B does not beat the floor).

    Orders the possible tables by Tango's score statistic at the floor and takes the
    largest probability, over the unknown share of discordant cases (a grid of 201 values
    on the boundary Δ = floor), of a table at least as extreme as the one observed. So the
    test has level α for every discordance (up to the grid's resolution), at any n; at
    ``floor = 0`` it is an exact unconditional McNemar test, usually more powerful than
    the exact conditional one.

    Args:
        only_a: Cases that pass under A only.
        only_b: Cases that pass under B only.
        n: All paired cases, at most :data:`EXACT_MAX_N`.
        floor: The difference B must beat, in (−1, 1).

    Returns:
        The one-sided p-value.

    Reference:
        Berger & Boos, JASA 89 (1994) (maximising over the nuisance parameter); Tango
        (1998) for the ordering statistic; Fagerland, Lydersen & Laake (2014).
    """
    _check_counts(only_a, only_b, n)
    _check_exact(n)
    if not -1.0 < floor < 1.0:
        raise UsageError(f"floor must be in (-1, 1), got {floor}")
    observed = float(_tango_z(floor, only_b, only_a, n))
    return _exact_tail(n, floor, observed)


def _scan(only_a: int, only_b: int, n: int) -> float:
    """Where to start scanning Δ0 upwards: below Tango's 99.99 % lower bound, p ≈ 0 there."""
    deep = _tango_root(only_a, only_b, n, float(sps.norm.isf(1e-4)))
    return max(-1.0 + _EDGE, deep - _SCAN_STEP)


class ExactScan(NamedTuple):
    """The exact test scanned up Δ0: where rejection stops, and the p-values on the way."""

    lower: float
    """The lower bound: the largest Δ0 known rejected below the first one not rejected."""
    first_kept: float
    """The first Δ0 found not rejected (``lower`` < first_kept ≤ lower + 1e-7)."""
    grid: tuple[float, ...]
    """The Δ0 grid points scanned, all rejected except possibly the last."""
    p_values: tuple[float, ...]
    """Their exact p-values."""


def _exact_scan(only_a: int, only_b: int, n: int, alpha: float) -> ExactScan:
    def p_at(delta0: float) -> float:
        return exact_score_p_value(only_a=only_a, only_b=only_b, n=n, floor=delta0)

    estimate = (only_b - only_a) / n
    point = _scan(only_a, only_b, n)
    grid, values = [point], [p_at(point)]
    if point >= estimate or values[0] > alpha:
        return ExactScan(-1.0, point, tuple(grid), tuple(values))
    while values[-1] <= alpha and grid[-1] < estimate:
        point = min(grid[-1] + _SCAN_STEP, estimate)
        grid.append(point)
        values.append(p_at(point))
    if values[-1] <= alpha:  # rejected all the way to the estimate: not at a sane alpha
        return ExactScan(estimate, estimate, tuple(grid), tuple(values))
    lo, hi = grid[-2], grid[-1]
    while hi - lo > 1e-7:
        mid = (lo + hi) / 2.0
        lo, hi = (mid, hi) if p_at(mid) <= alpha else (lo, mid)
    return ExactScan(lo, hi, tuple(grid), tuple(values))


class ExactFloor(NamedTuple):
    """An exact floor verdict's p-value and lower bound, consistent with each other."""

    p_value: float
    """The exact p-value made monotone in the floor (≥ the plain one, so still valid)."""
    lower: float
    """The lower bound; it exceeds the floor exactly when ``p_value`` ≤ α."""


def exact_floor_decision(
    *, only_a: int, only_b: int, n: int, floor: float, confidence: float = 0.95
) -> ExactFloor:
    """The exact test of H0: Δ ≤ floor and the exact lower bound, made to agree.

    The exact p-value wobbles as Δ0 moves (the tables' order changes, and ties at special
    Δ0 such as 0 count as extreme), so a floor can be kept while a slightly lower Δ0 is
    rejected, or the reverse. Here the p-value is the largest exact p-value on the scan
    up to the floor and at the floor itself (never smaller than the plain one: still a
    valid test), and the bound is lowered to the floor when the floor itself is not
    rejected (the floor is then in the confidence set). So "lower > floor" exactly when
    p ≤ 1 − confidence, up to the 1e-7 resolution of the bound.

    Args:
        only_a: Cases that pass under A only.
        only_b: Cases that pass under B only.
        n: All paired cases, at most :data:`EXACT_MAX_N`.
        floor: The difference B must beat, in (−1, 1).
        confidence: Coverage of the one-sided bound.

    Returns:
        The p-value and the bound.

    Reference:
        As :func:`exact_score_p_value`.
    """
    _check_counts(only_a, only_b, n)
    _check_exact(n)
    check_confidence(confidence)
    alpha = 1.0 - confidence
    scan = _exact_scan(only_a, only_b, n, alpha)
    at_floor = exact_score_p_value(only_a=only_a, only_b=only_b, n=n, floor=floor)
    below = [p for g, p in zip(scan.grid, scan.p_values, strict=True) if g <= floor]
    p_value = max([at_floor, *below])
    if scan.first_kept <= floor:
        p_value = max(
            p_value,
            exact_score_p_value(only_a=only_a, only_b=only_b, n=n, floor=scan.first_kept),
        )
    lower = min(scan.lower, floor) if at_floor > alpha else scan.lower
    return ExactFloor(p_value=p_value, lower=lower)


def exact_lower_bound(*, only_a: int, only_b: int, n: int, confidence: float = 0.95) -> float:
    """One-sided lower confidence bound for p_B − p_A from the exact unconditional test.

    The smallest Δ0 the exact test of H0: Δ ≤ Δ0 does not reject at ``1 − confidence``,
    found by a scan up in steps of 0.01 from where every Δ0 is rejected, then bisection
    (to 1e-7) inside the first cell that is not. For a verdict against a floor use
    :func:`exact_floor_decision`, which keeps bound and p-value in step.

    Args:
        only_a: Cases that pass under A only.
        only_b: Cases that pass under B only.
        n: All paired cases, at most :data:`EXACT_MAX_N`.
        confidence: Coverage of the one-sided bound.

    Returns:
        The lower bound in [−1, 1].

    Reference:
        As :func:`exact_score_p_value`; Berger & Boos (1994) for the coverage guarantee.
    """
    _check_counts(only_a, only_b, n)
    _check_exact(n)
    check_confidence(confidence)
    return _exact_scan(only_a, only_b, n, 1.0 - confidence).lower
