"""Eval records in the store: round-trip, append-only batches, resume, streaming order."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from evallock.errors import StoreError
from evallock.records import Grade
from evallock.store._runs import PAGE_SIZE

T0 = datetime(2026, 10, 4, 9, 0, tzinfo=UTC)
HOSTILE = "'; DROP TABLE runs; -- <script>alert('x')</script>"
UNICODE = "Rückerstattung 返金 возврат 🧾 «ok»"


@pytest.fixture
def run_id(store, make_run) -> str:
    store.runs.create(make_run("r1"))
    return "r1"


def test_records_round_trip_with_grades_keys_and_hostile_text(store, run_id, make_record):
    records = [
        make_record(
            run_id,
            HOSTILE,
            0,
            passed=False,
            score=0.5,
            reason=UNICODE,
            output=HOSTILE + "\n" + UNICODE,
            judge_score=3,
            grades=(
                Grade(name="icontains", passed=True, score=1.0, reason="found '5 business days'"),
                Grade(name="judge", passed=False, score=0.0, reason=HOSTILE, judge_score=3),
                Grade(
                    name="judge",
                    passed=False,
                    score=0.0,
                    reason="unparseable",
                    error="no score in reply",
                    error_kind="judge",
                ),
            ),
            keys={
                "prompt_version": "refund-v4",
                "dataset_id": "golden@abc",
                "intent": UNICODE,
                "session": HOSTILE,
            },
        ),
        make_record(
            run_id,
            "errored",
            0,
            passed=False,
            score=None,
            reason="target timed out",
            output=None,
            error="ReadTimeout after 3 attempts",
            error_kind="target",
            latency_ms=None,
            tokens_in=None,
            tokens_out=None,
            grades=(),
            keys={},
            created_at=None,
        ),
    ]
    before = datetime.now(UTC)
    store.runs.add_records(records)

    got = list(store.runs.iter_records(run_id))

    assert got[0] == records[0]
    assert got[1].created_at is not None and got[1].created_at >= before - timedelta(seconds=1)
    assert got[1].created_at.tzinfo is UTC
    assert got[1] == replace(records[1], created_at=got[1].created_at)


def test_empty_batch_is_a_no_op(store, run_id):
    store.runs.add_records([])
    assert list(store.runs.iter_records(run_id)) == []


def test_duplicate_within_a_batch_writes_nothing(store, run_id, make_record):
    batch = [make_record(run_id, "a", 0), make_record(run_id, "b", 0), make_record(run_id, "a", 0)]

    with pytest.raises(StoreError, match=r"case 'a' trial 0 is already stored"):
        store.runs.add_records(batch)

    assert list(store.runs.iter_records(run_id)) == []


def test_a_batch_that_repeats_a_stored_trial_writes_nothing(store, run_id, make_record):
    store.runs.add_records([make_record(run_id, "a", 0, output="first")])

    with pytest.raises(StoreError, match=r"cannot add 2 records .*case 'a' trial 0"):
        store.runs.add_records(
            [make_record(run_id, "b", 0), make_record(run_id, "a", 0, output="again")]
        )

    got = list(store.runs.iter_records(run_id))
    assert [(r.case_id, r.output) for r in got] == [("a", "first")]


def test_a_record_of_an_unknown_run_is_refused(store, make_record):
    with pytest.raises(StoreError, match="refers to a run that does not exist"):
        store.runs.add_records([make_record("ghost", "a", 0)])


def test_completed_trials(store, run_id, make_run, make_record):
    store.runs.create(make_run("other"))
    store.runs.add_records(
        [
            make_record(run_id, "a", 0),
            make_record(run_id, "a", 1),
            make_record(run_id, "b", 0),
            make_record("other", "z", 0),
        ]
    )

    assert store.runs.completed_trials(run_id) == {("a", 0), ("a", 1), ("b", 0)}
    assert store.runs.completed_trials("unknown") == set()


def test_iter_records_keeps_insertion_order_across_batches(store, run_id, make_record):
    order = ["zeta", "alpha", "mu", "beta", "omega"]
    store.runs.add_records([make_record(run_id, c, 0) for c in order[:3]])
    store.runs.add_records([make_record(run_id, c, 0) for c in order[3:]])
    store.runs.add_records([make_record(run_id, "alpha", 1)])

    got = [(r.case_id, r.trial) for r in store.runs.iter_records(run_id)]

    assert got == [(c, 0) for c in order] + [("alpha", 1)]


def test_iter_records_streams_5000_rows_a_page_at_a_time(store, run_id, make_run, make_record):
    store.runs.create(make_run("noise"))
    for start in range(0, 5000, 1000):
        store.runs.add_records(
            [make_record(run_id, f"case-{i:05d}", 0) for i in range(start, start + 1000)]
        )
        store.runs.add_records(
            [make_record("noise", f"n-{i}", 0) for i in range(start, start + 10)]
        )
    pages: list[int] = []

    def count_pages(conn, cursor, statement, parameters, context, executemany):
        if "FROM eval_records" in statement and "ORDER BY" in statement:
            pages.append(1)

    engine = store._db.engine
    event.listen(engine, "before_cursor_execute", count_pages)
    try:
        records = store.runs.iter_records(run_id)
        first = next(records)
        assert first.case_id == "case-00000"
        assert len(pages) == 1  # only the first page has been read
        rest = list(records)
    finally:
        event.remove(engine, "before_cursor_execute", count_pages)

    case_ids = [first.case_id] + [r.case_id for r in rest]
    assert case_ids == [f"case-{i:05d}" for i in range(5000)]
    assert len(pages) == 5000 // PAGE_SIZE + 1


def test_add_records_writes_1000_records_quickly(store, run_id, make_record):
    records = [make_record(run_id, f"case-{i}", 0) for i in range(1000)]

    started = time.perf_counter()
    store.runs.add_records(records)
    elapsed = time.perf_counter() - started

    assert len(store.runs.completed_trials(run_id)) == 1000
    assert elapsed < 1.0, f"add_records(1000) took {elapsed:.3f}s"


def test_records_of_cases_count_and_completed_trials_by_block(store, run_id, make_record):
    store.runs.create(replace(store.runs.get(run_id), run_id="other"))
    ids = [f"c{i:04d}" for i in range(1203)]  # more ids than one IN (...) takes
    store.runs.add_records(
        [make_record(run_id, case_id, trial) for case_id in ids for trial in (0, 1)]
    )
    store.runs.add_records([make_record("other", "c0001", 0)])
    wanted = [*ids[::2], HOSTILE, "missing"]
    found = store.runs.records_of_cases(run_id, wanted)
    assert sorted((r.case_id, r.trial) for r in found) == sorted(
        (case_id, trial) for case_id in ids[::2] for trial in (0, 1)
    )
    assert (
        store.runs.count_records(run_id) == 2 * len(ids) and store.runs.count_records("other") == 1
    )
    assert store.runs.count_records("nothing") == 0
    assert store.runs.completed_trials(run_id, ["c0001", "c0002", "missing"]) == {
        ("c0001", 0),
        ("c0001", 1),
        ("c0002", 0),
        ("c0002", 1),
    }
    assert store.runs.completed_trials("other", ids) == {("c0001", 0)}
    assert store.runs.records_of_cases(run_id, []) == []
