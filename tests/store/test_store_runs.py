"""Runs in the store: round-trip, append-only creation, finishing, listing, baselines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from evallock.errors import StoreError
from evallock.records import RunStats, RunSummary

T0 = datetime(2026, 10, 4, 9, 0, tzinfo=UTC)

HOSTILE = '\'; DROP TABLE runs; -- <script>alert(1)</script> "quoted" \\ back\\slash'
UNICODE = "Rückerstattung 返金 возврат 🧾 \u200b zero-width, NUL-free"


SUMMARY = RunSummary(
    n=3,
    passed=2,
    failed=1,
    errored=0,
    pass_rate=2 / 3,
    pass_rate_ci=(0.2077, 0.9385),
    locks_failed=("refund-017",),
    reasons=(f"lock case failed: refund-017 {UNICODE}",),
    warnings=("3 cases are too few",),
    stats=RunStats(asked=3, retries=1, seconds=0.25),
)


def test_a_summary_round_trips_typed_and_old_rows_still_read(store, make_run):
    """The summary column holds RunSummary.to_json(); rows written before it was typed
    (no warnings, fewer stats) read back with defaults; an empty one reads as None."""
    store.runs.create(make_run("typed"))
    store.runs.finish(
        "typed",
        status="complete",
        verdict="fail",
        summary=SUMMARY,
        baseline_run_id=None,
        finished_at=T0,
    )
    assert store.runs.get("typed").summary == SUMMARY
    old = {
        "n": 2,
        "passed": 1,
        "failed": 1,
        "errored": 0,
        "pass_rate": 0.5,
        "pass_rate_ci": [0.09, 0.91],
        "locks_failed": [],
        "new_failures": ["c1"],
        "flaky": [],
        "reasons": ["1 new failure(s)"],
        "stats": {"asked": 2, "retries": 0, "seconds": 0.1},
    }
    read = RunSummary.from_json(old)
    assert read is not None and read.new_failures == ("c1",) and read.warnings == ()
    assert read.pass_rate_ci == (0.09, 0.91) and read.stats.asked == 2
    assert RunSummary.from_json({}) is None and RunSummary.from_json(None) is None
    assert RunSummary.from_json(read.to_json()) == read


def test_run_round_trips_with_keys_settings_and_hostile_text(store, make_run):
    run = make_run(
        HOSTILE,
        dataset_name=UNICODE,
        target_id=HOSTILE,
        started_at=datetime(2026, 10, 4, 11, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2))),
        keys={
            "prompt_version": "refund-v4",
            "intent": UNICODE,
            "dataset_id": "golden@other",  # a key with no column of its own on runs
            "session_kind": HOSTILE,  # free-form: goes to extra
        },
        settings={"cases": "evals/golden.jsonl", "note": HOSTILE, "nested": {"x": [1, 2.5, None]}},
    )
    store.runs.create(run)

    got = store.runs.get(HOSTILE)

    assert got == run
    assert got.started_at.tzinfo is UTC
    assert got.started_at == datetime(2026, 10, 4, 9, 30, 15, 123456, tzinfo=UTC)
    assert store.runs.find()[0].run_id == HOSTILE  # and the table is still there


def test_get_run_of_unknown_id_is_none(store):
    assert store.runs.get("nope") is None


def test_create_run_twice_is_refused_and_keeps_the_first(store, make_run):
    store.runs.create(make_run("r1", target_id="first"))

    with pytest.raises(StoreError, match=r"cannot create run 'r1' in store .*already stored"):
        store.runs.create(make_run("r1", target_id="second"))

    assert store.runs.get("r1").target_id == "first"


def test_naive_times_are_refused(store, make_run):
    with pytest.raises(ValueError, match="naive"):
        store.runs.create(make_run(started_at=datetime(2026, 1, 1)))


def test_finish_run_sets_the_outcome(store, make_run):
    store.runs.create(make_run("base"))
    store.runs.create(make_run("r1"))
    finished = T0 + timedelta(minutes=3)

    store.runs.finish(
        "r1",
        status="complete",
        verdict="fail",
        summary=SUMMARY,
        baseline_run_id="base",
        finished_at=finished,
    )

    got = store.runs.get("r1")
    assert got.status == "complete"
    assert got.verdict == "fail"
    assert got.summary == SUMMARY
    assert got.baseline_run_id == "base"
    assert got.finished_at == finished
    assert got.keys == make_run().keys


def test_finish_run_of_unknown_run_raises(store):
    with pytest.raises(StoreError, match="no such run"):
        store.runs.finish(
            "ghost",
            status="complete",
            verdict="pass",
            summary=None,
            baseline_run_id=None,
            finished_at=T0,
        )


@pytest.mark.parametrize(("status", "verdict"), [("done", "pass"), ("complete", "maybe")])
def test_finish_run_rejects_unknown_status_or_verdict(store, make_run, status, verdict):
    store.runs.create(make_run())
    with pytest.raises(ValueError, match="expected"):
        store.runs.finish(
            "r1", status=status, verdict=verdict, summary=None, baseline_run_id=None, finished_at=T0
        )


def test_list_runs_newest_first_with_filters_and_limit(store, make_run):
    for i, (dataset, target) in enumerate(
        [("golden", "a"), ("golden", "b"), ("smoke", "a"), ("golden", "a")]
    ):
        store.runs.create(
            make_run(
                f"r{i}", dataset_name=dataset, target_id=target, started_at=T0 + timedelta(hours=i)
            )
        )
    store.runs.finish(
        "r0", status="complete", verdict="pass", summary=None, baseline_run_id=None, finished_at=T0
    )

    assert [r.run_id for r in store.runs.find()] == ["r3", "r2", "r1", "r0"]
    assert [r.run_id for r in store.runs.find(dataset_name="golden")] == ["r3", "r1", "r0"]
    assert [r.run_id for r in store.runs.find(dataset_name="golden", target_id="a")] == ["r3", "r0"]
    assert [r.run_id for r in store.runs.find(status="complete")] == ["r0"]
    assert [r.run_id for r in store.runs.find(limit=2)] == ["r3", "r2"]
    assert store.runs.find(dataset_name="nothing") == []


def _finish(store, run_id, verdict, status="complete"):
    store.runs.finish(
        run_id,
        status=status,
        verdict=verdict,
        summary=None,
        baseline_run_id=None,
        finished_at=T0 + timedelta(days=1),
    )


def test_last_passing_run_is_the_newest_complete_pass_of_dataset_and_target(store, make_run):
    plan = [  # run_id, hours after T0, dataset, target, status, verdict
        ("old-pass", 0, "golden", "bot", "complete", "pass"),
        ("new-pass", 2, "golden", "bot", "complete", "pass"),
        ("newer-fail", 3, "golden", "bot", "complete", "fail"),
        ("interrupted", 4, "golden", "bot", "interrupted", "pass"),
        ("running", 5, "golden", "bot", None, None),
        ("other-target", 6, "golden", "other-bot", "complete", "pass"),
        ("other-dataset", 7, "smoke", "bot", "complete", "pass"),
    ]
    for run_id, hours, dataset, target, status, verdict in plan:
        store.runs.create(
            make_run(
                run_id,
                dataset_name=dataset,
                target_id=target,
                started_at=T0 + timedelta(hours=hours),
            )
        )
        if status is not None:
            _finish(store, run_id, verdict, status)

    assert store.runs.last_passing("golden", "bot").run_id == "new-pass"
    assert store.runs.last_passing("golden", "bot", exclude_run_id="new-pass").run_id == "old-pass"
    assert store.runs.last_passing("golden", "other-bot").run_id == "other-target"
    assert store.runs.last_passing("golden", "nobody") is None


def test_last_passing_run_with_keys_reads_past_a_page_of_other_branches(store, make_run):
    """The base branch's last pass is found behind more than a page of newer passes from
    other branches, some at the very same instant (the run id breaks the tie)."""
    store.runs.create(make_run("main-pass", keys={"branch": "main"}, started_at=T0))
    _finish(store, "main-pass", "pass")
    for number in range(230):
        run_id = f"pr-{number:03d}"
        started = T0 + timedelta(minutes=1 + number // 2)
        store.runs.create(make_run(run_id, keys={"branch": f"pr-{number}"}, started_at=started))
        _finish(store, run_id, "pass")
    assert store.runs.last_passing("golden", make_run().target_id).run_id == "pr-229"
    found = store.runs.last_passing("golden", make_run().target_id, keys={"branch": "main"})
    assert found is not None and found.run_id == "main-pass"
    assert (
        store.runs.last_passing("golden", make_run().target_id, keys={"branch": "pr-3"}).run_id
        == "pr-003"
    )
    assert store.runs.last_passing("golden", make_run().target_id, keys={"branch": "x"}) is None
