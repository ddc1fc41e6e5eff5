"""mSPRT and the discordant-pair e-process: closed forms, validity under H0, power."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, special
from scipy import stats as sps

from evallock.errors import UsageError
from evallock.stats import (
    DiscordantPairEProcess,
    MixtureSPRT,
    discordant_pair_test,
    msprt_test,
)


def test_msprt_closed_form_matches_the_integrated_likelihood_ratio() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(0.3, 1.5, size=40)
    sigma2, tau2, theta0 = 1.5**2, 0.2, 0.1
    test = MixtureSPRT(sigma2=sigma2, tau2=tau2, theta0=theta0)
    for value in x:
        test.update(value)

    def ratio(theta: float) -> float:
        log_lr = np.sum(sps.norm.logpdf(x, theta, 1.5) - sps.norm.logpdf(x, theta0, 1.5))
        return float(np.exp(log_lr) * sps.norm.pdf(theta, theta0, math.sqrt(tau2)))

    integral, _ = integrate.quad(ratio, -5, 5, points=[float(x.mean())], limit=200)
    assert test.state.e_value == pytest.approx(integral, rel=1e-7)


def test_msprt_confidence_sequence_ends_are_where_the_test_just_rejects() -> None:
    values = np.random.default_rng(1).normal(0.2, 1.0, size=80)
    test = MixtureSPRT(sigma2=1.0, tau2=0.5)
    for value in values:
        test.update(value)
    interval = test.state.interval
    assert interval is not None
    assert interval.contains(test.state.estimate)
    for edge in (interval.lo, interval.hi):
        probe = MixtureSPRT(sigma2=1.0, tau2=0.5, theta0=edge)
        for value in values:
            probe.update(value)
        assert probe.state.e_value == pytest.approx(1 / 0.05, rel=1e-9)


def test_msprt_keeps_its_level_under_continuous_monitoring() -> None:
    rng = np.random.default_rng(2)
    streams, length = 200, 400
    data = rng.normal(0.0, 1.0, size=(streams, length))
    rejections, covered = 0, 0
    for row in data:
        test = MixtureSPRT(sigma2=1.0, tau2=0.1)
        misses = 0
        for value in row:
            test.update(value)
            interval = test.state.interval if test.state.n % 50 == 0 else None
            misses += interval is not None and not interval.contains(0.0)
        rejections += test.rejected
        covered += misses == 0
    assert rejections / streams <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / streams)
    assert covered / streams >= 0.95 - 3 * math.sqrt(0.05 * 0.95 / streams)


def test_msprt_p_value_only_goes_down_and_detects_an_effect() -> None:
    rng = np.random.default_rng(3)
    test = MixtureSPRT(sigma2=1.0, tau2=0.25)
    previous = 1.0
    for value in rng.normal(0.5, 1.0, size=200):
        test.update(value)
        assert test.state.p_value <= previous + 1e-15
        previous = test.state.p_value
    assert test.rejected
    assert test.state.first_rejection is not None


def test_msprt_test_runs_a_whole_paired_stream() -> None:
    rng = np.random.default_rng(4)
    a = rng.normal(3.5, 0.8, size=150)
    b = a + rng.normal(0.3, 0.6, size=150)
    state = msprt_test(a, b, tau2=0.1)
    assert state.n == 150
    assert state.rejected
    with pytest.raises(UsageError):
        msprt_test([1, 2], [1, 2], tau2=0.1)  # no variation to estimate sigma2 from


def test_discordant_e_value_is_the_beta_binomial_ratio() -> None:
    test = DiscordantPairEProcess()
    outcomes = [(0, 1)] * 9 + [(1, 0)] * 3 + [(1, 1)] * 5
    for a, b in outcomes:
        test.update(a, b)
    n, k = 12, 9
    expected = 2**n * math.factorial(k) * math.factorial(n - k) / math.factorial(n + 1)
    assert test.state.e_value == pytest.approx(expected, rel=1e-12)
    assert test.state.details["discordant"] == n
    assert test.state.n == len(outcomes)
    assert special.betaln(1, 1) == 0.0


def test_discordant_e_process_keeps_its_level_and_has_power() -> None:
    rng = np.random.default_rng(5)
    streams = 300
    false_alarms = 0
    for _ in range(streams):
        a, b = rng.random(300) < 0.7, rng.random(300) < 0.7
        false_alarms += discordant_pair_test(a, b).rejected
    assert false_alarms / streams <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / streams)
    a, b = rng.random(600) < 0.6, rng.random(600) < 0.75
    assert discordant_pair_test(a, b).rejected


def test_bad_settings_are_usage_errors() -> None:
    with pytest.raises(UsageError):
        MixtureSPRT(sigma2=0.0, tau2=1.0)
    with pytest.raises(UsageError):
        DiscordantPairEProcess(alpha=1.5)
    with pytest.raises(UsageError):
        discordant_pair_test([0, 2], [1, 1])
