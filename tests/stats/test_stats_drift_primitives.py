"""Primitives for the drift fixes: two-sample mean shift, post-stratification, slice families."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
from scipy import stats as sps

from evallock.errors import UsageError
from evallock.stats import (
    adjust_floor_tests,
    adjust_holm,
    mean_shift_test,
    post_stratified_mean,
    post_stratified_shift,
    simultaneous_confidence,
)
from evallock.stats import moments as moments_module
from evallock.stats import multiplicity as multiplicity_module
from evallock.stats import stratification as stratification_module


def _moments(x: np.ndarray) -> tuple[int, float, float]:
    return int(x.size), float(x.sum()), float(x @ x)


def test_mean_shift_is_welch_on_moments() -> None:
    rng = np.random.default_rng(7)
    base, window = rng.normal(4.0, 0.6, 30), rng.normal(3.7, 0.9, 12)
    result = mean_shift_test(_moments(base), _moments(window))
    reference = sps.ttest_ind(window, base, equal_var=False)
    assert result.statistic == pytest.approx(reference.statistic, rel=1e-9)
    assert result.p_value == pytest.approx(reference.pvalue, rel=1e-9)
    assert result.estimate == pytest.approx(window.mean() - base.mean())
    low = sps.ttest_ind(window, base, equal_var=False).confidence_interval(0.95).low
    assert result.interval is not None and result.interval.lo == pytest.approx(low, rel=1e-9)
    z = mean_shift_test(_moments(base), _moments(window), welch=False)
    assert z.p_value == pytest.approx(2 * sps.norm.sf(abs(z.statistic)))
    # the one-sample shortcut divides by the baseline SD over √n_w only
    shortcut = (window.mean() - base.mean()) / (base.std(ddof=1) / math.sqrt(12))
    assert result.details["z_known_baseline"] == pytest.approx(shortcut)


def test_post_stratified_mean_and_kish_design_effect() -> None:
    values = [4, 4, 5, 2, 3, 3]
    strata = ["free", "free", "free", "pro", "pro", "pro"]
    result = post_stratified_mean(values, strata, {"free": 0.25, "pro": 0.75})
    assert result.mean == pytest.approx(0.25 * 13 / 3 + 0.75 * 8 / 3)
    var_free, var_pro = np.var([4, 4, 5], ddof=1), np.var([2, 3, 3], ddof=1)
    assert result.se == pytest.approx(math.sqrt(0.25**2 * var_free / 3 + 0.75**2 * var_pro / 3))
    # Kish: deff = n Σ w_i² / (Σ w_i)² with unit weights W_h / n_h, = 1 + CV² of the weights
    weights = np.array([0.25 / 3] * 3 + [0.75 / 3] * 3)
    kish = weights.size * np.sum(weights**2) / np.sum(weights) ** 2
    assert result.deff == pytest.approx(kish)
    assert result.deff == pytest.approx(1 + (np.std(weights) / np.mean(weights)) ** 2)
    assert result.effective_n == pytest.approx(6 / kish)
    at_own_mix = post_stratified_mean(values, strata, {"free": 0.5, "pro": 0.5})
    assert at_own_mix.deff == pytest.approx(1.0) and at_own_mix.mean == pytest.approx(3.5)


def test_post_stratified_mean_renormalises_over_present_strata() -> None:
    result = post_stratified_mean([1, 2, 3, 4], ["a", "a", "b", "b"], {"a": 1, "b": 1, "c": 2})
    assert result.missing_share == pytest.approx(0.5)
    assert result.mean == pytest.approx(2.5)
    with pytest.raises(UsageError):
        post_stratified_mean([1, 2], ["a", "a"], {"z": 1.0})


def test_post_stratified_shift_separates_mix_from_quality() -> None:
    rng = np.random.default_rng(8)
    b_tier = rng.random(400) < 0.7
    w_tier = rng.random(200) < 0.3
    b = np.where(b_tier, 4.3, 3.3) + rng.normal(0, 0.4, 400)
    w = np.where(w_tier, 4.3, 3.3) + rng.normal(0, 0.4, 200)
    result = post_stratified_shift(b, b_tier.tolist(), w, w_tier.tolist())
    assert abs(result.estimate) < 0.1 and result.p_value > 0.01
    assert result.details["raw_difference"] < -0.3
    assert result.details["mix_effect"] == pytest.approx(
        result.details["raw_difference"] - result.estimate
    )
    dropped = post_stratified_shift(
        b, b_tier.tolist(), w - 0.3, w_tier.tolist(), alternative="less"
    )
    assert dropped.p_value < 1e-6 and dropped.estimate == pytest.approx(result.estimate - 0.3)


def test_simultaneous_confidence_and_floor_families() -> None:
    assert simultaneous_confidence(0.95, 10) == pytest.approx(0.995)
    family = adjust_floor_tests({"a": 0.001, "b": 0.02, "c": 0.04, "d": 0.3})
    assert family.names == ("a", "b", "c", "d")
    assert family.adjusted == adjust_holm([0.001, 0.02, 0.04, 0.3]).adjusted
    assert family.wins == (True, False, False, False)
    assert family.bound_confidence == pytest.approx(1 - 0.05 / 4)
    bonferroni = adjust_floor_tests([0.001, 0.012, 0.04], method="bonferroni")
    assert bonferroni.wins == (True, True, False) and bonferroni.names == ("0", "1", "2")
    with pytest.raises(UsageError):
        adjust_floor_tests([])


@pytest.mark.parametrize(
    "module", [moments_module, multiplicity_module, stratification_module], ids=lambda m: m.__name__
)
def test_doctests(module: object) -> None:
    assert doctest.testmod(module).failed == 0  # type: ignore[arg-type]
