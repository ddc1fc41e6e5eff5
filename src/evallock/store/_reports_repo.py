"""The report repository (``store.reports``): drift reports with their samples, A/B comparisons.

Each report is a typed record (the columns the store indexes: window, judge
version, alert; or dataset, runs, verdict) with the JSON the command printed as
its body, read back newest first as the same record with its id and time (the
statements are in ``_drift.py``). How a report is shown is the reader's business.
A drift report's judged sample is kept beside it, where candidate signals find
low judge scores.
"""

from __future__ import annotations

from collections.abc import Sequence

from evallock.records import StoredComparison, StoredDriftReport, TraceJudgement
from evallock.store import _drift
from evallock.store._database import Database, check_page

__all__ = ["ReportRepository"]


class ReportRepository:
    """What ``evallock drift`` and ``evallock ab`` concluded."""

    def __init__(self, db: Database) -> None:
        """Work on ``db``."""
        self._db = db

    def add_drift_report(
        self, report: StoredDriftReport, samples: Sequence[tuple[str, int | None, str]]
    ) -> str:
        """Store a drift report with its judged sample ``(trace_id, score, reason)``; its id."""
        with self._db.write("cannot store the drift report") as conn:
            return _drift.add_drift_report(conn, report, samples)

    def drift_reports(self, *, limit: int = 50) -> list[StoredDriftReport]:
        """Stored drift reports, newest first, each with its id and time."""
        with self._db.read("cannot read drift reports") as conn:
            return _drift.list_drift_reports(conn, limit=limit)

    def drift_report(self, report_id: str) -> StoredDriftReport | None:
        """One stored drift report, or None."""
        with self._db.read(f"cannot read drift report {report_id!r}") as conn:
            found = _drift.list_drift_reports(conn, limit=1, report_id=report_id)
        return found[0] if found else None

    def samples(
        self, report_id: str, *, max_score: int | None = None, limit: int = 500
    ) -> list[TraceJudgement]:
        """The traces a drift report judged, with score and reason: lowest score first
        (replies that could not be used first of all), at most ``max_score`` when given."""
        check_page(limit, 0)
        with self._db.read(f"cannot read the samples of drift report {report_id!r}") as conn:
            return _drift.report_samples(conn, report_id, max_score=max_score, limit=limit)

    def judgements(self, trace_id: str, *, limit: int = 20) -> list[TraceJudgement]:
        """The drift judge's verdicts on one trace (score and reason), newest first."""
        with self._db.read("cannot read the trace's judge scores") as conn:
            return _drift.trace_judgements(conn, trace_id, limit=limit)

    def add_comparison(self, report: StoredComparison) -> str:
        """Store an A/B comparison (its columns and the JSON of ``evallock ab``); its id."""
        with self._db.write("cannot store the comparison") as conn:
            return _drift.add_comparison(conn, report)

    def comparison(self, comparison_id: str) -> StoredComparison | None:
        """One stored A/B comparison, or None."""
        with self._db.read(f"cannot read comparison {comparison_id!r}") as conn:
            found = _drift.list_comparisons(conn, limit=1, comparison_id=comparison_id)
        return found[0] if found else None

    def comparisons(self, *, limit: int = 50) -> list[StoredComparison]:
        """Stored comparisons, newest first, each with its time."""
        with self._db.read("cannot read comparisons") as conn:
            return _drift.list_comparisons(conn, limit=limit)
