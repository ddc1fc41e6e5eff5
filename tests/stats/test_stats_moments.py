"""Intervals from summary statistics, checked against scipy on the raw scores."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from evallock.stats import (
    newcombe_interval,
    proportion_difference,
    t_mean_interval,
    welch_difference,
)


def _moments(x: np.ndarray) -> tuple[int, float, float]:
    return int(x.size), float(x.sum()), float((x * x).sum())


@pytest.mark.parametrize("seed", range(5))
def test_t_mean_interval_is_scipys_t_interval(seed: int) -> None:
    x = np.random.default_rng(seed).integers(1, 6, size=7 + seed).astype(float)
    ci = t_mean_interval(*_moments(x))
    lo, hi = stats.t.interval(0.95, x.size - 1, loc=x.mean(), scale=stats.sem(x))
    assert ci is not None and ci.method == "t"
    assert ci.lo == pytest.approx(lo, abs=1e-9) and ci.hi == pytest.approx(hi, abs=1e-9)


def test_one_score_has_no_interval() -> None:
    assert t_mean_interval(1, 4.0, 16.0) is None
    assert welch_difference((1, 4.0, 16.0), (3, 9.0, 29.0)) is None


@pytest.mark.parametrize("seed", range(5))
def test_welch_difference_is_scipys_welch_test(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    a = rng.normal(3.5, 1.0, size=12)
    b = rng.normal(3.0, 1.5, size=9)
    d = welch_difference(_moments(a), _moments(b))
    test = stats.ttest_ind(b, a, equal_var=False)
    assert d is not None
    assert d.delta == pytest.approx(b.mean() - a.mean())
    assert d.p_value == pytest.approx(test.pvalue, rel=1e-9)
    low, high = test.confidence_interval(0.95)
    assert d.interval.lo == pytest.approx(low, rel=1e-9)
    assert d.interval.hi == pytest.approx(high, rel=1e-9)


def test_newcombe_matches_the_published_example() -> None:
    # Newcombe (1998), Statistics in Medicine 17:873, table II (a): 56/70 - 48/80.
    ci = newcombe_interval(48, 80, 56, 70)
    assert (round(ci.lo, 4), round(ci.hi, 4)) == (0.0524, 0.3339)


def test_proportion_difference_p_value_is_the_pooled_z_test() -> None:
    d = proportion_difference(30, 100, 45, 100)
    pooled = 75 / 200
    z = 0.15 / np.sqrt(pooled * (1 - pooled) * (2 / 100))
    assert d.delta == pytest.approx(0.15)
    assert d.p_value == pytest.approx(2 * stats.norm.sf(z))
    assert d.interval.lo < 0.15 < d.interval.hi


def test_shift_test_is_the_one_sample_t_against_a_number() -> None:
    import statistics

    from scipy.stats import ttest_1samp

    from evallock.stats import estimate_interval, shift_test

    values = [4.0, 3.0, 5.0, 4.0, 2.0, 4.0, 3.0, 5.0]
    se = statistics.stdev(values) / len(values) ** 0.5
    mean = statistics.fmean(values)
    ours = shift_test(mean, se, 4.1, df=len(values) - 1, alternative="less")
    theirs = ttest_1samp(values, 4.1, alternative="less")
    assert ours.p_value == pytest.approx(theirs.pvalue)
    assert ours.statistic == pytest.approx(theirs.statistic)
    ci = ttest_1samp(values, 0.0).confidence_interval(0.95)
    two = shift_test(mean, se, 0.0, df=len(values) - 1)
    assert two.interval is not None
    assert (two.interval.lo, two.interval.hi) == pytest.approx((ci.low, ci.high))
    normal = estimate_interval(mean, se)
    assert normal.hi - normal.lo == pytest.approx(2 * 1.959964 * se, rel=1e-6)
    flat = shift_test(3.0, 0.0, 4.0, alternative="less")
    assert flat.p_value == 0.0 and flat.interval is not None and flat.interval.lo == -1.0
