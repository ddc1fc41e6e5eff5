"""CLT and clustered standard errors, and the trials-per-case decomposition."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from evallock.errors import UsageError
from evallock.stats import clustered_standard_error, decompose_trials, mean_estimate

scores = st.lists(st.floats(min_value=-10, max_value=10), min_size=2, max_size=50)


@given(scores)
def test_singleton_clusters_reduce_to_the_clt_standard_error(values: list[float]) -> None:
    result = clustered_standard_error(values, list(range(len(values))))
    assert result.se == pytest.approx(result.se_naive, abs=1e-9)
    assert result.n_clusters == len(values)


@given(scores)
def test_mean_interval_contains_the_mean(values: list[float]) -> None:
    estimate = mean_estimate(values)
    assert estimate.interval.contains(estimate.estimate)


def test_one_cluster_holds_everything() -> None:
    result = clustered_standard_error([1.0, 0.0, 1.0], ["a", "a", "a"])
    assert result.n_clusters == 1
    with pytest.raises(UsageError):
        clustered_standard_error([1.0, 0.0, 1.0], ["a", "a", "a"], correction="cr1")


def test_clustered_mean_estimate_uses_the_clustered_se() -> None:
    values = [1, 1, 1, 0, 0, 1, 0, 1]
    clusters = [1, 1, 1, 2, 2, 3, 3, 3]
    estimate = mean_estimate(values, clusters=clusters)
    assert estimate.se == pytest.approx(clustered_standard_error(values, clusters).se)
    assert estimate.details["n_clusters"] == 3


def test_trial_decomposition_matches_per_case_means() -> None:
    rng = np.random.default_rng(2)
    table = (rng.random((30, 5)) < rng.random((30, 1))).astype(float)
    split = decompose_trials(table)
    means = table.mean(axis=1)
    assert split.se == pytest.approx(means.std(ddof=1) / math.sqrt(30))
    assert split.projected_se(split.k) == pytest.approx(split.se)
    assert split.se_naive_pooled < split.se  # pooling n·K answers understates the SE
    assert split.projected_se(1000) < split.projected_se(1)


def test_trial_decomposition_floors_between_variance_at_zero() -> None:
    split = decompose_trials([[0, 1], [1, 0], [0, 1]])  # identical case means
    assert split.between_var == 0.0


@pytest.mark.parametrize("table", [[[1, 0]], [[1], [0]], [[1, 0], [1]]])
def test_trial_decomposition_needs_a_full_table(table: list[list[float]]) -> None:
    with pytest.raises(UsageError):
        decompose_trials(table)
