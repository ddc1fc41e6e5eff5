"""The floor verdict and its power: bound and test agree, power predicted exactly."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from scipy import stats as sps

from evallock.errors import UsageError
from evallock.stats import (
    exact_score_p_value,
    mean_floor_test,
    paired_binary_floor_mde,
    paired_binary_floor_power,
    paired_binary_floor_sample_size,
    paired_floor_test,
    paired_t_floor_mde,
    paired_t_floor_power,
    paired_t_floor_sample_size,
    paired_t_sample_size,
    tango_statistic,
    two_proportion_sample_size,
)
from evallock.stats import floor as floor_module
from evallock.stats import floor_power as floor_power_module
from evallock.stats import power as power_module


@pytest.mark.parametrize("method", ["score", "exact"])
def test_clears_is_lower_bound_above_floor_and_p_below_alpha(method: str) -> None:
    n = 24 if method == "exact" else 60
    rng = np.random.default_rng(3)
    for _ in range(25):
        only_a, only_b, _ = rng.multinomial(n, [0.1, 0.3, 0.6]).tolist()
        for floor in (0.0, 0.05):
            verdict = paired_floor_test(
                only_a=only_a,
                only_b=only_b,
                n=n,
                floor=floor,
                method=method,  # type: ignore[arg-type]
            )
            assert verdict.clears == (verdict.p_value <= 0.05)
            if abs(verdict.lower - floor) > 1e-6:
                assert verdict.clears == (verdict.lower > floor)
            assert verdict.estimate == (only_b - only_a) / n


def test_auto_switches_to_the_score_test_for_large_n() -> None:
    assert paired_floor_test(only_a=3, only_b=9, n=50).method == "exact unconditional score"
    assert paired_floor_test(only_a=30, only_b=90, n=500).method == "tango score"


def test_mean_floor_test_matches_scipy_one_sided_t() -> None:
    rng = np.random.default_rng(4)
    a = rng.normal(3.5, 0.8, 25)
    b = a + rng.normal(0.3, 0.7, 25)
    verdict = mean_floor_test(a, b, floor=0.1)
    reference = sps.ttest_1samp(b - a - 0.1, 0.0, alternative="greater")
    assert verdict.p_value == pytest.approx(reference.pvalue, rel=1e-10)
    bound = sps.ttest_1samp(b - a, 0.0).confidence_interval(0.90).low  # one-sided 95 %
    assert verdict.lower == pytest.approx(bound, rel=1e-10)
    assert verdict.clears == (verdict.lower > 0.1)


def test_mean_floor_test_with_zero_variance() -> None:
    verdict = mean_floor_test([1, 2, 3], [2, 3, 4], floor=0.5)
    assert verdict.clears and verdict.lower == 1.0 and verdict.p_value == 0.0


def _brute_force_power(n: int, effect: float, psi: float, floor: float, method: str) -> float:
    cells = [(psi + effect) / 2, (psi - effect) / 2, 1 - psi]
    total = 0.0
    for only_b in range(n + 1):
        for only_a in range(n + 1 - only_b):
            if method == "exact":
                wins = exact_score_p_value(only_a=only_a, only_b=only_b, n=n, floor=floor) <= 0.05
            else:
                z = tango_statistic(only_a=only_a, only_b=only_b, n=n, delta0=floor)
                wins = z > sps.norm.isf(0.05)
            if wins:
                total += sps.multinomial.pmf([only_b, only_a, n - only_a - only_b], n, cells)
    return total


@pytest.mark.parametrize("method", ["score", "exact"])
def test_binary_floor_power_is_the_exact_sum_over_tables(method: str) -> None:
    n, effect, psi, floor = 14, 0.25, 0.45, 0.05
    predicted = paired_binary_floor_power(
        n,
        effect=effect,
        discordant=psi,
        floor=floor,
        method=method,  # type: ignore[arg-type]
    ).power
    assert predicted == pytest.approx(_brute_force_power(n, effect, psi, floor, method), abs=1e-9)


def test_binary_floor_power_at_the_floor_is_the_type_one_error() -> None:
    power = paired_binary_floor_power(30, effect=0.05, discordant=0.3, floor=0.05, method="exact")
    assert power.power <= 0.05


def test_binary_floor_sample_size_meets_connor_at_floor_zero() -> None:
    # Connor: psi = 0.21, delta = 0.05, two-sided 0.05, power 0.8 -> 657 (statistics.md §3.1)
    plan = paired_binary_floor_sample_size(0.05, discordant=0.21, confidence=0.975)
    assert 640 <= plan.n <= 660 and plan.power >= 0.8
    # simulated power of McNemar at 657 is 0.801 in the reference; the exact sum agrees
    at_657 = paired_binary_floor_power(
        657, effect=0.05, discordant=0.21, confidence=0.975, method="score"
    )
    assert at_657.power == pytest.approx(0.801, abs=0.006)


def test_binary_floor_mde_inverts_the_power() -> None:
    mde = paired_binary_floor_mde(80, discordant=0.3, floor=0.02, method="score")
    power = paired_binary_floor_power(
        80, effect=mde.effect, discordant=0.3, floor=0.02, method="score"
    )
    assert power.power == pytest.approx(0.8, abs=1e-6)
    assert paired_binary_floor_mde(5, discordant=0.05, floor=0.0).effect == float("inf")


def test_paired_t_sample_size_matches_r_power_t_test() -> None:
    # R: power.t.test(delta=0.5, sd=1, power=0.8, type="paired") -> n = 33.36713
    plan = paired_t_sample_size(0.5, sd=1.0)
    assert plan.n_exact == pytest.approx(33.36713, abs=2e-4)
    assert plan.n == 34
    floor_plan = paired_t_floor_sample_size(0.5, sd=1.0, confidence=0.975)
    assert floor_plan.n_exact == pytest.approx(33.367, abs=1e-3)
    # the z formula (Miller eq. 9) is short by a case or two at this n
    assert power_module.paired_sample_size(0.5, omega2=1.0).n == 32


def test_paired_t_floor_power_and_mde_agree() -> None:
    mde = paired_t_floor_mde(25, sd=1.2, floor=0.1)
    power = paired_t_floor_power(25, effect=mde.effect, sd=1.2, floor=0.1)
    assert power.power == pytest.approx(0.8, abs=1e-8)
    # noncentral t: P(T > t_crit) with ncp (effect - floor) sqrt(n) / sd
    direct = sps.nct.sf(sps.t.isf(0.05, 24), 24, (mde.effect - 0.1) * 5 / 1.2)
    assert power.power == pytest.approx(direct)


@pytest.mark.parametrize(
    ("method", "expected"),
    [("pooled", 1250.7167), ("arcsine", 1249.5869), ("fleiss-cc", 1290.4068)],
)
def test_two_proportion_sample_size_reference(method: str, expected: float) -> None:
    # statistics.md §7: 0.70 vs 0.75 -> 1250.7 pooled, 1249.59 Cohen's h
    plan = two_proportion_sample_size(0.70, 0.75, method=method)  # type: ignore[arg-type]
    assert plan.n_exact == pytest.approx(expected, abs=1e-3)


def _corrected_chi_square_power(n: int, p1: float, p2: float) -> float:
    """Exact power of the two-sided Yates-corrected 2x2 chi-square test, n per arm."""
    x1, x2 = np.arange(n + 1)[:, None], np.arange(n + 1)[None, :]
    pooled = (x1 + x2) / (2 * n)
    se = np.sqrt(pooled * (1 - pooled) * 2 / n)
    excess = np.maximum(np.abs(x1 - x2) / n - 1 / n, 0)
    z = np.divide(excess, se, out=np.zeros_like(se), where=se > 0)
    weights = sps.binom.pmf(x1, n, p1) * sps.binom.pmf(x2, n, p2)
    return float(weights[z > sps.norm.isf(0.025)].sum())


def test_fleiss_continuity_corrected_n_gives_the_corrected_test_its_power() -> None:
    plan = two_proportion_sample_size(0.05, 0.10)
    assert plan.n == 474  # checked below by the exact power of the corrected test
    assert _corrected_chi_square_power(plan.n, 0.05, 0.10) == pytest.approx(0.80, abs=0.015)


@pytest.mark.parametrize(
    "call",
    [
        lambda: paired_floor_test(only_a=1, only_b=2, n=10, floor=1.5),
        lambda: paired_floor_test(only_a=1, only_b=2, n=500, method="exact"),
        lambda: paired_binary_floor_power(20, effect=0.5, discordant=0.3),
        lambda: paired_binary_floor_sample_size(0.01, discordant=0.3, floor=0.02),
        lambda: paired_t_floor_power(1, effect=0.5, sd=1.0),
        lambda: two_proportion_sample_size(0.5, 0.5),
    ],
)
def test_bad_settings_are_usage_errors(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError):
        call()


@pytest.mark.parametrize("module", [floor_module, floor_power_module], ids=lambda m: m.__name__)
def test_doctests(module: object) -> None:
    result = doctest.testmod(module)  # type: ignore[arg-type]
    assert result.failed == 0
