"""Paired proportions: Tango's and Newcombe's intervals against published values, the exact test."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evallock.errors import UsageError
from evallock.stats import (
    exact_floor_decision,
    exact_lower_bound,
    exact_score_p_value,
    newcombe_paired_interval,
    tango_interval,
    tango_statistic,
)
from evallock.stats.paired_proportions import critical_wins, exact_critical_value, upper_tail

Z95 = 1.959963984540054


def test_tango_matches_fagerland_2014_table_v() -> None:
    # Bentur et al. (1,1,7,12): p1+ − p+1 with test 1 in the role of B
    interval = tango_interval(only_a=7, only_b=1, n=21)
    assert interval.lo == pytest.approx(-0.517, abs=5e-4)
    assert interval.hi == pytest.approx(-0.026, abs=5e-4)


def test_tango_statistic_is_mcnemar_at_zero_and_matches_ratesci() -> None:
    assert tango_statistic(only_a=3, only_b=11, n=40) == pytest.approx(8 / math.sqrt(14))
    # ratesci::pairbinci(c(1,1,7,12)) prints scorenull -2.070197 with its (N-1)/N variance factor
    z = tango_statistic(only_a=7, only_b=1, n=21)
    assert z * math.sqrt(20 / 21) == pytest.approx(-2.070197, abs=1e-6)


@pytest.mark.parametrize(
    ("both", "only_b", "only_a", "neither", "lo", "hi"),
    [
        (36, 12, 2, 0, 0.0569, 0.3404),
        (18, 12, 2, 18, 0.0562, 0.3290),
        (53, 0, 0, 1, -0.0729, 0.0729),
        (0, 30, 0, 0, 0.8395, 1.0),
        (59, 6, 16, 80, -0.1186, -0.0046),  # Cavo et al., contingencytables' test
    ],
)
def test_newcombe_method_10_matches_newcombe_1998_table_ii(
    both: int, only_b: int, only_a: int, neither: int, lo: float, hi: float
) -> None:
    interval = newcombe_paired_interval(both=both, only_a=only_a, only_b=only_b, neither=neither)
    assert interval.lo == pytest.approx(lo, abs=6e-5)
    assert interval.hi == pytest.approx(hi, abs=6e-5)


def test_tango_interval_is_the_inversion_of_its_test() -> None:
    rng = np.random.default_rng(1)
    for _ in range(200):
        n = int(rng.integers(5, 80))
        only_a, only_b, _ = rng.multinomial(n, [0.2, 0.3, 0.5]).tolist()
        interval = tango_interval(only_a=only_a, only_b=only_b, n=n)
        for delta in rng.uniform(-0.99, 0.99, 5).tolist():
            z = tango_statistic(only_a=only_a, only_b=only_b, n=n, delta0=delta)
            if abs(abs(z) - Z95) > 1e-6:
                assert interval.contains(delta) == (abs(z) < Z95)


def test_tango_interval_edges_and_symmetry() -> None:
    none = tango_interval(only_a=0, only_b=0, n=20)
    assert none.lo == pytest.approx(-none.hi) and none.hi > 0.1
    assert tango_interval(only_a=0, only_b=20, n=20).hi == 1.0
    forward = tango_interval(only_a=4, only_b=9, n=30)
    backward = tango_interval(only_a=9, only_b=4, n=30)
    assert forward.lo == pytest.approx(-backward.hi) and forward.hi == pytest.approx(-backward.lo)
    lower = tango_interval(only_a=4, only_b=9, n=30, confidence=0.95, side="lower")
    two_sided_90 = tango_interval(only_a=4, only_b=9, n=30, confidence=0.90)
    assert lower.lo == pytest.approx(two_sided_90.lo) and lower.hi == 1.0


def _tables(n: int) -> list[tuple[int, int]]:
    return [(a, b) for a in range(n + 1) for b in range(n + 1 - a)]


@pytest.mark.parametrize(("n", "floor"), [(10, 0.0), (25, 0.05), (25, -0.1), (40, 0.1)])
def test_exact_floor_test_never_exceeds_its_level(n: int, floor: float) -> None:
    critical = exact_critical_value(n, floor, 0.05)
    x_star = critical_wins(n, floor, critical)
    # a grid of discordances other than the one the p-value maximises over
    psi = np.linspace(abs(floor) + 1e-4, 1.0, 997)
    size = upper_tail(n, x_star, (psi + floor) / 2, (psi - floor) / 2)
    assert size.max() <= 0.05 + 5e-4
    assert size.max() > 0.02  # and it is not trivially conservative


def test_exact_critical_value_agrees_with_the_p_values() -> None:
    n, floor = 18, 0.05
    critical = exact_critical_value(n, floor, 0.05)
    for only_a, only_b in _tables(n):
        z = tango_statistic(only_a=only_a, only_b=only_b, n=n, delta0=floor)
        p = exact_score_p_value(only_a=only_a, only_b=only_b, n=n, floor=floor)
        assert (p <= 0.05) == (z >= critical - 1e-9)


def test_exact_floor_decision_keeps_bound_and_p_value_in_step() -> None:
    n = 24  # includes 3 vs 9, where ties make the exact p at floor 0 exceed 0.05
    for only_a, only_b in _tables(n)[::9]:
        bound = exact_lower_bound(only_a=only_a, only_b=only_b, n=n)
        for floor in (-0.2, 0.0, 0.1):
            decision = exact_floor_decision(only_a=only_a, only_b=only_b, n=n, floor=floor)
            plain = exact_score_p_value(only_a=only_a, only_b=only_b, n=n, floor=floor)
            assert decision.p_value >= plain  # monotone: never smaller, so still valid
            assert decision.lower <= bound + 1e-12
            if abs(decision.lower - floor) > 1e-6:
                assert (decision.lower > floor) == (decision.p_value <= 0.05)
    tied = exact_floor_decision(only_a=3, only_b=9, n=24, floor=0.0)
    assert tied.p_value > 0.05 and tied.lower <= 0.0


def test_exact_p_value_on_the_mcnemar_vector_sits_between_mid_p_and_exact() -> None:
    # vector mcnemar_small_n40: b = 3, c = 11; conditional one-sided exact 0.0287, mid-p 0.0176
    p = exact_score_p_value(only_a=3, only_b=11, n=40)
    assert 0.0176 < p < 0.0287
    assert p == pytest.approx(0.019239, abs=1e-5)


@pytest.mark.parametrize(
    "call",
    [
        lambda: tango_interval(only_a=-1, only_b=2, n=5),
        lambda: tango_interval(only_a=3, only_b=3, n=5),
        lambda: tango_interval(only_a=1, only_b=2, n=5, side="sideways"),  # type: ignore[arg-type]
        lambda: tango_statistic(only_a=1, only_b=2, n=5, delta0=1.0),
        lambda: newcombe_paired_interval(both=0, only_a=0, only_b=0, neither=0),
        lambda: exact_score_p_value(only_a=1, only_b=2, n=1000),
    ],
)
def test_bad_counts_are_usage_errors(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError):
        call()
