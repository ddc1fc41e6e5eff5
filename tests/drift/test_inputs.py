"""Input-mix drift per key: PSI levels and chi-square homogeneity."""

from __future__ import annotations

import math

from evallock.drift import key_shift, psi


def test_psi_is_zero_for_the_same_mix_and_grows_with_the_shift() -> None:
    mix = {"consumer": 600, "pro": 100, "enterprise": 300}
    assert psi(mix, mix) == 0
    small = psi(mix, {"consumer": 580, "pro": 110, "enterprise": 310})
    large = psi(mix, {"consumer": 300, "pro": 100, "enterprise": 600})
    assert 0 < small < 0.1 < 0.25 < large


def test_psi_matches_the_textbook_formula() -> None:
    expected = {"a": 50, "b": 50}
    actual = {"a": 80, "b": 20}
    by_hand = (0.8 - 0.5) * math.log(0.8 / 0.5) + (0.2 - 0.5) * math.log(0.2 / 0.5)
    assert abs(psi(expected, actual) - by_hand) < 1e-12


def test_key_shift_reports_level_p_value_and_the_category_that_moved() -> None:
    shift = key_shift(
        "customer_tier",
        {"consumer": 600, "pro": 100, "enterprise": 300},
        {"consumer": 300, "pro": 100, "enterprise": 600, "trial": 20},
    )
    assert shift.level == "major" and shift.p_value < 1e-6 and shift.chi2 > 0
    assert shift.biggest_change.startswith(("enterprise", "consumer"))
    stable = key_shift("intent", {"refund": 500, "billing": 500}, {"refund": 260, "billing": 240})
    assert stable.level == "stable" and stable.p_value > 0.05
    single = key_shift("language", {"en": 10}, {"en": 20})
    assert single.p_value == 1.0 and single.psi == 0
