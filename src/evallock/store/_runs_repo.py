"""The run repository (``store.runs``): runs and their append-only eval records.

A second record for the same ``(run_id, case_id, trial)`` is refused, never
merged, and the error names the first record that repeats one. The statements
are in ``_runs.py`` and ``_codec.py``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import get_args

from sqlalchemy.exc import IntegrityError

from evallock.errors import StoreError
from evallock.records import EvalRecord, Run, RunStatus, RunSummary
from evallock.store import _runs
from evallock.store._codec import RecordKeyColumns, record_from_row, record_to_row, run_to_row
from evallock.store._database import Database
from evallock.store._runs import PAGE_SIZE
from evallock.store._schema import eval_records, runs
from evallock.times import utc_now

__all__ = ["RunRepository"]

_STATUSES = frozenset(get_args(RunStatus))
_VERDICTS = frozenset({None, "pass", "fail"})
_INSERT_RUN = runs.insert()
_INSERT_RECORDS = eval_records.insert()


class RunRepository:
    """Runs and their eval records."""

    def __init__(self, db: Database) -> None:
        """Work on ``db``."""
        self._db = db

    def create(self, run: Run) -> None:
        """Record a new run.

        Raises:
            ValueError: a naive ``started_at`` or ``finished_at``.
            StoreError: a run with this id exists already, or the write failed.
        """
        with self._db.write(f"cannot create run {run.run_id!r}") as conn:
            conn.execute(_INSERT_RUN, run_to_row(run))

    def finish(
        self,
        run_id: str,
        *,
        status: str,
        verdict: str | None,
        summary: RunSummary | None,
        baseline_run_id: str | None,
        finished_at: datetime,
    ) -> None:
        """Set a run's outcome: status, verdict, summary, baseline and finish time.

        Raises:
            ValueError: an unknown status or verdict, or a naive ``finished_at``.
            StoreError: no such run, or the write failed.
        """
        if status not in _STATUSES:
            raise ValueError(f"status {status!r}: expected one of {sorted(_STATUSES)}")
        if verdict not in _VERDICTS:
            raise ValueError(f"verdict {verdict!r}: expected 'pass', 'fail' or None")
        if finished_at.utcoffset() is None:
            raise ValueError("finished_at is a naive datetime; pass a timezone-aware (UTC) time")
        values = {
            "status": status,
            "verdict": verdict,
            "summary": summary.to_json() if summary is not None else {},
            "baseline_run_id": baseline_run_id,
            "finished_at": finished_at,
        }
        action = f"cannot finish run {run_id!r}"
        with self._db.write(action) as conn:
            if not _runs.finish_run(conn, run_id, values):
                raise self._db.failure(action, "no such run")

    def get(self, run_id: str) -> Run | None:
        """The run with this id, or None."""
        with self._db.read(f"cannot read run {run_id!r}") as conn:
            return _runs.get_run(conn, run_id)

    def find(
        self,
        *,
        dataset_name: str | None = None,
        target_id: str | None = None,
        status: str | None = None,
        limit: int | None = None,
    ) -> list[Run]:
        """Runs matching every given filter, newest first."""
        with self._db.read("cannot list runs") as conn:
            return _runs.list_runs(
                conn, dataset_name=dataset_name, target_id=target_id, status=status, limit=limit
            )

    def last_passing(
        self,
        dataset_name: str,
        target_id: str,
        *,
        exclude_run_id: str | None = None,
        keys: Mapping[str, str] | None = None,
    ) -> Run | None:
        """The newest complete gate run of this dataset and target whose verdict was
        ``pass`` (and whose keys include ``keys``)."""
        with self._db.read("cannot look up the last passing run") as conn:
            return _runs.last_passing_run(conn, dataset_name, target_id, exclude_run_id, keys)

    def add_records(self, records: Sequence[EvalRecord]) -> None:
        """Append records in one transaction: all of them are written, or none.

        Records without ``created_at`` get the time of this call.

        Raises:
            ValueError: a naive ``created_at``.
            StoreError: a record repeats a stored ``(run_id, case_id, trial)``, names a
                run that does not exist, or the write failed.
        """
        if not records:
            return
        now = utc_now()
        key_columns = RecordKeyColumns()
        rows = [record_to_row(record, now, key_columns) for record in records]
        action = f"cannot add {len(rows)} records"
        try:
            with self._db.write(action) as conn:
                conn.execute(_INSERT_RECORDS, rows)
        except StoreError as exc:
            clash = (
                self._first_clash(records) if isinstance(exc.__cause__, IntegrityError) else None
            )
            if clash is None:
                raise
            raise self._db.failure(
                action,
                f"run {clash[0]!r} case {clash[1]!r} trial {clash[2]} is already stored "
                "(records are append-only)",
            ) from exc.__cause__

    def iter_records(self, run_id: str) -> Iterator[EvalRecord]:
        """A run's records in insertion order, fetched a page at a time.

        No connection is held between pages, so a slow consumer blocks nobody.
        """
        after = 0
        while True:
            with self._db.read(f"cannot read records of run {run_id!r}") as conn:
                page = _runs.record_page(conn, run_id, after)
            for row in page:
                yield record_from_row(row)
            if len(page) < PAGE_SIZE:
                return
            after = page[-1].id

    def records_of_cases(self, run_id: str, case_ids: Sequence[str]) -> list[EvalRecord]:
        """A run's records of these cases (every trial), in no particular order.

        How results are read for a file of any size: a block of cases at a time.
        """
        with self._db.read(f"cannot read records of run {run_id!r}") as conn:
            return _runs.records_of_cases(conn, run_id, case_ids)

    def count_records(self, run_id: str) -> int:
        """How many trial records a run has."""
        with self._db.read(f"cannot count records of run {run_id!r}") as conn:
            return _runs.count_records(conn, run_id)

    def completed_trials(
        self, run_id: str, case_ids: Sequence[str] | None = None
    ) -> set[tuple[str, int]]:
        """``(case_id, trial)`` pairs already recorded for a run (what ``--resume`` skips).

        With ``case_ids``, only those cases' pairs: how a resume reads them a block at a time.
        """
        with self._db.read(f"cannot read records of run {run_id!r}") as conn:
            return _runs.completed_trials(conn, run_id, case_ids)

    def _first_clash(self, records: Sequence[EvalRecord]) -> tuple[str, str, int] | None:
        # Only on the failure path: name the record that broke the uniqueness rule.
        seen: set[tuple[str, str, int]] = set()
        stored: dict[str, set[tuple[str, int]]] = {}
        for r in records:
            ident = (r.run_id, r.case_id, r.trial)
            if r.run_id not in stored:
                stored[r.run_id] = self.completed_trials(r.run_id)
            if ident in seen or (r.case_id, r.trial) in stored[r.run_id]:
                return ident
            seen.add(ident)
        return None
