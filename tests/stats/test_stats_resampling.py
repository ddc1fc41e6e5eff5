"""Sign-flip permutation test and bootstrap intervals: exactness, seeding, degenerate data."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats as sps

from evallock.errors import UsageError
from evallock.stats import bootstrap_interval, permutation_test

A = np.array([3.1, 2.4, 4.0, 3.3, 2.9, 3.8, 3.0, 2.2, 3.6, 3.4, 2.8, 3.9])
B = A + np.array([0.4, 0.1, -0.2, 0.6, 0.3, 0.0, 0.5, 0.2, -0.1, 0.7, 0.3, 0.2])


def test_exact_permutation_matches_enumeration_for_a_trimmed_mean() -> None:
    def trimmed(x: np.ndarray, axis: int = -1) -> np.ndarray:
        return sps.trim_mean(x, 0.1, axis=axis)

    d = B - A
    observed = trimmed(d)
    flips = [trimmed(np.array(s) * d) for s in itertools.product((-1, 1), repeat=d.size)]
    expected = np.mean(np.abs(flips) >= abs(observed) - 1e-12)
    result = permutation_test(A, B, statistic=trimmed)
    assert result.method.endswith("(exact)")
    assert result.p_value == pytest.approx(expected, abs=1e-12)


def test_monte_carlo_permutation_is_seeded_and_close_to_exact() -> None:
    exact = permutation_test(A, B).p_value
    first = permutation_test(A, B, exact=False, n_resamples=20_000, seed=5)
    again = permutation_test(A, B, exact=False, n_resamples=20_000, seed=5)
    assert first.p_value == again.p_value
    assert first.p_value == pytest.approx(exact, abs=0.005)
    assert first.p_value >= 1 / 20_001  # the +1 keeps a Monte-Carlo p above zero


def test_one_sided_permutation_p_values_split_the_two_sided_one() -> None:
    greater = permutation_test(A, B, alternative="greater").p_value
    less = permutation_test(A, B, alternative="less").p_value
    assert greater < 0.5 < less
    assert permutation_test(A, B).p_value == pytest.approx(min(1.0, 2 * greater), abs=1e-12)


def test_no_differences_gives_p_one() -> None:
    assert permutation_test([1, 2, 3], [1, 2, 3]).p_value == 1.0


def test_bootstrap_is_reproducible_and_contains_the_estimate() -> None:
    first = bootstrap_interval(A, B, seed=11)
    assert first == bootstrap_interval(A, B, seed=11)
    assert first.interval.contains(first.estimate)
    assert first.estimate == pytest.approx(float(np.mean(B - A)))


@pytest.mark.parametrize("method", ["bca", "percentile"])
def test_bootstrap_agrees_with_scipy_within_monte_carlo_error(method: str) -> None:
    d = np.random.default_rng(6).gamma(2.0, size=15)  # continuous and skewed
    ours = bootstrap_interval(d, method=method, n_resamples=40_000, seed=1)
    theirs = sps.bootstrap(
        (d,),
        np.mean,
        method="BCa" if method == "bca" else "percentile",
        n_resamples=40_000,
        rng=np.random.default_rng(2),
    ).confidence_interval
    assert ours.interval.lo == pytest.approx(theirs.low, abs=0.006)
    assert ours.interval.hi == pytest.approx(theirs.high, abs=0.006)


def test_bca_acceleration_is_the_jackknife_skewness() -> None:
    d = B - A
    jack = np.array([np.delete(d, i).mean() for i in range(d.size)])
    spread = jack.mean() - jack
    expected = np.sum(spread**3) / (6 * np.sum(spread**2) ** 1.5)
    result = bootstrap_interval(d, statistic=np.mean, n_resamples=200)
    assert result.details["acceleration"] == pytest.approx(expected, abs=1e-12)
    clustered = bootstrap_interval(d, n_resamples=200, clusters=list(range(d.size)))
    assert clustered.details["acceleration"] == pytest.approx(expected, abs=1e-12)


def test_cluster_bootstrap_is_wider_when_clusters_are_homogeneous() -> None:
    rng = np.random.default_rng(4)
    centres = rng.normal(size=10)
    scores = np.repeat(centres, 5) + rng.normal(scale=0.1, size=50)
    clusters = np.repeat(np.arange(10), 5).tolist()
    naive = bootstrap_interval(scores, method="percentile")
    clustered = bootstrap_interval(scores, method="percentile", clusters=clusters)
    assert clustered.interval.width > 1.8 * naive.interval.width


def test_constant_data_give_a_point_interval() -> None:
    result = bootstrap_interval([2.0, 2.0, 2.0])
    assert (result.interval.lo, result.interval.hi) == (2.0, 2.0)
    assert result.se == 0.0


def test_bootstrap_rejects_unsupported_combinations() -> None:
    with pytest.raises(UsageError):
        bootstrap_interval([1.0])
    with pytest.raises(UsageError):
        bootstrap_interval(A, statistic=np.median, clusters=[0, 1] * 6)
