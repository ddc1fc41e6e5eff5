"""The drift report's rules (issue 12): both sides post-stratified, trials as clusters,
a number baseline refused with slices, one alpha for the report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from evallock.drift import DriftRequest
from evallock.drift._report import build_report
from evallock.drift._scores import DriftBaseline, TraceScore
from evallock.drift._window import Window
from evallock.errors import UsageError

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def scores(
    per_tier: dict[str, list[int]], start: datetime, *, cluster: bool = False, trials: int = 1
) -> list[TraceScore]:
    out = []
    for tier, values in per_tier.items():
        for i, value in enumerate(values):
            for trial in range(trials):
                out.append(
                    TraceScore(
                        trace_id=f"{tier}-{i}#{trial}",
                        timestamp=start + timedelta(minutes=i + 1),
                        score=value,
                        stratum=tier,
                        keys={"customer_tier": tier},
                        cluster=f"{tier}-{i}" if cluster else None,
                    )
                )
    return out


def test_both_sides_are_post_stratified_at_the_baselines_mix() -> None:
    """Same quality per tier, enterprise over-sampled on both sides: no drop at all
    (a weighted window against an unweighted baseline showed +0.1 here)."""
    tiers = {
        "consumer": [5, 4, 5, 4, 5, 4, 5, 4, 5, 4],
        "enterprise": [2, 3, 2, 3, 2, 3, 2, 3, 2, 3],
    }
    mix = {"consumer": 9000, "enterprise": 1000}
    base = scores(tiers, T0)
    baseline = DriftBaseline(mean=3.5, source="window", scores=base, stratum_sizes=mix)
    start = T0 + timedelta(days=7)
    report = build_report(
        window=Window(start=start, end=start + timedelta(days=1)),
        available=10_000,
        scores=scores(tiers, start),
        baseline=baseline,
        judge_version="j",
        stratum_sizes=mix,
    )
    assert report.delta == pytest.approx(0.0, abs=1e-12)
    assert report.mean == pytest.approx(0.9 * 4.5 + 0.1 * 2.5)
    assert report.design_effect is not None and report.design_effect > 1
    assert not report.alert


def test_a_runs_trials_count_once_per_case() -> None:
    """Five identical trials of each case are one observation, not five."""
    values = {"consumer": [5, 4, 3, 5, 4, 2, 5, 4, 3, 5]}
    start = T0 + timedelta(days=7)
    window = scores({"consumer": [4, 3, 4, 5, 3, 4, 2, 4, 5, 3, 4, 4]}, start)
    reports = []
    for trials, cluster in ((1, False), (5, True)):
        base = scores(values, T0, cluster=cluster, trials=trials)
        baseline = DriftBaseline(mean=4.0, source="run:x", scores=base)
        reports.append(
            build_report(
                window=Window(start=start, end=start + timedelta(days=1)),
                available=100,
                scores=window,
                baseline=baseline,
                judge_version="j",
                detectors=False,
            )
        )
    one, clustered = reports
    assert clustered.delta_ci is not None and one.delta_ci is not None
    assert clustered.delta_ci.width == pytest.approx(one.delta_ci.width)


def test_one_alpha_split_among_the_rules_the_report_runs() -> None:
    start = T0 + timedelta(days=7)
    base = scores({"consumer": [5, 4, 3, 5, 4, 2, 5, 4]}, T0)
    report = build_report(
        window=Window(start=start, end=start + timedelta(days=1)),
        available=100,
        scores=scores({"consumer": [4, 3, 4, 5, 3, 4]}, start),
        baseline=DriftBaseline(mean=4.0, source="window", scores=base),
        judge_version="j",
        by=("customer_tier",),
        alpha=0.06,
    )
    assert report.rule_alpha == {"mean": 0.02, "bad share": 0.02, "slices": 0.02}
    assert sum(report.rule_alpha.values()) == pytest.approx(report.alpha)


def test_a_single_judged_trace_is_a_report_not_a_crash() -> None:
    start = T0 + timedelta(days=7)
    report = build_report(
        window=Window(start=start, end=start + timedelta(days=1)),
        available=1,
        scores=scores({"consumer": [2]}, start),
        baseline=DriftBaseline(mean=4.0, source="number"),
        judge_version="j",
    )
    assert report.n_samples == 1 and (report.mean_ci.lo, report.mean_ci.hi) == (1.0, 5.0)
    assert not report.alert


def test_a_number_baseline_with_slices_is_refused_with_the_reason() -> None:
    with pytest.raises(UsageError, match="one number is no baseline for each slice"):
        DriftRequest(baseline=4.2, by=("customer_tier",))


def test_the_score_distribution_is_tested_against_a_judged_baseline() -> None:
    from scipy.stats import chi2_contingency

    from evallock.drift import drift_report

    start = T0 + timedelta(days=7)
    base_values = [5, 5, 4, 4, 4, 3, 3, 2, 1, 5, 4, 3]
    now_values = [2, 2, 1, 3, 4, 5, 2, 1, 3, 3, 2, 4]
    report = build_report(
        window=Window(start=start, end=start + timedelta(days=1)),
        available=100,
        scores=scores({"consumer": now_values}, start),
        baseline=DriftBaseline(
            mean=3.6, source="window", scores=scores({"consumer": base_values}, T0)
        ),
        judge_version="j",
        detectors=False,
    )
    found = report.score_distribution
    assert found is not None and found.details["df"] == 4
    table = [
        [base_values.count(k) for k in range(1, 6)],
        [now_values.count(k) for k in range(1, 6)],
    ]
    expected = chi2_contingency(table, correction=False)
    assert found.p_value == pytest.approx(expected.pvalue)
    data = drift_report(report)
    assert data["score_distribution"]["df"] == 4
    assert data["rule_alpha"] == {"mean": 0.025, "bad share": 0.025}
    number = build_report(
        window=Window(start=start, end=start + timedelta(days=1)),
        available=100,
        scores=scores({"consumer": now_values}, start),
        baseline=DriftBaseline(mean=3.6, source="number"),
        judge_version="j",
        detectors=False,
    )
    assert number.score_distribution is None


def test_detectors_state_the_arl0_a_baseline_this_size_really_gives() -> None:
    """With an estimated baseline the chart's real ARL0 is far below its design figure;
    the report says so (and keeps the detectors out of its alert)."""
    import random

    rng = random.Random(3)
    start = T0 + timedelta(days=7)
    window = [
        TraceScore(
            trace_id=f"w{i}",
            timestamp=start + timedelta(hours=i % 168),
            score=rng.choice([3, 4, 4, 5, 5]),
        )
        for i in range(196)
    ]
    base = scores({"consumer": [rng.choice([3, 4, 4, 5, 5]) for _ in range(200)]}, T0)
    report = build_report(
        window=Window(start=start, end=start + timedelta(days=7)),
        available=1000,
        scores=window,
        baseline=DriftBaseline(mean=4.2, source="window", scores=base),
        judge_version="j",
    )
    cusum = next(d for d in report.detectors if d.name == "CUSUM")
    assert cusum.warmup == 7  # 200 baseline traces, ~28 a day
    assert cusum.arl0_median is not None and cusum.arl0_low is not None
    assert cusum.arl0_low < cusum.arl0_median < cusum.arl0
    # the limit is set, warm-up included, for the median baseline of this size
    assert cusum.arl0_median == pytest.approx(370, rel=0.01)
    assert "CUSUM" not in " ".join(report.reasons)
    number = build_report(
        window=Window(start=start, end=start + timedelta(days=7)),
        available=1000,
        scores=window,
        baseline=DriftBaseline(mean=4.2, source="number"),
        judge_version="j",
    )
    assert all(d.warmup is None and d.arl0_median is None for d in number.detectors)


def test_detector_state_carries_over_and_each_batch_is_fed_once() -> None:
    """Two daily checks of overlapping 7-day windows: the second feeds only the new
    day to the charts, which go on from where the first left them."""
    import random

    rng = random.Random(8)
    day0 = datetime(2026, 11, 1, tzinfo=UTC)

    def judged(days: range) -> list[TraceScore]:
        return [
            TraceScore(
                trace_id=f"{d}-{i}",
                timestamp=day0 + timedelta(days=d, minutes=10 * i),
                score=rng.choice([2, 3, 3, 4]),
            )
            for d in days
            for i in range(30)
        ]

    baseline = DriftBaseline(mean=4.5, source="number")
    first = build_report(
        window=Window(start=day0, end=day0 + timedelta(days=7, hours=12)),  # half a day more
        available=1000,
        scores=judged(range(8)),
        baseline=baseline,
        judge_version="j",
        monitor_id="m1",
    )
    assert first.monitor is not None
    assert first.monitor.last_batch_end == day0 + timedelta(days=7)  # day 8 not complete: not fed
    cusum_first = first.monitor.charts["CUSUM"]
    second = build_report(
        window=Window(start=day0 + timedelta(days=1), end=day0 + timedelta(days=8)),
        available=1000,
        scores=judged(range(1, 8)),
        baseline=baseline,
        judge_version="j",
        monitor_id="m1",
        prior_monitor=first.monitor,
    )
    assert second.monitor is not None
    assert second.monitor.last_batch_end == day0 + timedelta(days=8)
    assert (first.monitor.batches_fed, second.monitor.batches_fed) == (7, 8)
    # only day 7 was new: the batches of days 1-6 fire nothing again
    assert all(not b.fired for b in second.batches if b.start < day0 + timedelta(days=7))
    # the CUSUM went on from its saved statistic (a drop every day keeps it high)
    assert second.monitor.charts["CUSUM"]["lower"] != cusum_first["lower"]
    from evallock.drift._detect import MonitorState

    again = MonitorState.from_json(second.monitor.to_json())
    assert again == second.monitor
    assert MonitorState.from_json({"id": "x"}) is None
