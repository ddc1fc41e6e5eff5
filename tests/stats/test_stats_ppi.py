"""Prediction-powered inference: special cases and coverage."""

from __future__ import annotations

import numpy as np
import pytest

from evallock.errors import UsageError
from evallock.stats import mean_estimate, ppi_mean


def test_lambda_zero_is_the_classical_estimate() -> None:
    rng = np.random.default_rng(0)
    y, f = rng.random(30) < 0.7, rng.random(30) < 0.8
    classical = mean_estimate(y.astype(float), ddof=0)
    result = ppi_mean(y, f, rng.random(300) < 0.8, lam=0.0)
    assert result.estimate == pytest.approx(classical.estimate)
    assert result.se == pytest.approx(classical.se)


def test_a_perfect_judge_needs_no_rectifier() -> None:
    rng = np.random.default_rng(1)
    truth = (rng.random(500) < 0.7).astype(float)
    result = ppi_mean(truth[:40], truth[:40], truth[40:])
    assert result.details["rectifier_mean"] == 0.0
    assert result.estimate == pytest.approx(truth[40:].mean())
    assert result.se < mean_estimate(truth[:40], ddof=0).se


def test_tuned_lambda_is_clipped_and_a_useless_judge_gets_zero() -> None:
    rng = np.random.default_rng(2)
    y = (rng.random(50) < 0.6).astype(float)
    constant = ppi_mean(y, np.ones(50), np.ones(500), lam=None)
    assert constant.details["lam"] == 0.0
    tuned = ppi_mean(y, rng.random(50), rng.random(500), lam=None)
    assert 0.0 <= float(tuned.details["lam"]) <= 1.0


def test_ppi_interval_covers_a_biased_judges_truth() -> None:
    # Wald-type: with 60 labels and rare judge-human disagreements it under-covers (~0.86);
    # with 200 labels it is close to nominal.
    rng = np.random.default_rng(3)
    hits = 0
    for _ in range(400):
        truth = (rng.random(3000) < 0.75).astype(float)
        judge = np.where(rng.random(3000) < 0.7, truth, 1.0)  # lenient judge
        order = rng.permutation(3000)
        labeled, unlabeled = order[:200], order[200:]
        result = ppi_mean(truth[labeled], judge[labeled], judge[unlabeled], lam=None)
        hits += result.interval.contains(0.75)
    assert hits / 400 >= 0.91  # nominal 95%, about 3 Monte-Carlo SEs below


def test_inputs_must_pair_up() -> None:
    with pytest.raises(UsageError):
        ppi_mean([1, 0, 1], [1, 0], [1, 1, 0])
    with pytest.raises(UsageError):
        ppi_mean([1, 0], [1, 0], [1, 1], lam=1.5)
