"""Wilson, Clopper-Pearson and the exact binomial test: properties and edge cases."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as sps

from evallock.errors import UsageError
from evallock.stats import binomial_test, clopper_pearson_interval, wilson_interval

counts = st.integers(min_value=1, max_value=2000).flatmap(
    lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n))
)
levels = st.sampled_from([0.8, 0.9, 0.95, 0.99])


@given(counts, levels)
def test_wilson_lies_in_unit_interval_and_contains_the_rate(
    count: tuple[int, int], c: float
) -> None:
    successes, n = count
    interval = wilson_interval(successes, n, c)
    assert 0.0 <= interval.lo <= successes / n <= interval.hi <= 1.0
    assert interval.confidence == c
    assert interval.method == "wilson"


@given(counts, levels)
def test_clopper_pearson_contains_the_rate(count: tuple[int, int], c: float) -> None:
    successes, n = count
    exact = clopper_pearson_interval(successes, n, c)
    assert 0.0 <= exact.lo <= successes / n <= exact.hi <= 1.0


@pytest.mark.parametrize("rate", [0.05, 0.3, 0.5, 0.83, 0.97])
def test_clopper_pearson_never_under_covers(rate: float) -> None:
    n = 40
    covered = [clopper_pearson_interval(k, n).contains(rate) for k in range(n + 1)]
    coverage = sum(sps.binom.pmf(k, n, rate) for k in range(n + 1) if covered[k])
    assert coverage >= 0.95


@given(counts)
def test_one_sided_lower_bound_is_above_the_two_sided_one(count: tuple[int, int]) -> None:
    successes, n = count
    for bound in (wilson_interval, clopper_pearson_interval):
        lower = bound(successes, n, 0.95, side="lower")
        assert lower.hi == 1.0
        assert lower.lo >= bound(successes, n, 0.95).lo - 1e-12
        # the one-sided 95% bound is the lower end of the two-sided 90% interval
        assert lower.lo == pytest.approx(bound(successes, n, 0.90).lo, abs=1e-12)


def test_clopper_pearson_matches_scipy() -> None:
    for successes, n in [(0, 10), (3, 10), (10, 10), (47, 50), (123, 456)]:
        ci = sps.binomtest(successes, n).proportion_ci(0.95, method="exact")
        ours = clopper_pearson_interval(successes, n)
        assert (ours.lo, ours.hi) == pytest.approx((ci.low, ci.high), abs=1e-12)
        wilson = sps.binomtest(successes, n).proportion_ci(0.95, method="wilson")
        ours = wilson_interval(successes, n)
        assert (ours.lo, ours.hi) == pytest.approx((wilson.low, wilson.high), abs=1e-12)


def test_zero_failures_gives_the_exact_rule_of_three_bound() -> None:
    upper = clopper_pearson_interval(0, 50, side="upper")
    assert upper.lo == 0.0
    assert upper.hi == pytest.approx(1 - 0.05 ** (1 / 50), abs=1e-15)
    assert upper.hi == pytest.approx(3 / 50, abs=0.002)


def test_no_cases_gives_the_vacuous_interval() -> None:
    assert (wilson_interval(0, 0).lo, wilson_interval(0, 0).hi) == (0.0, 1.0)
    assert (clopper_pearson_interval(0, 0).lo, clopper_pearson_interval(0, 0).hi) == (0.0, 1.0)


def test_extreme_counts_pin_the_ends() -> None:
    assert wilson_interval(0, 7).lo == 0.0
    assert wilson_interval(7, 7).hi == 1.0


@pytest.mark.parametrize(
    ("successes", "n", "confidence"), [(-1, 5, 0.95), (6, 5, 0.95), (1, 5, 1.0), (1, 5, 0.0)]
)
def test_bad_arguments_are_usage_errors(successes: int, n: int, confidence: float) -> None:
    with pytest.raises(UsageError):
        wilson_interval(successes, n, confidence)


def test_binomial_test_gate_shape() -> None:
    result = binomial_test(47, 50, p0=0.85)
    assert result.alternative == "greater"
    assert result.interval is not None
    assert result.interval.hi == 1.0
    assert result.interval.lo == pytest.approx(clopper_pearson_interval(47, 50, side="lower").lo)
    assert math.isclose(result.estimate, 0.94)
    with pytest.raises(UsageError):
        binomial_test(0, 0, p0=0.5)
