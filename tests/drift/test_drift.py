"""Drift end to end: seeded traffic in the store, judged by the bundled judge over HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest

from evallock.drift import DriftRequest, run_drift, sample_traces
from evallock.errors import JudgeError, UsageError
from evallock.evaluation import JudgeSpec
from evallock.runner import RetryPolicy

from .conftest import T0, day, make_traffic


def request(judge_url: str, since: str, until: str, **changes: object) -> DriftRequest:
    fields: dict[str, object] = {
        "since": since,
        "until": until,
        "sample": 150,
        "by": ("customer_tier",),
        "baseline_window": f"{day(0)}..{day(7)}",
        "judge": JudgeSpec(base_url=judge_url, model="judge"),
        "retry": RetryPolicy(retries=1, base=0.01),
    }
    fields.update(changes)
    return DriftRequest(**fields)  # type: ignore[arg-type]


def test_planted_drop_alerts_on_the_right_window_and_names_the_slice(store, fake_service) -> None:
    store.traces.add(make_traffic())
    quiet = run_drift(request(fake_service.base_url, day(7), day(11)), store).report
    assert not quiet.alert, quiet.reasons
    outcome = run_drift(request(fake_service.base_url, day(11), day(14)), store)
    report = outcome.report
    assert report.alert
    slices = {s.label: s for s in report.slices}
    assert slices["customer_tier=enterprise"].alert
    assert not slices["customer_tier=consumer"].alert and not slices["customer_tier=pro"].alert
    assert any("customer_tier=enterprise" in reason for reason in report.reasons)
    assert report.delta < 0 and report.mean_ci.lo <= report.mean <= report.mean_ci.hi
    assert report.bad_share_ci.lo <= report.bad_share <= report.bad_share_ci.hi
    assert report.judge_version.startswith("judge@")
    assert report.baseline.judge_version == report.judge_version
    latest = store.reports.drift_reports()[0]
    assert latest.report_id == outcome.report_id and latest.alert is True
    assert (latest.window_start, latest.window_end) == (report.window.start, report.window.end)
    assert latest.body["window"] == str(report.window)  # the --json body, as printed


def test_false_alarm_rate_on_drift_free_traffic(sqlite_store, fake_service) -> None:
    sqlite_store.traces.add(
        make_traffic(days=21, per_day=80, drop_from_day=None, seed=11, mediocre_share=0.2)
    )
    alerts = 0
    for start in range(7, 21):
        report = run_drift(
            request(fake_service.base_url, day(start), day(start + 1), sample=60), sqlite_store
        ).report
        alerts += report.alert
    assert alerts <= 1, f"{alerts} false alarms in 14 drift-free daily windows"


def test_sampling_is_deterministic_and_stratified_with_a_floor() -> None:
    rows = [(f"{i:032x}", "enterprise" if i % 50 == 0 else "consumer") for i in range(5000)]
    first = sample_traces(rows, 200, seed=3, stratified=True, min_per_stratum=20)
    again = sample_traces(rows, 200, seed=3, stratified=True, min_per_stratum=20)
    other = sample_traces(rows, 200, seed=4, stratified=True, min_per_stratum=20)
    assert first.trace_ids == again.trace_ids and first.trace_ids != other.trace_ids
    chosen = [first.stratum_of[t] for t in first.trace_ids]
    assert chosen.count("enterprise") == 20  # 100 of 5000 → 4 by share, raised to the floor
    assert first.stratum_sizes == {"consumer": 4900, "enterprise": 100}
    plain = sample_traces(rows, 200, seed=3)
    assert len(plain.trace_ids) == 200 and len(set(plain.trace_ids)) == 200


def test_fewer_traces_than_asked_uses_all_and_says_so(sqlite_store, fake_service) -> None:
    sqlite_store.traces.add(make_traffic(days=8, per_day=10, drop_from_day=None))
    report = run_drift(
        request(fake_service.base_url, day(7), day(8), sample=500), sqlite_store
    ).report
    assert report.available == 10 and report.n_samples == 10
    assert any("fewer than --sample 500" in note for note in report.notes)


def test_empty_window_and_missing_baseline_are_usage_errors(sqlite_store, fake_service) -> None:
    sqlite_store.traces.add(make_traffic(days=8, per_day=5, drop_from_day=None))
    with pytest.raises(UsageError, match="no traces between"):
        run_drift(request(fake_service.base_url, day(30), day(31)), sqlite_store)
    with pytest.raises(UsageError, match="give one baseline"):
        run_drift(
            request(fake_service.base_url, day(7), day(8), baseline_window=None), sqlite_store
        )


def test_judge_down_is_an_infra_error(sqlite_store, closed_port) -> None:
    sqlite_store.traces.add(make_traffic(days=8, per_day=5, drop_from_day=None))
    with pytest.raises(JudgeError):
        run_drift(
            request(
                f"http://127.0.0.1:{closed_port}/v1",
                day(7),
                day(8),
                baseline=4.0,
                baseline_window=None,
                by=(),
            ),
            sqlite_store,
        )


def test_judge_nonsense_is_counted_and_marks_the_report_untrustworthy(
    sqlite_store, fake_service
) -> None:
    traffic = make_traffic(days=8, per_day=40, drop_from_day=None)
    from dataclasses import replace

    garbled = [
        replace(t, output=(t.output or "") + " [[judge:garbage]]") if i % 2 else t
        for i, t in enumerate(traffic)
    ]
    sqlite_store.traces.add(garbled)
    report = run_drift(
        request(fake_service.base_url, day(7), day(8), baseline=4.0, baseline_window=None, by=()),
        sqlite_store,
    ).report
    assert report.judge_errors > 0 and not report.trustworthy
    assert report.judge_errors + report.n_samples == min(150, report.available)


def test_baseline_number_and_detectors_print_their_arl0(sqlite_store, fake_service) -> None:
    sqlite_store.traces.add(make_traffic())
    report = run_drift(
        request(
            fake_service.base_url,
            day(7),
            day(14),
            baseline=4.6,
            baseline_window=None,
            by=(),
            sample=400,
            batch=timedelta(days=1),
        ),
        sqlite_store,
    ).report
    assert report.baseline.source == "number"
    names = {d.name: d for d in report.detectors}
    assert {"CUSUM", "EWMA"} <= set(names)
    assert 300 < names["CUSUM"].arl0 < 450
    # a number baseline: the mean test is the only rule, with the whole alpha; the
    # detectors are signals (notes), not part of it
    assert report.rule_alpha == {"mean": 0.05}
    assert any("CUSUM crossed its limit" in note for note in report.notes)
    assert len(report.batches) == 7
    assert names["CUSUM"].fired_at and min(names["CUSUM"].fired_at) >= day(11)[:10]


def test_a_second_check_continues_the_stored_monitor(sqlite_store, fake_service) -> None:
    """The detectors' state is stored with the report; the next check of the same
    monitor finds it and feeds only the batches since."""
    sqlite_store.traces.add(make_traffic(days=10, per_day=30, drop_from_day=None))
    first = run_drift(request(fake_service.base_url, day(7), day(8)), sqlite_store).report
    second = run_drift(request(fake_service.base_url, day(8), day(9)), sqlite_store).report
    assert first.monitor is not None and second.monitor is not None
    assert second.monitor.monitor_id == first.monitor.monitor_id
    assert first.monitor.last_batch_end is not None and second.monitor.last_batch_end is not None
    assert second.monitor.last_batch_end > first.monitor.last_batch_end
    assert (first.monitor.batches_fed, second.monitor.batches_fed) == (1, 2)
    stored = sqlite_store.reports.drift_reports(limit=1)[0]
    assert stored.body["monitor"]["id"] == second.monitor.monitor_id
    other = run_drift(
        request(fake_service.base_url, day(8), day(9), arl0=500.0), sqlite_store
    ).report
    assert other.monitor is not None and other.monitor.monitor_id != first.monitor.monitor_id


def test_input_drift_is_an_alert_of_its_own(sqlite_store, fake_service) -> None:
    """Quality holds but the traffic mix flips (consumer-heavy to pro-heavy): the report
    alerts on input drift, its own line, within the report's alpha."""
    from dataclasses import replace

    traffic = make_traffic(days=10, per_day=60, drop_from_day=None)
    flipped = [
        replace(t, keys={**t.keys, "customer_tier": "pro", "intent": "account"})
        if t.timestamp >= T0 + timedelta(days=7) and int(t.trace_id, 16) % 3
        else t
        for t in traffic
    ]
    sqlite_store.traces.add(flipped)
    report = run_drift(request(fake_service.base_url, day(8), day(9), by=()), sqlite_store).report
    assert "inputs" in report.rule_alpha
    lines = [r for r in report.reasons if r.startswith("input drift")]
    assert lines and any("customer_tier mix" in r and "major" in r for r in lines), report.reasons
    assert report.alert
    steady = run_drift(
        request(
            fake_service.base_url, day(5), day(6), by=(), baseline_window=f"{day(0)}..{day(5)}"
        ),
        sqlite_store,
    ).report
    assert not any(r.startswith("input drift") for r in steady.reasons), steady.reasons
