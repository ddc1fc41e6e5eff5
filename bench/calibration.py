"""Calibration bench: does each statistic do what it says, measured by simulation?

On demand (not in the test suite): ``.venv/bin/python bench/calibration.py [--quick]
[--seed 2026] [--only NAME]``. Prints one row per check: the nominal figure (a confidence
level, a test's alpha, or a power/ARL the library predicts), the measured one, the number
of simulations, the Monte-Carlo SE and the verdict:

- ``ok``: within 4.5 Monte-Carlo SEs (plus a stated allowance for asymptotic methods);
- ``<=``-rows only check that the measured error does not exceed the nominal one, and
  ``>=``-rows that a coverage is not below it (small-n intervals are conservative);
- ``info``: shown for contrast (a naive method's error), not judged.

Every check is a function registered with :func:`check` that takes ``(size, seed)`` and
returns :class:`Row` objects; ``size`` scales its simulation count (1 = the full run,
``--quick`` = 0.25, tests/stats/test_calibration.py smaller still). To add a use-site
check (a drift report's false alarms per report or per month of daily checks, the gate's
confidence rule), write one more ``@check("...")`` function that simulates the use site
under H0 and returns its rows: the table, the test file and ``--only`` pick it up.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Literal

import numpy as np

from evallock import stats
from evallock.analysis import monitor_experiment
from evallock.drift._report import build_report
from evallock.drift._scores import DriftBaseline, TraceScore
from evallock.drift._window import Window
from evallock.gate import separation
from evallock.keys import Slice
from evallock.stats.arl import one_sided_cusum_arl
from evallock.store import SliceCounts

Relation = Literal["=", "<=", ">=", "info"]
TOLERANCE_SE = 4.5


@dataclass(frozen=True)
class Row:
    """One calibration figure: the nominal (or predicted) value and the simulated one."""

    name: str
    nominal: float
    measured: float
    n_sims: int
    mc_se: float
    relation: Relation = "="
    allowed: float = 0.0
    """Systematic deviation accepted on top of Monte-Carlo noise (asymptotic methods)."""

    @property
    def z(self) -> float:
        if self.mc_se <= 0.0 or math.isnan(self.nominal):
            return math.nan
        return (self.measured - self.nominal) / self.mc_se

    def ok(self, k: float = TOLERANCE_SE) -> bool | None:
        """Whether the row passes (None for info rows)."""
        if self.relation == "info" or math.isnan(self.nominal):
            return None
        slack = k * self.mc_se + self.allowed
        if self.relation == "<=":
            return self.measured <= self.nominal + slack
        if self.relation == ">=":
            return self.measured >= self.nominal - slack
        return abs(self.measured - self.nominal) <= slack


Check = Callable[[float, int], list[Row]]
CHECKS: dict[str, Check] = {}


def check(name: str) -> Callable[[Check], Check]:
    """Register a check function under ``name``."""

    def register(function: Check) -> Check:
        CHECKS[name] = function
        return function

    return register


def _sims(base: int, size: float, least: int = 100) -> int:
    return max(least, int(base * size))


def _rate_row(
    name: str, nominal: float, hits: int, n: int, relation: Relation = "=", allowed: float = 0.0
) -> Row:
    """A proportion measured over n simulations; its SE is taken at the nominal rate."""
    p = nominal if 0.0 < nominal < 1.0 else max(hits / n, 1.0 / n)
    return Row(name, nominal, hits / n, n, math.sqrt(p * (1 - p) / n), relation, allowed)


def _mean_row(
    name: str, nominal: float, values: np.ndarray, relation: Relation = "=", allowed: float = 0.0
) -> Row:
    """A mean of run lengths. Their SD is about their mean (nearly geometric), so the SE is
    never taken below nominal/√n: a small sample that missed the long runs would otherwise
    understate its own SE."""
    se = float(np.std(values, ddof=1) / math.sqrt(values.size))
    if not math.isnan(nominal):
        se = max(se, nominal / math.sqrt(values.size))
    return Row(name, nominal, float(np.mean(values)), int(values.size), se, relation, allowed)


# --- intervals ---------------------------------------------------------------------------


def _paired_tables(
    rng: np.random.Generator, n: int, sims: int, *, grid: bool = False
) -> Iterator[tuple[float, int, int, int]]:
    """(true p_B − p_A, both, A-only, B-only) for tables drawn over a spread of parameters.

    Discordance ψ ~ U(0.05, 0.6), Δ ~ U(−0.8ψ, 0.8ψ) (on a 0.01 grid when ``grid``), the
    concordant cases split between both-pass and both-fail at a U(0.2, 0.8) share.
    """
    discordance = rng.uniform(0.05, 0.6, sims)
    delta = rng.uniform(-0.8, 0.8, sims) * discordance
    if grid:
        delta = np.round(delta, 2)
    both = (1 - discordance) * rng.uniform(0.2, 0.8, sims)
    cells = np.stack(
        [(discordance + delta) / 2, (discordance - delta) / 2, both, 1 - discordance - both], 1
    )
    counts = rng.multinomial(n, cells)
    for d, (only_b, only_a, pass_both, _) in zip(delta.tolist(), counts.tolist(), strict=True):
        yield d, pass_both, only_a, only_b


@check("paired interval coverage (Tango, Newcombe)")
def paired_interval_coverage(size: float, seed: int) -> list[Row]:
    rows = []
    for n in (8, 12, 20, 30, 100, 500):
        rng = np.random.default_rng([seed, n])
        sims = _sims(3000, size)
        tango = newcombe = 0
        for delta, both, only_a, only_b in _paired_tables(rng, n, sims):
            interval = stats.tango_interval(only_a=only_a, only_b=only_b, n=n)
            tango += interval.contains(delta)
            ci = stats.newcombe_paired_interval(
                both=both, only_a=only_a, only_b=only_b, neither=n - only_a - only_b - both
            )
            newcombe += ci.contains(delta)
        # averaged over the parameter space both are conservative below n ≈ 30, close above
        relation: Relation = ">=" if n < 30 else "="
        rows.append(_rate_row(f"Tango 95% CI coverage, n={n}", 0.95, tango, sims, relation, 0.01))
        rows.append(
            _rate_row(f"Newcombe m10 95% CI coverage, n={n}", 0.95, newcombe, sims, relation, 0.01)
        )
    return rows


@check("exact lower bound coverage")
def exact_bound_coverage(size: float, seed: int) -> list[Row]:
    rows = []
    for n in (12, 20, 40):
        rng = np.random.default_rng([seed, 1, n])
        sims = _sims(3000, size)
        missed = 0
        for delta, _, only_a, only_b in _paired_tables(rng, n, sims, grid=True):
            # the bound is above Δ exactly when the exact test rejects H0: Δ' ≤ Δ
            missed += _exact_p(only_a, only_b, n, delta) <= 0.05
        rows.append(
            _rate_row(f"exact one-sided 95% bound: miss rate, n={n}", 0.05, missed, sims, "<=")
        )
    return rows


@cache
def _exact_p(only_a: int, only_b: int, n: int, floor: float) -> float:
    return stats.exact_score_p_value(only_a=only_a, only_b=only_b, n=n, floor=floor)


@check("t and Wilson interval coverage")
def t_and_wilson_coverage(size: float, seed: int) -> list[Row]:
    rng = np.random.default_rng([seed, 2])
    rows = []
    sims = _sims(3000, size)
    hits = 0
    for _ in range(sims):
        a = rng.normal(0, 1, 8)
        b = a + rng.normal(0.3, 1, 8)
        hits += stats.paired_t_test(a, b).interval.contains(0.3)  # type: ignore[union-attr]
    rows.append(_rate_row("paired t 95% CI, normal d, n=8", 0.95, hits, sims))
    hits = 0
    levels = np.array([1, 2, 3, 4, 5])
    shares_a = np.array([0.05, 0.1, 0.25, 0.35, 0.25])
    shares_b = np.array([0.03, 0.08, 0.22, 0.37, 0.30])
    truth = float(levels @ shares_b - levels @ shares_a)
    for _ in range(sims):
        a = rng.choice(levels, 20, p=shares_a)
        b = rng.choice(levels, 20, p=shares_b)
        hits += stats.paired_t_test(a, b).interval.contains(truth)  # type: ignore[union-attr]
    rows.append(_rate_row("paired t 95% CI, 1-5 scores, n=20", 0.95, hits, sims, "=", 0.01))
    for n in (20, 50):
        rate = rng.uniform(0.05, 0.95, sims)
        passes = rng.binomial(n, rate)
        hits = sum(
            stats.wilson_interval(int(x), n).contains(float(p))
            for x, p in zip(passes, rate, strict=True)
        )
        rows.append(_rate_row(f"Wilson 95% CI, n={n}", 0.95, hits, sims, "=", 0.01))
    return rows


def _population_kappa(joint: np.ndarray) -> float:
    """Quadratic κ of a 5×5 joint distribution of (judge, human) scores."""
    k = joint.shape[0]
    index = np.arange(k)
    weight = ((index[:, None] - index[None, :]) / (k - 1)) ** 2
    expected = np.outer(joint.sum(axis=1), joint.sum(axis=0))
    return float(1 - (weight * joint).sum() / (weight * expected).sum())


@check("judge agreement: quadratic kappa interval coverage")
def kappa_coverage(size: float, seed: int) -> list[Row]:
    """The κ interval `evallock calibration` shows, over labelled samples of a judge that
    agrees with people within a point most of the time (the population κ is known)."""
    rng = np.random.default_rng([seed, 41])
    human_shares = np.array([0.08, 0.12, 0.25, 0.35, 0.20])
    confusion = np.array(  # P(judge = j | human = i): lenient by half a point, noisy
        [
            [0.55, 0.30, 0.10, 0.05, 0.00],
            [0.10, 0.50, 0.30, 0.10, 0.00],
            [0.02, 0.10, 0.50, 0.30, 0.08],
            [0.00, 0.03, 0.12, 0.55, 0.30],
            [0.00, 0.00, 0.05, 0.25, 0.70],
        ]
    )
    joint = human_shares[:, None] * confusion  # rows: human, columns: judge
    truth = _population_kappa(joint.T)
    cells = joint.ravel()
    rows = []
    for n in (40, 120):
        sims = _sims(600, size, least=60)
        hits = 0
        for _ in range(sims):
            drawn = rng.choice(cells.size, size=n, p=cells)
            human, judge = np.divmod(drawn, 5)
            interval = stats.kappa_interval(judge + 1, human + 1, n_resamples=1000, seed=0)
            hits += interval.interval.contains(truth)
        rows.append(_rate_row(f"quadratic kappa 95% BCa CI, n={n}", 0.95, hits, sims, "=", 0.02))
    return rows


# --- the floor rule ----------------------------------------------------------------------


def _floor_rejections(
    rng: np.random.Generator,
    n: int,
    discordance: float,
    delta: float,
    floor: float,
    sims: int,
    rules: tuple[str, ...] = ("score", "exact"),
) -> dict[str, int]:
    """Wins of each floor rule at true Δ = delta over ``sims`` tables.

    The score rule is :func:`evallock.stats.paired_floor_test` itself; the exact rule is its
    p-value (the same verdict, see the floor tests), memoised per table.
    """
    cells = [(discordance + delta) / 2, (discordance - delta) / 2, 1 - discordance]
    wins = dict.fromkeys(rules, 0)
    for only_b, only_a, _ in rng.multinomial(n, cells, size=sims).tolist():
        if "score" in wins:
            verdict = stats.paired_floor_test(
                only_a=only_a, only_b=only_b, n=n, floor=floor, method="score"
            )
            wins["score"] += verdict.clears
        if "exact" in wins:
            wins["exact"] += _exact_p(only_a, only_b, n, floor) <= 0.05
    return wins


@check("floor test type I error at small n")
def floor_type_one(size: float, seed: int) -> list[Row]:
    rows = []
    sims = _sims(4000, size)
    for n, discordance, floor, label in (
        (20, 0.3, 0.05, "typical"),
        (30, 0.4, 0.0, "typical"),
        (30, 0.12, 0.10, "worst case"),
    ):
        rng = np.random.default_rng([seed, 3, n, int(discordance * 100)])
        wins = _floor_rejections(rng, n, discordance, floor, floor, sims)
        score, exact = wins["score"], wins["exact"]
        tag = f"n={n}, psi={discordance}, floor={floor}"
        relation: Relation = "info" if label == "worst case" else "="
        rows.append(_rate_row(f"floor type I, score, {tag}", 0.05, score, sims, relation, 0.02))
        rows.append(_rate_row(f"floor type I, exact, {tag}", 0.05, exact, sims, "<="))
    return rows


@check("floor rule power vs prediction")
def floor_power(size: float, seed: int) -> list[Row]:
    rows = []
    sims = _sims(3000, size)
    rng = np.random.default_rng([seed, 4])
    n, psi, delta, floor = 200, 0.3, 0.1, 0.02
    predicted = stats.paired_binary_floor_power(
        n, effect=delta, discordant=psi, floor=floor, method="score"
    ).power
    score = _floor_rejections(rng, n, psi, delta, floor, sims, ("score",))["score"]
    rows.append(_rate_row(f"floor power, score, n={n}", predicted, score, sims))
    n, psi, delta, floor = 40, 0.4, 0.2, 0.0
    predicted = stats.paired_binary_floor_power(
        n, effect=delta, discordant=psi, floor=floor, method="exact"
    ).power
    exact = _floor_rejections(rng, n, psi, delta, floor, sims, ("exact",))["exact"]
    rows.append(_rate_row(f"floor power, exact, n={n}", predicted, exact, sims))
    n, sd, delta, floor = 20, 1.0, 0.6, 0.1
    predicted = stats.paired_t_floor_power(n, effect=delta, sd=sd, floor=floor).power
    wins = 0
    for _ in range(sims):
        a = rng.normal(0, 1, n)
        wins += stats.mean_floor_test(a, a + rng.normal(delta, sd, n), floor=floor).clears
    rows.append(_rate_row(f"floor power, paired t, n={n}", predicted, wins, sims))
    return rows


# --- detectors ---------------------------------------------------------------------------


Draw = Callable[[int], np.ndarray]


def _run_length(make: Callable[[], stats.DriftDetector], draw: Draw, skip: int, cap: int) -> int:
    """Observations after the first ``skip`` until the first alarm (``cap`` if none)."""
    detector = make()
    seen = 0
    while seen < cap + skip:
        for x in draw(1024).tolist():
            detector.update(x)
            seen += 1
            if detector.drift_detected and seen > skip:
                return seen - skip
    return cap


def _stream(rng: np.random.Generator, shift: float, start: int) -> Draw:
    """A fresh N(0, 1) stream whose mean moves to ``shift`` from value ``start`` on."""
    seen = 0

    def draw(m: int) -> np.ndarray:
        nonlocal seen
        index = seen + np.arange(m)
        seen += m
        return rng.normal(0.0, 1.0, m) + np.where(index >= start, shift, 0.0)

    return draw


def _arl_rows(size: float, seed: int, shift: float) -> list[Row]:
    label = "ARL0" if shift == 0.0 else f"delay {shift} SD"
    sims = _sims(3000, size, least=60)
    rng = np.random.default_rng([seed, 5, int(shift * 10)])
    cap = 20_000
    rows = []
    cases: list[tuple[str, Callable[[], stats.DriftDetector], float, int, float]] = [
        (
            "CUSUM h=5, known",
            lambda: stats.CUSUM(mean=0.0, sd=1.0, h=5.0),
            stats.cusum_arl(h=5.0, shift=shift),
            0,
            0.0,
        ),
        (
            "CUSUM h=5, warm-up 50",
            lambda: stats.CUSUM(h=5.0, warmup=50),
            stats.cusum_warmup_arl(h=5.0, warmup=50, shift=shift).mean,
            50,
            0.03,
        ),
        (
            "EWMA L=2.962, known",
            lambda: stats.EWMA(mean=0.0, sd=1.0, width=2.962),
            stats.ewma_arl(width=2.962, shift=shift),
            0,
            0.06,  # the chart's exact start-up limits alarm earlier than the asymptotic chain
        ),
        (
            "EWMA L=2.962, warm-up 50",
            lambda: stats.EWMA(width=2.962, warmup=50),
            stats.ewma_warmup_arl(width=2.962, warmup=50, shift=shift).mean,
            50,
            0.08,
        ),
    ]
    for name, make, predicted, warmup, allowed in cases:
        lengths = np.array(
            [_run_length(make, _stream(rng, shift, warmup), warmup, cap) for _ in range(sims)],
            float,
        )
        rows.append(_mean_row(f"{name}: {label}", predicted, lengths, "=", allowed * predicted))
    bad = 0.02 if shift == 0.0 else 0.15
    lengths = np.array(
        [
            _run_length(
                lambda: stats.BernoulliCUSUM(p0=0.02, p1=0.15, h=3.0),
                lambda m: (rng.random(m) < bad).astype(float),
                0,
                cap,
            )
            for _ in range(sims)
        ],
        float,
    )
    predicted = stats.bernoulli_cusum_arl(p0=0.02, p1=0.15, h=3.0, p=bad)
    name = "Bernoulli CUSUM p0=.02 p1=.15 h=3: " + ("ARL0" if shift == 0.0 else "delay p=.15")
    rows.append(_mean_row(name, predicted, lengths))
    lengths = np.array(
        [
            _run_length(
                lambda: stats.PageHinkley(threshold=10.0, delta=0.05),
                _stream(rng, shift, 0),
                0,
                cap,
            )
            for _ in range(max(30, sims // 4))
        ],
        float,
    )
    rows.append(_mean_row(f"Page-Hinkley thr=10 delta=.05: {label}", math.nan, lengths, "info"))
    return rows


@check("detector ARL0")
def detector_arl0(size: float, seed: int) -> list[Row]:
    rows = _arl_rows(size, seed, 0.0)
    # the guarantee design: share of warm-ups whose chart keeps ARL0 >= 465
    rng = np.random.default_rng([seed, 6])
    chart = stats.CUSUM(warmup=50, warmup_guarantee=0.9)
    target = stats.cusum_arl(h=5.0)
    sims = _sims(2000, size)
    kept = 0
    for _ in range(sims):
        sample = rng.normal(0, 1, 50)
        mu, sd = float(sample.mean()), float(sample.std(ddof=1))
        upper = one_sided_cusum_arl(mu + chart.k * sd, chart.h * sd, 0.0, 100)
        lower = one_sided_cusum_arl(-mu + chart.k * sd, chart.h * sd, 0.0, 100)
        kept += 1.0 / (1.0 / upper + 1.0 / lower) >= target
    rows.append(
        _rate_row(
            f"CUSUM warm-up 50, guarantee .9 (h={chart.h:.2f}): P(ARL0>=465)",
            0.9,
            kept,
            sims,
            "=",
            0.01,
        )
    )
    return rows


@check("detector delay, 0.3 SD shift")
def detector_delay(size: float, seed: int) -> list[Row]:
    return _arl_rows(size, seed, 0.3)


# --- drift tests -------------------------------------------------------------------------


@check("drift tests type I error")
def drift_type_one(size: float, seed: int) -> list[Row]:
    rng = np.random.default_rng([seed, 7])
    sims = _sims(3000, size)
    shares = np.array([0.05, 0.1, 0.2, 0.35, 0.3])
    levels = np.arange(1, 6)
    names = [
        "KS",
        "Mann-Whitney",
        "Wasserstein perm",
        "KS on 1-5 (ties)",
        "chi2 homogeneity",
        "chi2 GOF, known shares",
        "JS perm",
        "chi2 GOF, shares from baseline",
    ]
    hits = dict.fromkeys(names, 0)
    for _ in range(sims):
        base, window = rng.normal(0, 1, 150), rng.normal(0, 1, 80)
        hits["KS"] += stats.ks_test(base, window).p_value <= 0.05
        hits["Mann-Whitney"] += stats.mann_whitney_test(base, window).p_value <= 0.05
        hits["Wasserstein perm"] += (
            stats.wasserstein_test(
                base, window, n_permutations=199, seed=int(rng.integers(1 << 31))
            ).p_value
            <= 0.05
        )
        base_scores, window_scores = (
            rng.choice(levels, 150, p=shares),
            rng.choice(levels, 80, p=shares),
        )
        hits["KS on 1-5 (ties)"] += stats.ks_test(base_scores, window_scores).p_value <= 0.05
        base_counts = stats.category_counts(base_scores.tolist(), levels.tolist())
        window_counts = stats.category_counts(window_scores.tolist(), levels.tolist())
        hits["chi2 homogeneity"] += (
            stats.chi_square_homogeneity_test(base_counts, window_counts).p_value <= 0.05
        )
        hits["chi2 GOF, known shares"] += (
            stats.chi_square_goodness_of_fit_test(window_counts, shares.tolist()).p_value <= 0.05
        )
        hits["JS perm"] += (
            stats.jensen_shannon_test(
                base_counts, window_counts, n_permutations=199, seed=int(rng.integers(1 << 31))
            ).p_value
            <= 0.05
        )
        hits["chi2 GOF, shares from baseline"] += (
            stats.chi_square_goodness_of_fit_test(window_counts, base_counts).p_value <= 0.05
        )
    relation: dict[str, tuple[Relation, float]] = {
        "KS": ("<=", 0.0),
        "KS on 1-5 (ties)": ("<=", 0.0),
        "chi2 GOF, shares from baseline": ("info", 0.0),
        "chi2 homogeneity": ("=", 0.01),
        "chi2 GOF, known shares": ("=", 0.01),
    }
    rows = []
    for name in names:
        rel, allowed = relation.get(name, ("=", 0.0))
        rows.append(
            _rate_row(f"{name}: type I (n 150 vs 80)", 0.05, hits[name], sims, rel, allowed)
        )
    return rows


@check("baseline-aware mean shift")
def mean_shift(size: float, seed: int) -> list[Row]:
    rng = np.random.default_rng([seed, 8])
    sims = _sims(3000, size)
    two_sample = naive = stratified = raw = 0
    for _ in range(sims):
        base, window = rng.normal(4, 0.6, 15), rng.normal(4, 0.6, 40)
        moments = [(x.size, float(x.sum()), float(x @ x)) for x in (base, window)]
        result = stats.mean_shift_test(moments[0], moments[1])
        two_sample += result.p_value <= 0.05
        naive += 2 * (1 - _phi(abs(float(result.details["z_known_baseline"])))) <= 0.05
        # the mix moves (70/30 -> 30/70) but quality within each tier does not
        b_tier = rng.random(300) < 0.7
        w_tier = rng.random(120) < 0.3
        b_scores = np.where(b_tier, 4.3, 3.3) + rng.normal(0, 0.5, 300)
        w_scores = np.where(w_tier, 4.3, 3.3) + rng.normal(0, 0.5, 120)
        shift = stats.post_stratified_shift(b_scores, b_tier.tolist(), w_scores, w_tier.tolist())
        stratified += shift.p_value <= 0.05
        raw += (
            stats.mean_shift_test(
                (300, float(b_scores.sum()), float(b_scores @ b_scores)),
                (120, float(w_scores.sum()), float(w_scores @ w_scores)),
            ).p_value
            <= 0.05
        )
    return [
        _rate_row(
            "mean shift, Welch two-sample, n_b=15 n_w=40", 0.05, two_sample, sims, "=", 0.005
        ),
        _rate_row("mean shift, baseline taken as known", 0.05, naive, sims, "info"),
        _rate_row("post-stratified shift, mix change only", 0.05, stratified, sims, "=", 0.01),
        _rate_row("raw mean shift, mix change only", 0.05, raw, sims, "info"),
    ]


def _phi(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


# --- sequential --------------------------------------------------------------------------


@check("always-valid inference under continuous peeking")
def sequential_peeking(size: float, seed: int) -> list[Row]:
    rng = np.random.default_rng([seed, 9])
    sims = _sims(2000, size)
    length = 1000
    one = two = cover = naive = discordant = 0
    for _ in range(sims):
        test = stats.MixtureSPRT(sigma2=1.0, tau2=0.05)
        for x in rng.normal(0, 1, length).tolist():
            test.update(x)
        one += test.rejected
        buckets = np.where(rng.random(length) < 0.5, "a", "b")
        values = rng.normal(0, 1, length)
        ab = stats.TwoSampleMixtureSPRT(sigma2_a=1.0, sigma2_b=1.0, tau2=0.05)
        shifted = stats.TwoSampleMixtureSPRT(sigma2_a=1.0, sigma2_b=1.0, tau2=0.05, theta0=0.2)
        for bucket, x in zip(buckets.tolist(), values.tolist(), strict=True):
            ab.update(bucket, x)
            shifted.update(bucket, x + (0.2 if bucket == "b" else 0.0))
        two += ab.rejected
        cover += shifted.rejected  # the CS missed the true difference 0.2 at some look
        # a fixed-n z-test looked at after every 20 observations
        a_mask = buckets == "a"
        n_a, n_b = np.cumsum(a_mask), np.cumsum(~a_mask)
        s_a, s_b = np.cumsum(np.where(a_mask, values, 0)), np.cumsum(np.where(a_mask, 0, values))
        looks = np.arange(19, length, 20)
        ok = (n_a[looks] > 1) & (n_b[looks] > 1)
        z = (
            s_b[looks] / np.maximum(n_b[looks], 1) - s_a[looks] / np.maximum(n_a[looks], 1)
        ) / np.sqrt(1 / np.maximum(n_a[looks], 1) + 1 / np.maximum(n_b[looks], 1))
        naive += bool(np.any(ok & (np.abs(z) > 1.96)))
        pairs = stats.DiscordantPairEProcess()
        for a, b in zip(
            (rng.random(300) < 0.6).tolist(), (rng.random(300) < 0.6).tolist(), strict=True
        ):
            pairs.update(a, b)
        discordant += pairs.rejected
    return [
        _rate_row("mSPRT one-sample, H0, 1000 looks", 0.05, one, sims, "<="),
        _rate_row("mSPRT two-sample, H0, 1000 looks", 0.05, two, sims, "<="),
        _rate_row("two-sample CS misses true diff, 1000 looks", 0.05, cover, sims, "<="),
        _rate_row("discordant-pair e-process, H0, 300 looks", 0.05, discordant, sims, "<="),
        _rate_row("fixed-n z peeked every 20 (50 looks)", 0.05, naive, sims, "info"),
    ]


# --- multiplicity ------------------------------------------------------------------------


@check("family-wise error of per-slice floor wins")
def slice_family(size: float, seed: int) -> list[Row]:
    rng = np.random.default_rng([seed, 10])
    sims = _sims(3000, size)
    slices, n, psi = 10, 100, 0.3
    holm = raw = 0
    for _ in range(sims):
        counts = rng.multinomial(n, [psi / 2, psi / 2, 1 - psi], size=slices)
        p = {
            f"s{i}": 1.0 - _phi(stats.tango_statistic(only_a=int(y), only_b=int(x), n=n))
            for i, (x, y, _) in enumerate(counts)
        }
        holm += any(stats.adjust_floor_tests(p, alpha=0.05).wins)
        raw += any(v <= 0.05 for v in p.values())
    return [
        _rate_row("Holm floor wins, 10 null slices: FWER", 0.05, holm, sims, "<=", 0.01),
        _rate_row("unadjusted floor wins, 10 null slices", 0.05, raw, sims, "info"),
    ]


# --- use sites: the drift report and the gate ----------------------------------------------

_TIER_SCORES = {  # P(score = 1..5) per tier: enterprise is inherently lower, nothing drifts
    "consumer": [0.03, 0.07, 0.15, 0.35, 0.40],
    "enterprise": [0.10, 0.15, 0.25, 0.30, 0.20],
}
_TIER_SHARE = {"consumer": 0.8, "enterprise": 0.2}


def _judged(
    rng: np.random.Generator, n: int, start: datetime, days: int, oversample: bool
) -> list[TraceScore]:
    """A judged sample of drift-free traffic: tier by share (or half and half), scores by tier."""
    share = 0.5 if oversample else _TIER_SHARE["enterprise"]
    enterprise = rng.random(n) < share
    scores = np.where(
        enterprise,
        rng.choice(5, size=n, p=_TIER_SCORES["enterprise"]),
        rng.choice(5, size=n, p=_TIER_SCORES["consumer"]),
    )
    seconds = rng.uniform(0, days * 86400, size=n)
    out = []
    for i in range(n):
        tier = "enterprise" if enterprise[i] else "consumer"
        out.append(
            TraceScore(
                trace_id=f"{i:032x}",
                timestamp=start + timedelta(seconds=float(seconds[i])),
                score=int(scores[i]) + 1,
                stratum=tier,
                keys={"customer_tier": tier},
            )
        )
    return out


def _drift_alert(
    rng: np.random.Generator, *, by: bool, stratify: bool, days: int = 7, n: int = 200
) -> bool:
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    base_scores = _judged(rng, 200, t0, 7, oversample=stratify)
    mix = {k: round(v * 10_000) for k, v in _TIER_SHARE.items()} if stratify else None
    baseline = DriftBaseline(
        mean=float(np.mean([s.score for s in base_scores])),
        source="window",
        scores=base_scores,
        stratum_sizes=mix,
    )
    start = t0 + timedelta(days=7)
    report = build_report(
        window=Window(start=start, end=start + timedelta(days=days)),
        available=10_000,
        scores=_judged(rng, n, start, days, oversample=stratify),
        baseline=baseline,
        judge_version="j",
        by=("customer_tier",) if by else (),
        stratum_sizes=mix,
        detectors=False,  # signals only: the alert does not use them
    )
    return report.alert


@check("drift report false alarms (200-trace baseline)")
def drift_false_alarms(size: float, seed: int) -> list[Row]:
    """A drift report on drift-free traffic alerts at most its alpha (0.05), per report."""
    rows = []
    sims = _sims(2000, size)
    for label, by, stratify in (
        ("plain", False, False),
        ("--by customer_tier", True, False),
        ("--stratify-by customer_tier (oversampled)", False, True),
        ("--by and --stratify-by", True, True),
    ):
        rng = np.random.default_rng([seed, 20, by, stratify])
        hits = sum(_drift_alert(rng, by=by, stratify=stratify) for _ in range(sims))
        rows.append(_rate_row(f"drift 7-day report, {label}: alert rate", 0.05, hits, sims, "<="))
    return rows


@check("drift false alarms per month of daily checks")
def drift_month(size: float, seed: int) -> list[Row]:
    """30 daily 1-day reports against one 200-trace baseline: P(any alert in the month),
    at the default alpha and at the 0.002 the README suggests for daily checks."""
    rows = []
    for alpha in (0.05, 0.002):
        rng = np.random.default_rng([seed, 21, int(alpha * 1000)])
        months = _sims(200, size, least=40)
        hits = 0
        for _ in range(months):
            t0 = datetime(2026, 11, 1, tzinfo=UTC)
            base_scores = _judged(rng, 200, t0, 7, oversample=False)
            baseline = DriftBaseline(
                mean=float(np.mean([s.score for s in base_scores])),
                source="window",
                scores=base_scores,
            )
            alerted = False
            for d in range(30):
                start = t0 + timedelta(days=7 + d)
                report = build_report(
                    window=Window(start=start, end=start + timedelta(days=1)),
                    available=1000,
                    scores=_judged(rng, 60, start, 1, oversample=False),
                    baseline=baseline,
                    judge_version="j",
                    detectors=False,
                    alpha=alpha,
                )
                alerted = alerted or report.alert
            hits += alerted
        independent = 1 - (1 - alpha) ** 30
        rows.append(
            _rate_row(
                f"30 daily reports (alpha {alpha:g} each): any alert in the month",
                independent,
                hits,
                months,
                "<=",
            )
        )
    return rows


@check("gate: point rule error at n=28 vs the stated separation")
def gate_separation(size: float, seed: int) -> list[Row]:
    """The gate's note states exact binomial error rates; simulated verdicts agree."""
    rng = np.random.default_rng([seed, 22])
    sims = _sims(4000, size)
    stated = separation(28, 0.9)
    assert stated is not None
    rows = []
    for label, rate, nominal in (
        ("a 85% service passes", 0.85, stated.bad_passes),
        ("a 95% service fails", 0.95, stated.good_fails),
    ):
        passed = rng.binomial(28, rate, size=sims)
        verdict_pass = passed >= math.ceil(0.9 * 28 - 1e-9)
        hits = int(np.sum(verdict_pass if rate < 0.9 else ~verdict_pass))
        rows.append(_rate_row(f"gate n=28 min 0.9: {label}", nominal, hits, sims, "="))
    lb = separation(28, 0.9, gate_on="lower-bound")
    assert lb is not None
    need = next(k for k in range(29) if stats.wilson_interval(k, 28, 0.95, side="lower").lo >= 0.9)
    passed = rng.binomial(28, 0.85, size=sims)
    rows.append(
        _rate_row(
            "gate n=28 lower-bound rule: a 85% service passes",
            lb.bad_passes,
            int(np.sum(passed >= need)),
            sims,
            "=",
        )
    )
    return rows


