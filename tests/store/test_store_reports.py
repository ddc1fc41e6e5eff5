"""Typed outcome records in the store: drift reports, A/B comparisons, run summaries.

Each round trip runs on SQLite and PostgreSQL; rows written by earlier versions (a
summary stored as the hand-built dict, an A/B arm's ``{"ab": id}``) still read.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from evallock.records import StoredComparison, StoredDriftReport
from evallock.store import open_store
from evallock.store._url import parse_store_url

T0 = datetime(2026, 10, 4, 9, 0, tzinfo=UTC)
HOSTILE = '\'; DROP TABLE drift_reports; -- <script>alert(1)</script> "q" \\ 返金 🧾'


def _drift(**changes: object) -> StoredDriftReport:
    fields: dict[str, object] = {
        "window_start": T0,
        "window_end": T0 + timedelta(days=1),
        "judge_version": "judge@abc",
        "alert": True,
        "body": {
            "window": "2026-10-04T09:00:00Z..2026-10-05T09:00:00Z",
            "n_samples": 200,
            "mean": 3.61,
            "mean_ci": [3.48, 3.74],
            "delta_ci": [-0.66, -0.36],
            "alert": True,
            "judge_version": "judge@abc",
            "notes": [HOSTILE],
            "slices": [],
        },
    }
    fields.update(changes)
    return StoredDriftReport(**fields)  # type: ignore[arg-type]


def test_a_drift_report_round_trips_typed_with_its_id_and_time(store):
    # A window given in another zone is stored and read back as the same instant, in UTC.
    plus2 = timezone(timedelta(hours=2))
    report = _drift(window_start=datetime(2026, 10, 4, 11, 0, tzinfo=plus2))
    before = datetime.now(UTC)
    report_id = store.reports.add_drift_report(report, [("a" * 32, 2, "score 2/5")])

    (got,) = store.reports.drift_reports()

    assert got.report_id == report_id and got.created_at is not None
    assert before - timedelta(seconds=5) <= got.created_at <= datetime.now(UTC)
    assert got.window_start == T0 and got.window_start.tzinfo is UTC
    assert got.window_end == T0 + timedelta(days=1) and got.window_end.tzinfo is UTC
    assert (got.judge_version, got.alert) == ("judge@abc", True)
    assert got.body == report.body  # the --json body, untouched
    assert got == StoredDriftReport(
        window_start=T0,
        window_end=report.window_end,
        judge_version=report.judge_version,
        alert=report.alert,
        body=report.body,
        report_id=report_id,
        created_at=got.created_at,
    )


def test_the_stored_columns_come_from_the_record_not_from_the_body(store):
    """The store takes the window, judge and alert as fields: a body that disagrees (or
    has no ``window`` at all) is kept as it is, never parsed."""
    store.reports.add_drift_report(
        _drift(alert=False, body={"window": "not a window", "alert": True}), []
    )
    store.reports.add_drift_report(_drift(judge_version="j2", body={}), [])

    newest, oldest = store.reports.drift_reports()

    assert (newest.judge_version, newest.body) == ("j2", {})
    assert oldest.alert is False and oldest.body == {"window": "not a window", "alert": True}
    assert oldest.window_start == T0


def test_drift_reports_are_newest_first_and_limited(store):
    ids = [store.reports.add_drift_report(_drift(judge_version=f"j{i}"), []) for i in range(3)]

    listed = store.reports.drift_reports(limit=2)

    assert [r.judge_version for r in listed] == ["j2", "j1"]
    assert {r.report_id for r in listed} <= set(ids)


def test_a_comparison_round_trips_typed(store):
    body = {
        "comparison_id": "cmp-1",
        "dataset_id": "golden@abc",
        "run_a": "r-a",
        "run_b": "r-b",
        "n_pairs": 28,
        "ci": [-0.2, 0.06],
        "verdict": "no significant difference",
        "note": HOSTILE,
    }
    comparison = StoredComparison(
        comparison_id="cmp-1",
        dataset_id="golden@abc",
        run_a="r-a",
        run_b="r-b",
        verdict="no significant difference",
        body=body,
    )
    assert store.reports.add_comparison(comparison) == "cmp-1"
    store.reports.add_comparison(
        StoredComparison(
            comparison_id="cmp-2",
            dataset_id="golden@def",
            run_a="r-c",
            run_b="r-d",
            verdict="B wins",
            body={},
        )
    )

    newest, first = store.reports.comparisons()

    assert (newest.comparison_id, newest.verdict, newest.body) == ("cmp-2", "B wins", {})
    assert first.created_at is not None and first.created_at.tzinfo is UTC
    assert first == StoredComparison(
        comparison_id="cmp-1",
        dataset_id="golden@abc",
        run_a="r-a",
        run_b="r-b",
        verdict="no significant difference",
        body=body,
        created_at=first.created_at,
    )
    assert [c.comparison_id for c in store.reports.comparisons(limit=1)] == ["cmp-2"]


@pytest.fixture
def raw(store_url: str) -> Iterator[Engine]:
    """A plain engine on the store's database, to write rows as an older version did."""
    open_store(store_url).close()
    engine = create_engine(parse_store_url(store_url).url)
    yield engine
    engine.dispose()


