"""Drift queries and stored reports: window selection, key counts, reports with their samples.

Window selection reads only ``trace_id`` (and the stratum column) through the
``timestamp`` index with the driver's own cursor: it runs over a million traces,
and the sampling that follows happens in Python, where the hash is stable.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from evallock.keys import SHARED_KEYS
from evallock.records import StoredComparison, StoredDriftReport, Trace, TraceJudgement
from evallock.store._schema import comparisons, drift_reports, drift_samples, traces
from evallock.store._traces import _trace_from_row

__all__ = [
    "add_comparison",
    "add_drift_report",
    "count_traces_by",
    "get_traces",
    "list_comparisons",
    "list_drift_reports",
    "window_trace_ids",
]

_SHARED = frozenset(SHARED_KEYS)
_IN_CHUNK = 500


def _column(key: str) -> Any:
    if key not in _SHARED:
        raise ValueError(f"{key!r} is not a shared key (known: {', '.join(SHARED_KEYS)})")
    return traces.c[key]


def window_trace_ids(
    conn: Connection,
    *,
    since: datetime,
    until: datetime,
    key: str | None,
    sessions: bool = False,
) -> list[tuple[str, str | None]]:
    """Every trace id in ``[since, until)`` with the value of ``key`` (None without a key).

    With ``sessions``, one trace a session: its newest in the window (a trace without a
    session stands for itself), so a sample of them is a sample of conversations.
    """
    stratum = _column(key) if key else None
    columns = [traces.c.trace_id] + ([stratum] if stratum is not None else [])
    if sessions:
        columns += [traces.c.session_id, traces.c.timestamp]
    query = select(*columns).where(traces.c.timestamp >= since, traces.c.timestamp < until)
    result = conn.execute(query)
    if not sessions:
        if stratum is None:
            return [(row[0], None) for row in result]
        return [(row[0], row[1]) for row in result]
    newest: dict[str, tuple[Any, str, str | None]] = {}
    alone: list[tuple[str, str | None]] = []
    for row in result:
        trace_id, value = row[0], row[1] if stratum is not None else None
        session, at = row[-2], row[-1]
        if session is None:
            alone.append((trace_id, value))
            continue
        seen = newest.get(session)
        if seen is None or (at, trace_id) > (seen[0], seen[1]):
            newest[session] = (at, trace_id, value)
    return alone + [(trace_id, value) for _, trace_id, value in newest.values()]


def get_traces(conn: Connection, trace_ids: Sequence[str]) -> list[Trace]:
    """The traces with these ids, in the order given (missing ones are skipped)."""
    found: dict[str, Trace] = {}
    for start in range(0, len(trace_ids), _IN_CHUNK):
        chunk = list(trace_ids[start : start + _IN_CHUNK])
        for row in conn.execute(select(traces).where(traces.c.trace_id.in_(chunk))):
            trace = _trace_from_row(row)
            found[trace.trace_id] = trace
    return [found[t] for t in trace_ids if t in found]


def count_traces_by(
    conn: Connection, key: str, *, since: datetime, until: datetime
) -> dict[str, int]:
    """Traces per value of a shared key in a window (``(none)`` for no value)."""
    column = _column(key)
    query = (
        select(column, func.count())
        .where(traces.c.timestamp >= since, traces.c.timestamp < until)
        .group_by(column)
    )
    return {(value if value is not None else "(none)"): int(n) for value, n in conn.execute(query)}


def add_drift_report(
    conn: Connection, report: StoredDriftReport, samples: Sequence[tuple[str, int | None, str]]
) -> str:
    """Store a drift report and its judged sample in one transaction; returns its id."""
    report_id = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
    conn.execute(
        drift_reports.insert(),
        {
            "report_id": report_id,
            "created_at": datetime.now(UTC),
            "window_start": report.window_start,
            "window_end": report.window_end,
            "judge_version": report.judge_version,
            "alert": report.alert,
            "report": report.body,
        },
    )
    if samples:
        conn.execute(
            drift_samples.insert(),
            [
                {"report_id": report_id, "trace_id": t, "score": s, "reason": r[:2000]}
                for t, s, r in dict.fromkeys(samples)
            ],
        )
    return report_id


_JUDGED = select(drift_samples, drift_reports.c.created_at, drift_reports.c.judge_version).join(
    drift_reports, drift_reports.c.report_id == drift_samples.c.report_id
)
"""Judged samples with the time and judge of their report."""


def _judgements(conn: Connection, query: Any) -> list[TraceJudgement]:
    return [
        TraceJudgement(
            trace_id=row.trace_id,
            report_id=row.report_id,
            judged_at=row.created_at,
            judge_version=row.judge_version,
            score=row.score,
            reason=row.reason or "",
        )
        for row in conn.execute(query)
    ]


def trace_judgements(conn: Connection, trace_id: str, *, limit: int) -> list[TraceJudgement]:
    """The drift judge's verdicts on one trace, newest first."""
    query = (
        _JUDGED.where(drift_samples.c.trace_id == trace_id)
        .order_by(drift_reports.c.created_at.desc(), drift_samples.c.report_id.desc())
        .limit(limit)
    )
    return _judgements(conn, query)


def list_drift_reports(
    conn: Connection, *, limit: int = 50, report_id: str | None = None
) -> list[StoredDriftReport]:
    """Stored drift reports, newest first, each with its id and time (one, by id)."""
    query = select(drift_reports).order_by(drift_reports.c.created_at.desc()).limit(limit)
    if report_id is not None:
        query = query.where(drift_reports.c.report_id == report_id)
    return [
        StoredDriftReport(
            report_id=row.report_id,
            created_at=row.created_at,
            window_start=row.window_start,
            window_end=row.window_end,
            judge_version=row.judge_version,
            alert=row.alert,
            body=row.report,
        )
        for row in conn.execute(query)
    ]


def report_samples(
    conn: Connection, report_id: str, *, max_score: int | None, limit: int
) -> list[TraceJudgement]:
    """A drift report's judged traces, lowest score first (unusable replies first of all)."""
    query = (
        _JUDGED.where(drift_samples.c.report_id == report_id)
        .order_by(
            drift_samples.c.score.is_not(None), drift_samples.c.score, drift_samples.c.trace_id
        )
        .limit(limit)
    )
    if max_score is not None:
        query = query.where(drift_samples.c.score <= max_score)
    return _judgements(conn, query)


def add_comparison(conn: Connection, report: StoredComparison) -> str:
    """Store an A/B comparison (its columns, and the JSON of ``evallock ab``); its id."""
    conn.execute(
        comparisons.insert(),
        {
            "comparison_id": report.comparison_id,
            "created_at": datetime.now(UTC),
            "dataset_id": report.dataset_id,
            "run_a": report.run_a,
            "run_b": report.run_b,
            "verdict": report.verdict,
            "report": report.body,
        },
    )
    return report.comparison_id


def list_comparisons(
    conn: Connection, *, limit: int = 50, comparison_id: str | None = None
) -> list[StoredComparison]:
    """Stored comparisons, newest first, each with its time (one, by id)."""
    query = select(comparisons).order_by(comparisons.c.created_at.desc()).limit(limit)
    if comparison_id is not None:
        query = query.where(comparisons.c.comparison_id == comparison_id)
    return [
        StoredComparison(
            comparison_id=row.comparison_id,
            created_at=row.created_at,
            dataset_id=row.dataset_id,
            run_a=row.run_a,
            run_b=row.run_b,
            verdict=row.verdict,
            body=row.report,
        )
        for row in conn.execute(query)
    ]