@check("online A/B monitor: false winner over daily looks")
def experiment_monitor(size: float, seed: int) -> list[Row]:
    """`evallock experiment` looked at daily for 30 days with equal buckets: a false
    "B better"/"B worse" at any look at most alpha of the time (and a fixed-n test
    looked at as often, for contrast)."""
    rng = np.random.default_rng([seed, 23])
    sims = _sims(1000, size)
    any_call = fixed_call = 0
    for _ in range(sims):
        down = {"A": 0, "B": 0}
        n = 0
        called = fixed = False
        for _day in range(30):
            n += 200
            for bucket in down:
                down[bucket] += int(rng.binomial(200, 0.1))
            store = _Counts(n, down)
            found = monitor_experiment(store, a="A", b="B", alpha=0.05)
            called = called or found.verdict != "keep running"
            diff = (down["B"] - down["A"]) / n
            pooled = (down["A"] + down["B"]) / (2 * n)
            se = math.sqrt(2 * pooled * (1 - pooled) / n)
            fixed = fixed or (se > 0 and abs(diff) / se > 1.959964)
        any_call += called
        fixed_call += fixed
    return [
        _rate_row(
            "experiment monitor, 30 daily looks, H0: any verdict", 0.05, any_call, sims, "<="
        ),
        _rate_row("fixed-n z looked at daily (30 looks), H0", 0.05, fixed_call, sims, "info"),
    ]


