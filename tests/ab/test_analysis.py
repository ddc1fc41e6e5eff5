"""The paired analysis: verdict rule, tests by outcome type, power, trials, slices."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evallock.ab import analyse_pairs, analyse_slices, decide
from evallock.records import Case
from evallock.runner import Arm, interleave


def binary(pairs: list[tuple[int, int]]) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    a = {f"c{i:03d}": [float(x)] for i, (x, _) in enumerate(pairs)}
    b = {f"c{i:03d}": [float(y)] for i, (_, y) in enumerate(pairs)}
    return a, b


@pytest.mark.parametrize(
    ("lower", "upper", "floor", "verdict", "note"),
    [
        (0.06, 0.2, 0.05, "B wins", ""),
        (-0.2, -0.06, 0.05, "A wins", ""),
        (0.01, 0.2, 0.05, "no significant difference", "significant but below the floor: B"),
        (-0.2, -0.01, 0.05, "no significant difference", "significant but below the floor: A"),
        (-0.1, 0.1, 0.05, "no significant difference", ""),
    ],
)
def test_verdict_needs_the_bound_to_clear_the_floor(lower, upper, floor, verdict, note) -> None:
    got, why = decide(lower, upper, floor)
    assert got == verdict
    assert why.startswith(note)


def test_binary_pairs_use_mcnemar_mid_p_and_count_discordance() -> None:
    # 100 cases: 60 both pass, 10 both fail, b=5 only A passes, c=25 only B passes
    pairs = [(1, 1)] * 60 + [(0, 0)] * 10 + [(1, 0)] * 5 + [(0, 1)] * 25
    a, b = binary(pairs)
    result = analyse_pairs(a, b, metric="pass", min_effect=0.05)
    assert result.details == {"b": 5, "c": 25}
    assert result.delta == pytest.approx(0.20)
    assert "McNemar mid-p" in result.test
    # exact mid-p for b=5, c=25 (two-sided): 2*P(X<=5) - P(X=5), X ~ Bin(30, 1/2)
    from scipy.stats import binom

    expected = 2 * binom.cdf(5, 30, 0.5) - binom.pmf(5, 30, 0.5)
    assert result.p_value == pytest.approx(expected, rel=1e-9)
    assert result.ci.lo < 0.2 < result.ci.hi
    assert result.verdict == "B wins" and result.lower > 0.05
    assert result.a is not None and result.a.ci.method.lower().startswith("wilson")
    assert result.power is not None and result.power.mde < 0.2


def test_ordinal_judge_scores_use_t_interval_and_wilcoxon() -> None:
    a = {f"c{i}": [(s - 1) / 4] for i, s in enumerate([3, 4, 3, 2, 4, 3, 3, 4, 2, 3, 3, 4])}
    b = {f"c{i}": [(s - 1) / 4] for i, s in enumerate([4, 5, 4, 3, 4, 4, 5, 5, 3, 4, 4, 5])}
    result = analyse_pairs(a, b, metric="judge", min_effect=0.05)
    assert "paired t interval" in result.test and "Wilcoxon" in result.test
    assert result.details["ties"] == 1
    assert result.delta == pytest.approx(sum(1 for _ in range(11)) / 12 / 4 * 1, rel=0.2)
    assert result.verdict == "B wins"


def test_continuous_scores_use_a_seeded_bca_interval() -> None:
    a = {f"c{i}": [0.5 + 0.01 * (i % 7)] for i in range(40)}
    b = {f"c{i}": [0.52 + 0.013 * (i % 5)] for i in range(40)}
    first = analyse_pairs(a, b, metric="score", seed=7)
    again = analyse_pairs(a, b, metric="score", seed=7)
    assert "BCa bootstrap" in first.test
    assert (first.ci.lo, first.ci.hi) == (again.ci.lo, again.ci.hi)


def test_trials_are_clusters_and_noise_is_split() -> None:
    a = {f"c{i}": [1.0, 1.0, 0.0] if i % 4 == 0 else [1.0, 1.0, 1.0] for i in range(20)}
    b = {f"c{i}": [0.0, 1.0, 0.0] if i % 3 == 0 else [1.0, 1.0, 1.0] for i in range(20)}
    result = analyse_pairs(a, b, metric="pass")
    assert "per-case pass shares over 3 trials" in result.test
    assert result.n_pairs == 20
    assert result.noise is not None and result.noise.trials == 3
    assert 0 < result.noise.within_share <= 1


def test_fewer_than_two_pairs_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        analyse_pairs({"x": [1.0]}, {"x": [0.0]}, metric="pass")


def test_no_discordance_means_no_power_estimate() -> None:
    a, b = binary([(1, 1)] * 10)
    result = analyse_pairs(a, b, metric="pass")
    assert result.power is not None and math.isinf(result.power.mde) and result.power.underpowered
    assert result.p_value == 1.0 and result.verdict == "no significant difference"


def test_slices_adjust_with_holm_and_bh_and_mark_small_slices() -> None:
    pairs = [(1, 0)] * 30 + [(1, 1)] * 30 + [(0, 1)] * 3
    a, b = binary(pairs)
    keys = {
        cid: {"tier": "enterprise" if i < 30 else "consumer" if i < 60 else "pro"}
        for i, cid in enumerate(sorted(a))
    }
    slices = {
        s.label: s
        for s in analyse_slices(a, b, keys, ["tier"], metric="pass", alpha=0.05, min_effect=0.05)
    }
    assert slices["tier=pro"].verdict == "insufficient data" and slices["tier=pro"].p_holm is None
    enterprise, consumer = slices["tier=enterprise"], slices["tier=consumer"]
    assert enterprise.verdict == "A wins"
    assert enterprise.p_holm is not None and enterprise.p_bh is not None
    assert enterprise.p_holm >= enterprise.analysis.p_value
    assert consumer.verdict == "no significant difference"


@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 1)), min_size=2, max_size=80))
def test_interval_contains_estimate_and_bounds_nest(pairs: list[tuple[int, int]]) -> None:
    a, b = binary(pairs)
    result = analyse_pairs(a, b, metric="pass", with_power=False)
    assert result.ci.lo <= result.delta <= result.ci.hi
    assert result.ci.lo <= result.lower + 1e-12 and result.upper <= result.ci.hi + 1e-12


def test_interleave_alternates_which_arm_goes_first() -> None:
    arms = [Arm(run_id="a", provider=None), Arm(run_id="b", provider=None)]  # type: ignore[arg-type]
    cases = [Case(id=f"c{i}", input="x") for i in range(3)]
    order = [
        (arm.run_id, case.id, trial)
        for arm, case, trial in interleave(arms, cases, 2, {("b", "c1", 0)})
    ]
    assert order == [
        ("a", "c0", 0),
        ("b", "c0", 0),
        ("b", "c0", 1),
        ("a", "c0", 1),
        ("a", "c1", 0),
        ("b", "c1", 1),
        ("a", "c1", 1),
        ("a", "c2", 0),
        ("b", "c2", 0),
        ("b", "c2", 1),
        ("a", "c2", 1),
    ]


def test_a_zero_floor_on_the_pass_metric_has_no_sample_size_but_a_verdict() -> None:
    from evallock.ab import analyse_pairs

    a = {str(i): [float(i % 2)] for i in range(20)}
    b = {str(i): [float(i % 3 > 0)] for i in range(20)}
    result = analyse_pairs(a, b, metric="pass", alpha=0.05, min_effect=0.0)
    assert (
        result.power is not None
        and result.power.n_needed is None
        and result.power.planning_effect is None
    )
    assert result.verdict in {"A wins", "B wins", "no significant difference"}


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"alpha": 0.5}, "--alpha 0.5: must be above 0 and below 0.5"),
        ({"alpha": 0.0}, "--alpha 0.0"),
        ({"alpha": float("nan")}, "--alpha nan"),
        ({"min_effect": 1.0}, "--min-effect 1.0: must be from 0 to below 1"),
        ({"min_effect": -0.01}, "--min-effect -0.01"),
        ({"min_effect": float("inf")}, "--min-effect inf: must be a number"),
        ({"min_slice_pairs": 1}, "--min-slice-pairs 1: must be at least 2"),
        ({"metric": "wat"}, "--metric 'wat'"),
        ({"judge_mode": "wat"}, "--judge-mode 'wat'"),
    ],
)
def test_an_ab_request_the_maths_cannot_use_is_refused_when_made(changes, needle) -> None:
    from evallock.ab import ABRequest
    from evallock.errors import UsageError

    with pytest.raises(UsageError) as caught:
        ABRequest(cases="c.jsonl", a_run="x", b_run="y", **changes)
    assert str(caught.value).startswith(needle)
    ABRequest(cases="c.jsonl", a_run="x", b_run="y", alpha=0.4999, min_effect=0.0)


# --- issue 12: verdicts that agree with their test at small n, power for the verdict's rule ---


def _pairs(only_a: int, only_b: int, both: int, neither: int) -> tuple[dict, dict]:  # type: ignore[type-arg]
    rows = [(1, 0)] * only_a + [(0, 1)] * only_b + [(1, 1)] * both + [(0, 0)] * neither
    return binary(rows)


def test_eight_pairs_three_discordant_is_not_a_win() -> None:
    """The CLT bound said "B wins" at p = 0.125; the exact floor test does not."""
    a, b = _pairs(0, 3, 3, 2)
    result = analyse_pairs(a, b, metric="pass", alpha=0.05, min_effect=0.0, with_power=False)
    assert result.verdict == "no significant difference"
    assert result.lower <= 0.0
    assert "exact unconditional" in result.test
    assert result.ci.lo <= result.lower <= result.delta <= result.upper <= result.ci.hi


def test_binary_verdict_is_the_exact_floor_test() -> None:
    """At small n "B wins" is exactly the exact floor test's rejection (whose level
    bench/calibration.py and tests/stats check by simulation)."""
    from evallock.stats import paired_floor_test

    for only_a, only_b in [(0, 3), (0, 5), (1, 7), (2, 9), (0, 8), (3, 3)]:
        a, b = _pairs(only_a, only_b, 30 - only_a - only_b - 5, 5)
        result = analyse_pairs(a, b, metric="pass", min_effect=0.05, with_power=False)
        test = paired_floor_test(only_a=only_a, only_b=only_b, n=30, floor=0.05)
        assert (result.verdict == "B wins") == test.clears, (only_a, only_b)
        assert result.lower == pytest.approx(test.lower)


def test_power_is_for_the_verdicts_rule() -> None:
    from evallock.stats import paired_binary_floor_power

    a, b = _pairs(20, 30, 100, 50)  # 200 pairs, discordance 0.25
    result = analyse_pairs(a, b, metric="pass", alpha=0.05, min_effect=0.05)
    power = result.power
    assert power is not None and math.isfinite(power.mde) and power.mde > 0.05
    assert power.planning_effect == 0.1
    # at the MDE the rule (lower bound > floor) clears with 80 % power
    at_mde = paired_binary_floor_power(
        200, effect=power.mde, discordant=0.25, floor=0.05, method="score"
    )
    assert at_mde.power == pytest.approx(0.8, abs=0.02)
    # the pairs it names reach 80 % when B is better by twice the floor
    assert power.n_needed is not None
    enough = paired_binary_floor_power(
        power.n_needed, effect=0.1, discordant=0.25, floor=0.05, method="score"
    )
    assert enough.power >= 0.8 - 1e-9
    assert power.underpowered == (power.mde > 0.1)


def test_slice_wins_are_family_wise_controlled_at_the_floor() -> None:
    """A slice's floor test runs at α/m: a slice that would win alone at α does not
    win among six (unadjusted, some slice said "B wins" 26–28 % of the time at the floor)."""
    from evallock.stats import paired_floor_test

    n = 40
    only_b = next(
        c
        for c in range(1, n)
        if paired_floor_test(only_a=1, only_b=c, n=n, floor=0.05, confidence=0.95).clears
    )
    alone = paired_floor_test(only_a=1, only_b=only_b, n=n, floor=0.05, confidence=1 - 0.05 / 6)
    assert not alone.clears  # the table wins at α but not at α/6
    rows = [(1, 0)] + [(0, 1)] * only_b + [(1, 1)] * (n - 1 - only_b)
    neutral = [(1, 1)] * n
    a, b = binary(rows + neutral * 5)
    keys = {cid: {"tier": f"t{min(i // n, 5)}"} for i, cid in enumerate(sorted(a))}
    one = analyse_slices(
        {k: a[k] for k in list(a)[:n]},
        {k: b[k] for k in list(b)[:n]},
        keys,
        ["tier"],
        metric="pass",
        alpha=0.05,
        min_effect=0.05,
    )
    assert [r.verdict for r in one] == ["B wins"]
    six = analyse_slices(a, b, keys, ["tier"], metric="pass", alpha=0.05, min_effect=0.05)
    assert len(six) == 6 and six[0].verdict != "B wins"
    assert six[0].analysis is not None
    assert six[0].analysis.ci.confidence == pytest.approx(1 - 0.05 / 6)


def test_arm_intervals_stay_inside_zero_and_one_with_trials() -> None:
    """With --trials the per-arm interval is a CLT one on per-case shares: clipped to
    [0, 1] (a pass-rate interval reached 1.030 before)."""
    a = {f"c{i}": [1.0, 1.0, 1.0] for i in range(6)} | {"c6": [1.0, 1.0, 0.0]}
    b = {f"c{i}": [1.0, 1.0, 1.0] for i in range(7)}
    result = analyse_pairs(a, b, metric="pass", with_power=False)
    assert result.a is not None and result.b is not None
    for arm in (result.a, result.b):
        assert 0.0 <= arm.ci.lo <= arm.mean <= arm.ci.hi <= 1.0
    assert result.a.ci.hi == 1.0