OLD_SUMMARY = (
    '{"n":2,"passed":1,"failed":1,"errored":0,"pass_rate":0.5,"pass_rate_ci":[0.09,0.91],'
    '"locks_failed":[],"new_failures":["c1"],"flaky":[],"reasons":["1 new failure(s)"],'
    '"stats":{"asked":2,"target_errors":0,"judge_errors":0,"cache_hits":0,'
    '"judge_cache_hits":0,"retries":0,"seconds":0.1}}'
)
"""A ``runs.summary`` as ``evaluation._summary`` wrote it before the summary was typed."""


def test_summary_rows_of_earlier_versions_still_read(store_url, raw, make_run):
    with open_store(store_url) as store:
        for run_id in ("old", "arm", "running"):
            store.runs.create(make_run(run_id))
    with raw.begin() as conn:
        update = text("UPDATE runs SET summary = :summary, status = 'complete' WHERE run_id = :id")
        conn.execute(update, {"summary": OLD_SUMMARY, "id": "old"})
        conn.execute(update, {"summary": '{"ab":"cmp-1"}', "id": "arm"})  # an old A/B arm

    with open_store(store_url) as store:
        old = store.runs.get("old").summary
        assert old is not None
        assert (old.n, old.passed, old.failed, old.pass_rate) == (2, 1, 1, 0.5)
        assert old.pass_rate_ci == (0.09, 0.91) and old.new_failures == ("c1",)
        assert old.reasons == ("1 new failure(s)",) and old.warnings == ()
        assert (old.stats.asked, old.stats.seconds) == (2, 0.1)
        assert store.runs.get("arm").summary is None
        assert store.runs.get("running").summary is None  # created with ``{}``


def test_drift_report_rows_of_earlier_versions_still_read(store_url, raw):
    """Before the reports were typed, the body was written by plain ``orjson.dumps`` into
    the same text column; those rows read back as records."""

    def at(when: datetime) -> object:  # as UTCDateTime binds it: SQLite has no zones
        return when.strftime("%Y-%m-%d %H:%M:%S.%f") if raw.dialect.name == "sqlite" else when

    with raw.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO drift_reports (report_id, created_at, window_start, window_end,"
                " judge_version, alert, report) VALUES ('d-old', :at, :at, :end, 'j', :no, :body)"
            ),
            {
                "at": at(T0),
                "end": at(T0 + timedelta(days=1)),
                "no": False,
                "body": '{"window":"2026-10-04T09:00:00Z..2026-10-05T09:00:00Z","mean_ci":[3.4,3.7]}',
            },
        )
    with open_store(store_url) as store:
        (got,) = store.reports.drift_reports()
    assert got.report_id == "d-old" and got.created_at == T0 and got.window_start == T0
    assert got.window_end == T0 + timedelta(days=1) and got.alert is False
    assert got.body == {
        "window": "2026-10-04T09:00:00Z..2026-10-05T09:00:00Z",
        "mean_ci": [3.4, 3.7],
    }
