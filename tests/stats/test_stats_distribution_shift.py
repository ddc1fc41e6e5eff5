"""Distribution-shift tests: thin wrappers agree with scipy, permutation p-values are seeded."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
from scipy import stats as sps
from scipy.spatial.distance import jensenshannon

from evallock.errors import UsageError
from evallock.stats import (
    category_counts,
    chi_square_goodness_of_fit_test,
    chi_square_homogeneity_test,
    jensen_shannon_test,
    ks_test,
    mann_whitney_test,
    wasserstein_test,
)
from evallock.stats import distribution_shift as module

RNG = np.random.default_rng(20)
BASE = RNG.normal(0.0, 1.0, 120)
WINDOW = RNG.normal(0.4, 1.0, 60)


def test_ks_and_mann_whitney_wrap_scipy() -> None:
    ks = ks_test(BASE, WINDOW)
    assert ks.statistic == pytest.approx(sps.ks_2samp(WINDOW, BASE).statistic)
    assert ks.p_value == pytest.approx(sps.ks_2samp(WINDOW, BASE).pvalue)
    higher = WINDOW + 0.6
    assert ks_test(BASE, higher, alternative="greater").p_value < 0.001  # window is larger
    assert ks_test(BASE, higher, alternative="less").p_value > 0.5
    mw = mann_whitney_test(BASE, WINDOW)
    reference = sps.mannwhitneyu(WINDOW, BASE)
    assert mw.statistic == reference.statistic and mw.p_value == pytest.approx(reference.pvalue)
    assert mw.estimate == pytest.approx(reference.statistic / (120 * 60))
    assert mw.details == {"n_baseline": 120, "n_window": 60}


def test_wasserstein_statistic_and_seeded_permutation_p() -> None:
    result = wasserstein_test(BASE, WINDOW, n_permutations=500, seed=3)
    assert result.statistic == pytest.approx(sps.wasserstein_distance(WINDOW, BASE))
    again = wasserstein_test(BASE, WINDOW, n_permutations=500, seed=3)
    assert again.p_value == result.p_value
    assert result.p_value < 0.05
    same = wasserstein_test(BASE[:60], BASE[60:], n_permutations=500, seed=3)
    assert same.p_value > 0.05
    assert result.details["normalised_by_baseline_sd"] == pytest.approx(
        result.statistic / np.std(BASE, ddof=1)
    )


def test_vectorised_wasserstein_matches_scipy_on_a_random_split() -> None:
    pooled = np.sort(np.concatenate([BASE, WINDOW]))
    labels = np.zeros(pooled.size, dtype=bool)
    labels[RNG.choice(pooled.size, 60, replace=False)] = True
    fast = module._wasserstein_many(pooled, labels[None, :], 60)[0]
    assert fast == pytest.approx(sps.wasserstein_distance(pooled[labels], pooled[~labels]))


def test_chi_square_tests_and_their_degrees_of_freedom() -> None:
    base, window = [10, 20, 40, 20, 10], [20, 25, 30, 15, 10]
    homogeneity = chi_square_homogeneity_test(base, window)
    reference = sps.chi2_contingency([base, window], correction=False)
    assert homogeneity.statistic == pytest.approx(reference.statistic)
    assert homogeneity.p_value == pytest.approx(reference.pvalue)
    assert homogeneity.details["df"] == 4
    assert homogeneity.estimate == pytest.approx(math.sqrt(reference.statistic / 200))
    fit = chi_square_goodness_of_fit_test(window, [0.1, 0.2, 0.4, 0.2, 0.1])
    # Σ (O − E)²/E with E = 10, 20, 40, 20, 10: 10 + 1.25 + 2.5 + 1.25 + 0 = 15
    assert fit.statistic == pytest.approx(15.0) and fit.details["df"] == 4
    # GOF treats the baseline as exact and so reports more than the homogeneity test does
    assert fit.statistic > homogeneity.statistic
    # an empty category is dropped from df; an impossible one gives p = 0
    assert chi_square_homogeneity_test([5, 0, 5], [4, 0, 6]).details["df"] == 1
    impossible = chi_square_goodness_of_fit_test([5, 1, 5], [0.5, 0.0, 0.5])
    assert impossible.p_value == 0.0 and impossible.statistic == math.inf


def test_jensen_shannon_distance_and_permutation_p() -> None:
    base, window = [10, 20, 40, 20, 10], [20, 25, 30, 15, 10]
    result = jensen_shannon_test(base, window, n_permutations=400, seed=1)
    shares = np.array(base) / 100, np.array(window) / 100
    assert result.statistic == pytest.approx(jensenshannon(*shares, base=2))
    natural = jensen_shannon_test(base, window, base=math.e, n_permutations=10)
    assert natural.statistic == pytest.approx(jensenshannon(*shares))
    assert result.statistic / natural.statistic == pytest.approx(1 / math.sqrt(math.log(2)))
    assert 0.05 < result.p_value < 0.6  # the chi-square test gives 0.197 on these counts
    assert jensen_shannon_test(base, base, n_permutations=50).statistic == 0.0
    big = jensen_shannon_test([100, 200, 400, 200, 100], [400, 250, 200, 100, 50])
    assert big.p_value == pytest.approx(1 / 1001)


def test_category_counts_refuses_unknown_values() -> None:
    assert category_counts(["a", "b", "a"], ["a", "b", "c"]) == [2, 1, 0]
    with pytest.raises(UsageError):
        category_counts([6], [1, 2, 3, 4, 5])


@pytest.mark.parametrize(
    "call",
    [
        lambda: ks_test([], [1.0]),
        lambda: wasserstein_test([1.0], [2.0], n_permutations=0),
        lambda: chi_square_homogeneity_test([1, 2], [1, 2, 3]),
        lambda: chi_square_goodness_of_fit_test([1, 2], [0.5, -0.5]),
        lambda: jensen_shannon_test([1.5, 2], [1, 2]),
        lambda: jensen_shannon_test([0, 0], [1, 2]),
    ],
)
def test_bad_input_is_a_usage_error(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError):
        call()


def test_doctests() -> None:
    assert doctest.testmod(module).failed == 0
