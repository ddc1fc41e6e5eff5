"""Runs and eval records: the statements and queries behind ``store.runs``.

Each function takes an open connection; the repository owns transactions and turns
database errors into :class:`evallock.errors.StoreError`. Sets of cases are read
with ``IN (...)`` lists of at most 500 ids, well under SQLite's parameter limit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.engine import Connection

from evallock.records import EvalRecord, Run
from evallock.store._codec import record_from_row, run_from_row
from evallock.store._schema import eval_records, runs

__all__ = [
    "PAGE_SIZE",
    "completed_trials",
    "count_records",
    "finish_run",
    "get_run",
    "last_passing_run",
    "list_runs",
    "record_page",
    "records_of_cases",
]

PAGE_SIZE: Final = 1000
"""Rows fetched per query when streaming a run's records."""
IN_CHUNK: Final = 500
"""Bound parameters per ``IN (...)``."""

_GET_RUN = select(runs).where(runs.c.run_id == bindparam("run_id"))
_RECORD_PAGE = (
    select(eval_records)
    .where(eval_records.c.run_id == bindparam("run_id"), eval_records.c.id > bindparam("after"))
    .order_by(eval_records.c.id)
    .limit(PAGE_SIZE)
)
_COMPLETED = select(eval_records.c.case_id, eval_records.c.trial).where(
    eval_records.c.run_id == bindparam("run_id")
)
_COMPLETED_OF = _COMPLETED.where(eval_records.c.case_id.in_(bindparam("case_ids", expanding=True)))
_RECORDS_OF = select(eval_records).where(
    eval_records.c.run_id == bindparam("run_id"),
    eval_records.c.case_id.in_(bindparam("case_ids", expanding=True)),
)
_COUNT_RECORDS = (
    select(func.count())
    .select_from(eval_records)
    .where(eval_records.c.run_id == bindparam("run_id"))
)


def finish_run(conn: Connection, run_id: str, values: dict[str, Any]) -> bool:
    """Set a run's outcome columns; False when there is no such run."""
    stmt = update(runs).where(runs.c.run_id == run_id).values(**values)
    return bool(conn.execute(stmt).rowcount == 1)


def get_run(conn: Connection, run_id: str) -> Run | None:
    """The run with this id, or None."""
    row = conn.execute(_GET_RUN, {"run_id": run_id}).first()
    return None if row is None else run_from_row(row)


def list_runs(
    conn: Connection,
    *,
    dataset_name: str | None,
    target_id: str | None,
    status: str | None,
    limit: int | None,
) -> list[Run]:
    """Runs matching every given filter, newest first."""
    stmt = select(runs).order_by(runs.c.started_at.desc(), runs.c.run_id.desc())
    if dataset_name is not None:
        stmt = stmt.where(runs.c.dataset_name == dataset_name)
    if target_id is not None:
        stmt = stmt.where(runs.c.target_id == target_id)
    if status is not None:
        stmt = stmt.where(runs.c.status == status)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [run_from_row(row) for row in conn.execute(stmt)]


def last_passing_run(
    conn: Connection,
    dataset_name: str,
    target_id: str,
    exclude_run_id: str | None,
    keys: Mapping[str, str] | None = None,
) -> Run | None:
    """The newest complete *gate* run of this dataset and target whose verdict was ``pass``
    (and whose keys include ``keys``, e.g. ``branch=main``).

    A run's kind and keys live in JSON, so the newest passes are read a page at a time,
    newest first, and the first that qualifies is taken (experiment runs never baseline);
    at most :data:`_PASS_PAGES` pages are read.
    """
    wanted = dict(keys or {})
    stmt = (
        select(runs)
        .where(
            runs.c.dataset_name == dataset_name,
            runs.c.target_id == target_id,
            runs.c.status == "complete",
            runs.c.verdict == "pass",
        )
        .order_by(runs.c.started_at.desc(), runs.c.run_id.desc())
        .limit(_PASS_PAGE)
    )
    if exclude_run_id is not None:
        stmt = stmt.where(runs.c.run_id != exclude_run_id)
    page = stmt
    for _ in range(_PASS_PAGES):
        rows = list(conn.execute(page))
        for row in rows:
            run = run_from_row(row)
            if run.kind == "gate" and all(run.keys.get(k) == v for k, v in wanted.items()):
                return run
        if len(rows) < _PASS_PAGE or not wanted:
            return None
        last = rows[-1]
        page = stmt.where(
            or_(
                runs.c.started_at < last.started_at,
                and_(runs.c.started_at == last.started_at, runs.c.run_id < last.run_id),
            )
        )
    return None


_PASS_PAGE = 200
"""Passing runs read at a time, looking for the newest gate run among them."""
_PASS_PAGES = 50
"""Pages read at most when the baseline must carry given keys (10,000 passing runs)."""


def record_page(conn: Connection, run_id: str, after: int) -> list[Any]:
    """Up to :data:`PAGE_SIZE` record rows of a run with ``id > after``, by id."""
    return list(conn.execute(_RECORD_PAGE, {"run_id": run_id, "after": after}).all())


def records_of_cases(conn: Connection, run_id: str, case_ids: Sequence[str]) -> list[EvalRecord]:
    """A run's records of these cases (every trial), in no particular order."""
    found: list[EvalRecord] = []
    for start in range(0, len(case_ids), IN_CHUNK):
        params = {"run_id": run_id, "case_ids": list(case_ids[start : start + IN_CHUNK])}
        found += (record_from_row(row) for row in conn.execute(_RECORDS_OF, params))
    return found


def count_records(conn: Connection, run_id: str) -> int:
    """How many trial records a run has."""
    return int(conn.execute(_COUNT_RECORDS, {"run_id": run_id}).scalar_one())


def completed_trials(
    conn: Connection, run_id: str, case_ids: Sequence[str] | None
) -> set[tuple[str, int]]:
    """``(case_id, trial)`` pairs recorded for a run, or for only these cases."""
    if case_ids is None:
        return {(row.case_id, row.trial) for row in conn.execute(_COMPLETED, {"run_id": run_id})}
    done: set[tuple[str, int]] = set()
    for start in range(0, len(case_ids), IN_CHUNK):
        params = {"run_id": run_id, "case_ids": list(case_ids[start : start + IN_CHUNK])}
        done.update((row.case_id, row.trial) for row in conn.execute(_COMPLETED_OF, params))
    return done
