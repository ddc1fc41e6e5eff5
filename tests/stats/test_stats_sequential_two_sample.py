"""The two-bucket mSPRT: closed form, reduction to the paired one, validity under peeking."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate
from scipy import stats as sps

from evallock.errors import UsageError
from evallock.stats import PEEKING_PROBLEM, TwoSampleMixtureSPRT, two_sample_msprt_test


def test_likelihood_ratio_matches_numerical_integration() -> None:
    rng = np.random.default_rng(1)
    test = TwoSampleMixtureSPRT(sigma2_a=1.5, sigma2_b=0.8, tau2=0.09)
    a, b = rng.normal(0, 1.2, 37), rng.normal(0.3, 0.9, 52)
    for x in a.tolist():
        test.update("a", x)
    for x in b.tolist():
        test.update("b", x)
    variance = 1.5 / 37 + 0.8 / 52
    estimate = b.mean() - a.mean()

    def ratio(theta: float) -> float:
        return float(
            sps.norm.pdf(estimate, theta, math.sqrt(variance))
            / sps.norm.pdf(estimate, 0, math.sqrt(variance))
            * sps.norm.pdf(theta, 0, 0.3)
        )

    mixture, _ = integrate.quad(ratio, -3, 3)
    assert test.state.e_value == pytest.approx(mixture, rel=1e-7)
    assert test.state.estimate == pytest.approx(estimate)
    assert test.state.details["n_a"] == 37 and test.state.details["n_b"] == 52


def test_confidence_sequence_excludes_theta0_exactly_when_rejected() -> None:
    rng = np.random.default_rng(2)
    test = TwoSampleMixtureSPRT(sigma2_a=1.0, sigma2_b=1.0, tau2=0.05)
    for _ in range(3000):
        bucket = "a" if rng.random() < 0.5 else "b"
        test.update(bucket, rng.normal(0.25 if bucket == "b" else 0.0, 1.0))
        state = test.state
        if state.interval is not None and state.e_value < 1e300:
            excluded = not state.interval.contains(0.0)
            assert excluded == (state.e_value >= 20.0) or abs(state.e_value - 20.0) < 1e-6
    assert test.rejected


def test_no_evidence_until_both_buckets_have_data() -> None:
    test = TwoSampleMixtureSPRT(sigma2_a=1.0, sigma2_b=1.0, tau2=0.1)
    for _ in range(50):
        test.update("b", 5.0)
    assert test.state.e_value == 1.0 and test.state.interval is None and not test.rejected


def test_runner_and_equal_buckets_reduce_to_the_variance_2_sigma2_form() -> None:
    events = [("a", 0.1), ("b", 0.7), ("a", -0.2), ("b", 0.4)] * 10
    state = two_sample_msprt_test(events, sigma2_a=1.0, sigma2_b=1.0, tau2=0.2)  # type: ignore[arg-type]
    n = 20
    variance = 2.0 / n
    gap = 0.55 - (-0.05)
    expected = math.sqrt(variance / (variance + 0.2)) * math.exp(
        0.2 * gap * gap / (2 * variance * (variance + 0.2))
    )
    assert state.e_value == pytest.approx(expected)


def test_type_one_error_under_continuous_peeking_stays_below_alpha() -> None:
    rng = np.random.default_rng(3)
    rejected = 0
    runs = 200
    for _ in range(runs):
        test = TwoSampleMixtureSPRT(sigma2_a=1.0, sigma2_b=1.0, tau2=0.05)
        buckets = np.where(rng.random(600) < 0.5, "a", "b").tolist()
        for bucket, x in zip(buckets, rng.normal(0, 1, 600).tolist(), strict=True):
            test.update(bucket, x)
        rejected += test.rejected
    assert rejected / runs <= 0.05 + 4.5 * math.sqrt(0.05 * 0.95 / runs)


def test_peeking_explanation_names_the_problem_and_the_fix() -> None:
    assert "14%" in PEEKING_PROBLEM and "always" in PEEKING_PROBLEM.lower()


def test_bad_settings_are_usage_errors() -> None:
    with pytest.raises(UsageError):
        TwoSampleMixtureSPRT(sigma2_a=0.0, sigma2_b=1.0, tau2=0.1)
    test = TwoSampleMixtureSPRT(sigma2_a=1.0, sigma2_b=1.0, tau2=0.1)
    with pytest.raises(UsageError):
        test.update("c", 1.0)  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        test.update("a", math.nan)