class _Counts:
    """A stand-in for ``store.traces`` holding the two buckets' running totals."""

    def __init__(self, n: int, down: dict[str, int]) -> None:
        self.n, self.down = n, down

    def slices(
        self, by: Sequence[str], *, since: datetime | None = None, until: datetime | None = None
    ) -> list[SliceCounts]:
        return [
            SliceCounts(
                slice=Slice.of(by, [bucket]),
                n=self.n,
                errors=0,
                thumbs_down=count,
                judge_n=0,
                judge_sum=0.0,
                judge_sumsq=0.0,
                first_seen=None,
            )
            for bucket, count in self.down.items()
        ]


# --- running -----------------------------------------------------------------------------


def run(size: float, seed: int, only: str | None = None) -> list[Row]:
    rows: list[Row] = []
    for name, function in CHECKS.items():
        if only and only.lower() not in name.lower():
            continue
        started = time.perf_counter()
        rows.extend(function(size, seed))
        print(f"  [{name}: {time.perf_counter() - started:.1f} s]", flush=True)
    return rows


def render(rows: list[Row]) -> str:
    header = f"{'check':<62} {'nominal':>9} {'measured':>9} {'rel':>4} {'n_sims':>7} {'MC SE':>8} {'z':>6}  verdict"
    lines = [header, "-" * len(header)]
    for row in rows:
        verdict = {None: "info", True: "ok", False: "FAIL"}[row.ok()]
        z = "" if math.isnan(row.z) else f"{row.z:6.1f}"
        lines.append(
            f"{row.name:<62} {row.nominal:9.4g} {row.measured:9.4g} {row.relation:>4} "
            f"{row.n_sims:7d} {row.mc_se:8.3g} {z:>6}  {verdict}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a quarter of the simulations")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--only", help="run the checks whose name contains this")
    args = parser.parse_args()
    started = time.perf_counter()
    rows = run(0.25 if args.quick else 1.0, args.seed, args.only)
    print(render(rows))
    failed = sum(row.ok() is False for row in rows)
    print(f"\n{len(rows)} rows, {failed} outside tolerance, {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
