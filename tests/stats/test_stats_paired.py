"""Paired difference, paired t, McNemar and sign test: cross-checks and edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as sps

from evallock.errors import UsageError
from evallock.stats import (
    mcnemar_test,
    paired_difference,
    paired_t_test,
    sign_test,
    wilson_interval,
)

flags = st.lists(st.tuples(st.booleans(), st.booleans()), min_size=2, max_size=200)


@given(flags)
def test_mcnemar_p_values_are_ordered_and_valid(pairs: list[tuple[bool, bool]]) -> None:
    a = [int(x) for x, _ in pairs]
    b = [int(y) for _, y in pairs]
    exact = mcnemar_test(a, b, method="exact").p_value
    mid = mcnemar_test(a, b, method="mid-p").p_value
    assert 0.0 <= mid <= exact <= 1.0
    for method in ("asymptotic", "asymptotic-cc"):
        assert 0.0 <= mcnemar_test(a, b, method=method).p_value <= 1.0


@given(flags)
def test_paired_interval_contains_the_estimate(pairs: list[tuple[bool, bool]]) -> None:
    a = [int(x) for x, _ in pairs]
    b = [int(y) for _, y in pairs]
    result = paired_difference(a, b)
    assert result.interval is not None
    assert result.interval.contains(result.estimate)
    assert result.estimate == pytest.approx(np.mean(b) - np.mean(a))


def test_mcnemar_exact_equals_the_sign_test_on_binary_data() -> None:
    rng = np.random.default_rng(4)
    a, b = rng.random(60) < 0.6, rng.random(60) < 0.7
    assert mcnemar_test(a, b, method="exact").p_value == pytest.approx(sign_test(a, b).p_value)


def test_mcnemar_one_sided_exact_is_the_binomial_tail() -> None:
    a = [1] * 3 + [0] * 11 + [1] * 10
    b = [0] * 3 + [1] * 11 + [1] * 10
    result = mcnemar_test(a, b, method="exact", alternative="greater")
    assert result.p_value == pytest.approx(sps.binomtest(11, 14, 0.5, "greater").pvalue)
    mid = mcnemar_test(a, b, alternative="greater").p_value
    assert mid == pytest.approx(sps.binom.sf(11, 14, 0.5) + 0.5 * sps.binom.pmf(11, 14, 0.5))


def test_mcnemar_without_discordant_pairs_is_not_significant() -> None:
    result = mcnemar_test([1, 0, 1], [1, 0, 1], method="asymptotic")
    assert result.p_value == 1.0
    assert result.details["discordant"] == 0


def test_mcnemar_rejects_non_binary_scores() -> None:
    with pytest.raises(UsageError):
        mcnemar_test([0.5, 1.0], [1.0, 1.0])


def test_paired_t_matches_scipy_for_every_alternative() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=25), rng.normal(0.3, 1.0, size=25)
    for alternative in ("two-sided", "greater", "less"):
        ours = paired_t_test(a, b, alternative=alternative)
        theirs = sps.ttest_rel(b, a, alternative=alternative)
        assert ours.statistic == pytest.approx(theirs.statistic)
        assert ours.p_value == pytest.approx(theirs.pvalue)
        ci = theirs.confidence_interval(0.95)
        assert ours.interval is not None
        assert (ours.interval.lo, ours.interval.hi) == pytest.approx((ci.low, ci.high))


def test_zero_variance_differences_are_degenerate_not_warnings() -> None:
    same = paired_t_test([1, 2, 3], [1, 2, 3])
    assert same.p_value == 1.0
    assert same.statistic == 0.0
    shifted = paired_difference([1, 2, 3], [2, 3, 4])
    assert shifted.p_value == 0.0
    assert shifted.interval is not None
    assert (shifted.interval.lo, shifted.interval.hi) == (1.0, 1.0)
    assert math.isnan(paired_t_test([1, 2, 3], [2, 3, 4]).details["cohens_dz"])


def test_effect_floor_is_a_one_sided_test_against_the_floor() -> None:
    rng = np.random.default_rng(8)
    a = (rng.random(500) < 0.70).astype(float)
    b = np.where(rng.random(500) < 0.9, a, 1.0)
    plain = paired_difference(a, b, alternative="greater")
    floor = paired_difference(a, b, null=0.02, alternative="greater")
    assert floor.p_value > plain.p_value
    assert floor.interval is not None
    assert floor.interval.hi == math.inf
    # clears the floor exactly when the one-sided lower bound is above it
    assert (floor.p_value < 0.05) == (floor.interval.lo > 0.02)


def test_clustered_paired_difference_reports_clusters() -> None:
    a = [1, 1, 0, 0, 1, 0, 1, 1]
    b = [1, 1, 1, 0, 1, 1, 1, 0]
    result = paired_difference(a, b, clusters=["x", "x", "y", "y", "z", "z", "w", "w"])
    assert result.details["n_clusters"] == 4
    assert result.method == "paired CLT, clustered SE"


def test_sign_test_with_only_ties() -> None:
    result = sign_test([3, 4], [3, 4])
    assert result.p_value == 1.0
    assert result.details["n_zero"] == 2


@pytest.mark.parametrize("bad", [[1.0], [float("nan"), 1.0]])
def test_paired_inputs_are_validated(bad: list[float]) -> None:
    with pytest.raises(UsageError):
        paired_difference(bad, [1.0] * len(bad))


def test_unpaired_lengths_are_rejected() -> None:
    with pytest.raises(UsageError):
        paired_t_test([1, 2, 3], [1, 2])


def test_wilson_stays_importable_for_the_gate() -> None:
    interval = wilson_interval(47, 50, 0.95)
    assert interval.lo < interval.hi
