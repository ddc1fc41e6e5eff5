"""Offline ⋈ online: slices, intervals, and the offline-win / online-loss flag."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from evallock.analysis import join_offline_online, offline_online_to_dict
from evallock.analysis._slicing import mean_interval, proportion_difference
from evallock.errors import UsageError
from evallock.records import StoredDriftReport
from evallock.stats import welch_difference as welch_interval

from .conftest import T0, add_run, traffic

CONSUMER = {"customer_tier": "consumer", "intent": "refund"}
ENTERPRISE = {"customer_tier": "enterprise", "intent": "refund"}


def seed_worked_example(store, *, v4_enterprise_rate: float = 0.4, per_tier: int = 200):
    """v4 wins offline (a consumer case it fixes); online its enterprise complaints rise."""
    cases_v3 = {
        "c1": (True, CONSUMER),
        "c2": (True, CONSUMER),
        "c3": (False, CONSUMER),
        "e1": (True, ENTERPRISE),
        "e2": (True, ENTERPRISE),
    }
    cases_v4 = {**cases_v3, "c3": (True, CONSUMER)}
    add_run(
        store,
        "r3",
        prompt_version="v3",
        cases=cases_v3,
        started=T0 + timedelta(days=1),
        judge={"e1": [5], "e2": [4]},
    )
    add_run(
        store,
        "r4",
        prompt_version="v4",
        cases=cases_v4,
        started=T0 + timedelta(days=8),
        judge={"e1": [5], "e2": [5]},
    )
    for version, day0, rates, seed in (
        ("v3", 0, {"consumer": 0.05, "enterprise": 0.05}, 1),
        ("v4", 7, {"consumer": 0.05, "enterprise": v4_enterprise_rate, "pro": 0.05}, 2),
    ):
        traces, feedback = traffic(
            version=version, day0=day0, rates=rates, per_tier=per_tier, seed=seed, errors=0.02
        )
        store.traces.add(traces)
        store.feedback.add(feedback)


def by_slice(comparison):
    return {s.slice.values: s for s in comparison.slices}


def test_the_worked_example_is_flagged(store) -> None:
    seed_worked_example(store)
    comparison = join_offline_online(store, by=["prompt_version", "customer_tier"])
    assert comparison.dataset_name == "golden" and len(comparison.runs) == 2
    slices = by_slice(comparison)
    flagged = slices[("v4", "enterprise")]
    assert flagged.flags == ("offline win, online loss",)
    assert comparison.flagged == (flagged,) and comparison.slices[0] is flagged
    change = flagged.change
    assert change.versus == {"prompt_version": "v3"}
    assert change.offline_basis == "overall"  # 2/2 on both sides: the run's rate rose
    assert change.offline_delta == pytest.approx(0.2)
    assert "shared cases" in change.offline_test  # paired: the runs share their cases
    assert change.thumbs_down_delta > 0.2 and change.thumbs_down_ci.lo > 0
    assert change.p_value < change.p_adjusted < 1e-6  # adjusted over the three compared slices
    assert flagged.offline.n == 2 and flagged.offline.pass_rate == 1.0
    assert flagged.offline.judge_mean == 5.0 and flagged.offline.judge_n == 2
    assert flagged.online.n == 200 and 0 < flagged.online.error_rate < 0.1
    assert flagged.online.thumbs_down_ci.lo < flagged.online.thumbs_down_rate
    consumer = slices[("v4", "consumer")]
    assert consumer.flags == () and consumer.change.verdict == "consistent"
    assert consumer.change.offline_basis == "slice" and consumer.change.offline_delta > 0
    assert slices[("v4", "pro")].flags == ("no offline coverage",)
    assert slices[("v3", "enterprise")].change is None  # the first version


def test_a_small_online_change_is_inconclusive(store) -> None:
    seed_worked_example(store, v4_enterprise_rate=0.15, per_tier=20)
    slices = by_slice(join_offline_online(store, by=["prompt_version", "customer_tier"]))
    enterprise = slices[("v4", "enterprise")]
    assert enterprise.change.verdict == "inconclusive" and enterprise.flags == ()


def test_offline_and_online_agreeing_is_not_flagged(store) -> None:
    cases = {"e1": (True, ENTERPRISE), "e2": (True, ENTERPRISE)}
    add_run(store, "r3", prompt_version="v3", cases=cases, started=T0 + timedelta(days=1))
    worse = {"e1": (False, ENTERPRISE), "e2": (False, ENTERPRISE)}
    add_run(store, "r4", prompt_version="v4", cases=worse, started=T0 + timedelta(days=8))
    for version, day0, rate, seed in (("v3", 0, 0.02, 1), ("v4", 7, 0.5, 2)):
        traces, feedback = traffic(
            version=version, day0=day0, rates={"enterprise": rate}, per_tier=100, seed=seed
        )
        store.traces.add(traces)
        store.feedback.add(feedback)
    [_, v4] = join_offline_online(store, by=["prompt_version", "customer_tier"]).slices
    assert v4.change.offline_delta == -1.0 and v4.change.verdict == "consistent"


def test_a_falling_online_judge_score_flags_too(store) -> None:
    seed_worked_example(store, v4_enterprise_rate=0.05)
    samples = []
    for trace in store.traces.find(keys={"customer_tier": "enterprise"}, limit=1000):
        good = trace.keys["prompt_version"] == "v3"
        samples.append((trace.trace_id, (5 if good else 2) - int(trace.trace_id, 16) % 2, ""))
    store.reports.add_drift_report(
        StoredDriftReport(
            window_start=datetime(2026, 10, 1, tzinfo=UTC),
            window_end=datetime(2026, 10, 20, tzinfo=UTC),
            judge_version="j",
            alert=True,
            body={},
        ),
        samples,
    )
    slices = by_slice(join_offline_online(store, by=["prompt_version", "customer_tier"]))
    enterprise = slices[("v4", "enterprise")]
    assert enterprise.flags == ("offline win, online loss",)
    assert enterprise.change.judge_delta < -2 and enterprise.change.judge_ci.hi < 0
    assert enterprise.online.judge_n == 200 and enterprise.online.judge_ci is not None
    assert enterprise.change.thumbs_down_ci.lo <= 0  # the thumbs alone would not flag it


def test_without_a_version_key_the_newest_run_is_used(store) -> None:
    seed_worked_example(store)
    comparison = join_offline_online(store, by=["customer_tier"])
    assert [r.run.run_id for r in comparison.runs] == ["r4"]
    slices = by_slice(comparison)
    assert slices[("enterprise",)].online.n == 400 and slices[("enterprise",)].change is None
    assert slices[("pro",)].flags == ("no offline coverage",)


def test_trials_fold_by_majority_and_other_datasets_and_unfinished_runs_are_ignored(store):
    add_run(
        store,
        "r1",
        prompt_version="v1",
        cases={"e1": (True, ENTERPRISE)},
        started=T0,
        trials=3,
        judge={"e1": [4, 5, 5]},
    )
    add_run(
        store,
        "other",
        prompt_version="v1",
        cases={"x": (False, ENTERPRISE)},
        started=T0 + timedelta(days=1),
        dataset_name="smoke",
    )
    add_run(
        store,
        "broken",
        prompt_version="v1",
        cases={"e1": (False, ENTERPRISE)},
        started=T0 + timedelta(days=2),
        status="interrupted",
    )
    comparison = join_offline_online(
        store, by=["prompt_version", "customer_tier"], dataset_name="golden"
    )
    [only] = comparison.slices
    assert only.offline.run_id == "r1" and only.offline.n == 1 and only.offline.passed == 1
    assert only.offline.judge_mean == pytest.approx(14 / 3)
    assert only.flags == ("no online traffic",)
    newest = join_offline_online(store, by=["prompt_version"])
    assert newest.dataset_name == "smoke"


def test_the_window_limits_the_online_side(store) -> None:
    seed_worked_example(store)
    comparison = join_offline_online(
        store, by=["prompt_version", "customer_tier"], since=T0 + timedelta(days=7)
    )
    slices = by_slice(comparison)
    assert slices[("v3", "enterprise")].online is None
    assert slices[("v4", "enterprise")].change.thumbs_down_delta is None


def test_json_has_every_rate_with_its_interval_and_n(store) -> None:
    seed_worked_example(store)
    data = offline_online_to_dict(
        join_offline_online(store, by=["prompt_version", "customer_tier"])
    )
    orjson.dumps(data)
    assert data["flagged"] == [{"prompt_version": "v4", "customer_tier": "enterprise"}]
    first = data["slices"][0]
    assert first["flags"] == ["offline win, online loss"]
    assert len(first["offline"]["pass_rate_ci"]) == 2 and first["offline"]["n"] == 2
    assert len(first["online"]["thumbs_down_ci"]) == 2 and first["online"]["n"] == 200
    assert len(first["online"]["error_ci"]) == 2
    assert len(first["change"]["thumbs_down_ci"]) == 2 and first["change"]["versus"] == {
        "prompt_version": "v3"
    }
    assert {r["run_id"] for r in data["runs"]} == {"r3", "r4"}


def test_usage_errors(store) -> None:
    with pytest.raises(UsageError, match="--by"):
        join_offline_online(store, by=[" ", ""])
    with pytest.raises(UsageError, match="--by"):
        join_offline_online(store, by=["no such key!"])


def test_interval_helpers() -> None:
    assert mean_interval(0, 0.0, 0.0) is None
    single = mean_interval(1, 4.0, 16.0)
    assert single.mean == 4.0 and single.interval is None
    four = mean_interval(4, 12.0, 38.0)  # 2, 3, 3, 4
    assert four.mean == 3.0
    assert four.interval.lo == pytest.approx(3 - 3.182446 * math.sqrt(2 / 3 / 4), abs=1e-5)
    assert welch_interval((1, 1.0, 1.0), (3, 3.0, 3.0)) is None
    flat = welch_interval((2, 10.0, 50.0), (2, 4.0, 8.0))
    assert flat.delta == -3.0 and flat.interval.lo == flat.interval.hi == -3.0
    assert flat.p_value == 0.0
    welch = welch_interval((3, 15.0, 77.0), (3, 6.0, 14.0))  # 4,5,6 vs 1,2,3
    assert welch.delta == -3.0
    assert welch.interval.lo == pytest.approx(-3 - 2.776445 * math.sqrt(2 / 3), abs=1e-5)
    # as scipy.stats.ttest_ind([4, 5, 6], [1, 2, 3], equal_var=False)
    assert welch.p_value == pytest.approx(0.0213, abs=1e-3)
    rates = proportion_difference(10, 100, 25, 100)
    assert rates.delta == pytest.approx(0.15) and rates.interval.method == "Newcombe hybrid score"
    assert rates.p_value == pytest.approx(0.005247, abs=1e-5)  # pooled z = 2.791
    assert proportion_difference(0, 10, 0, 10).p_value == 1.0


def exact_traffic(store, tiers: dict[str, tuple[int, int]], n: int = 200) -> None:
    """``n`` traces per version and tier, with exactly (v3 downs, v4 downs) thumbs-downs."""
    from evallock.records import Feedback, Trace

    traces, feedback = [], []
    for t, (tier, downs) in enumerate(tiers.items()):
        for v, (version, day0) in enumerate((("v3", 0), ("v4", 7))):
            for i in range(n):
                trace_id = f"{t:04x}{v:04x}{i:024x}"
                traces.append(
                    Trace(
                        trace_id=trace_id,
                        timestamp=T0 + timedelta(days=day0, minutes=i),
                        input="q",
                        keys={"prompt_version": version, "customer_tier": tier},
                    )
                )
                if i < downs[v]:
                    feedback.append(
                        Feedback(feedback_id=trace_id, trace_id=trace_id, rating="down", score=0.0)
                    )
    store.traces.add(traces)
    store.feedback.add(feedback)


def test_a_chance_rise_among_many_slices_is_not_flagged(store) -> None:
    add_run(
        store,
        "r3",
        prompt_version="v3",
        cases={"a": (False, {}), "b": (True, {})},
        started=T0 + timedelta(days=1),
    )
    add_run(
        store,
        "r4",
        prompt_version="v4",
        cases={"a": (True, {}), "b": (True, {})},
        started=T0 + timedelta(days=8),
    )
    tiers = {"chance": (4, 13), **{f"tier{i}": (6, 6) for i in range(9)}}
    exact_traffic(store, tiers)
    slices = by_slice(join_offline_online(store, by=["prompt_version", "customer_tier"]))
    chance = slices[("v4", "chance")].change
    assert chance.p_value == pytest.approx(0.026, abs=0.002)
    assert chance.p_adjusted == pytest.approx(10 * chance.p_value)
    assert chance.verdict == "inconclusive"
    from evallock.analysis.offline_online import _verdicts

    [alone] = _verdicts([chance], 0.05)  # tested on its own, the same rise would be flagged
    assert alone.p_adjusted == chance.p_value and alone.verdict == "offline win, online loss"
