"""Sample size and minimum detectable effect: round trips and a power simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as sps

from evallock.errors import UsageError
from evallock.stats import mcnemar_mde, mcnemar_sample_size, paired_mde, paired_sample_size


@given(
    st.floats(min_value=0.005, max_value=0.5),
    st.floats(min_value=0.01, max_value=2.0),
    st.sampled_from([True, False]),
)
def test_paired_sample_size_and_mde_are_inverse(delta: float, omega2: float, two: bool) -> None:
    plan = paired_sample_size(delta, omega2=omega2, two_sided=two)
    back = paired_mde(1, omega2=omega2, two_sided=two)
    assert back.mde / math.sqrt(plan.n_exact) == pytest.approx(delta, rel=1e-9)
    assert plan.n >= plan.n_exact


def test_connor_sample_size_from_the_reference() -> None:
    plan = mcnemar_sample_size(0.05, discordant=0.21)
    assert plan.n == 657
    miller = paired_sample_size(0.05, omega2=0.21 - 0.05**2)
    assert miller.n_exact == pytest.approx(651.46, abs=0.01)  # Connor asks for a few more
    assert mcnemar_mde(plan.n, discordant=0.21).mde == pytest.approx(0.05, abs=1e-4)


def test_simulated_mcnemar_power_at_the_planned_n() -> None:
    rng = np.random.default_rng(12)
    n, p10, p01 = 657, 0.08, 0.13  # psi = 0.21, delta = 0.05
    counts = rng.multinomial(n, [p10, p01, 1 - p10 - p01], size=4000)
    b, c = counts[:, 0], counts[:, 1]
    z = (c - b) / np.sqrt(b + c)
    power = np.mean(np.abs(z) > sps.norm.isf(0.025))
    assert power == pytest.approx(0.80, abs=0.025)


def test_more_trials_shrink_the_mde_towards_a_floor() -> None:
    def mde(k: int) -> float:
        return paired_mde(
            198, omega2=1 / 9, sigma2_a=1 / 6, sigma2_b=1 / 6, trials_a=k, trials_b=k
        ).mde

    floor = paired_mde(198, omega2=1 / 9).mde
    assert mde(1) > mde(10) > mde(1000) > floor


def test_undetectable_effect_is_infinite() -> None:
    assert mcnemar_mde(3, discordant=0.1).mde == math.inf


@pytest.mark.parametrize(
    "call",
    [
        lambda: paired_sample_size(0.0, omega2=1.0),
        lambda: paired_sample_size(0.1, omega2=0.0),
        lambda: paired_mde(10, omega2=1.0, power=1.0),
        lambda: mcnemar_sample_size(0.3, discordant=0.2),
        lambda: paired_mde(0, omega2=1.0),
    ],
)
def test_bad_plans_are_usage_errors(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError):
        call()
