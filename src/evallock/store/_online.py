"""Statements of online evaluation: the inbox, the scores, the daily spend."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.engine import Connection

from evallock.records import OnlineScore, Trace
from evallock.store._engine import insert_or_ignore
from evallock.store._schema import (
    online_alerts,
    online_inbox,
    online_monitors,
    online_scores,
    online_usage,
    traces,
)
from evallock.store._traces import _trace_from_row
from evallock.times import utc_now

__all__ = [
    "add_alerts",
    "add_scores",
    "add_usage",
    "claim_inbox",
    "drop_from_inbox",
    "enqueue",
    "inbox_depth",
    "list_alerts",
    "list_scores",
    "monitor_state",
    "save_monitor",
    "score_counts",
    "slice_counts",
    "unscored_traces",
    "usage_of",
]

_IN_CHUNK = 500


def enqueue(conn: Connection, trace_ids: Sequence[str], received_at: datetime) -> None:
    """Put trace ids in the inbox (an id already there keeps its place)."""
    if trace_ids:
        rows = [{"trace_id": t, "received_at": received_at} for t in trace_ids]
        conn.execute(insert_or_ignore(conn.dialect.name, online_inbox), rows)


def claim_inbox(conn: Connection, *, settled_before: datetime, limit: int) -> list[str]:
    """The oldest trace ids that arrived before ``settled_before``, oldest first."""
    stmt = (
        select(online_inbox.c.trace_id)
        .where(online_inbox.c.received_at < settled_before)
        .order_by(online_inbox.c.received_at, online_inbox.c.trace_id)
        .limit(limit)
    )
    return [row.trace_id for row in conn.execute(stmt)]


def drop_from_inbox(conn: Connection, trace_ids: Sequence[str]) -> None:
    """Take evaluated trace ids out of the inbox."""
    for start in range(0, len(trace_ids), _IN_CHUNK):
        chunk = list(trace_ids[start : start + _IN_CHUNK])
        conn.execute(delete(online_inbox).where(online_inbox.c.trace_id.in_(chunk)))


def inbox_depth(conn: Connection) -> tuple[int, datetime | None]:
    """How many traces wait, and when the oldest arrived."""
    row = conn.execute(select(func.count(), func.min(online_inbox.c.received_at))).one()
    return int(row[0]), row[1]


def add_scores(conn: Connection, scores: Sequence[OnlineScore]) -> None:
    """Store verdicts; a trace an evaluator already has a verdict on keeps the first."""
    if scores:
        rows = [
            {
                "evaluator": s.evaluator,
                "trace_id": s.trace_id,
                "scored_at": s.scored_at,
                "status": s.status,
                "version": s.version,
                "score": s.score,
                "judge_score": s.judge_score,
                "passed": s.passed,
                "reason": s.reason,
            }
            for s in scores
        ]
        conn.execute(insert_or_ignore(conn.dialect.name, online_scores), rows)


def add_usage(
    conn: Connection, evaluator: str, day: str, *, calls: int, tokens: int, cost: float
) -> None:
    """Add to an evaluator's spend on ``day`` (``YYYY-MM-DD``, UTC)."""
    if not (calls or tokens or cost):
        return
    conn.execute(
        insert_or_ignore(conn.dialect.name, online_usage),
        [{"evaluator": evaluator, "day": day, "calls": 0, "tokens": 0, "cost": 0.0}],
    )
    c = online_usage.c
    conn.execute(
        update(online_usage)
        .where(c.evaluator == evaluator, c.day == day)
        .values(calls=c.calls + calls, tokens=c.tokens + tokens, cost=c.cost + cost)
    )


def usage_of(conn: Connection, evaluator: str, day: str) -> tuple[int, int, float]:
    """``(calls, tokens, cost)`` an evaluator spent on ``day``."""
    c = online_usage.c
    row = conn.execute(
        select(c.calls, c.tokens, c.cost).where(c.evaluator == evaluator, c.day == day)
    ).first()
    return (0, 0, 0.0) if row is None else (int(row.calls), int(row.tokens), float(row.cost))


def unscored_traces(
    conn: Connection,
    evaluator: str,
    *,
    since: datetime,
    until: datetime,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[Trace]:
    """Traces started in ``[since, until)`` with no verdict of ``evaluator``, in
    (timestamp, trace id) order after ``after``: a page of a backfill."""
    scored = (
        select(online_scores.c.trace_id)
        .where(
            online_scores.c.evaluator == evaluator, online_scores.c.trace_id == traces.c.trace_id
        )
        .exists()
    )
    stmt = (
        select(traces)
        .where(traces.c.timestamp >= since, traces.c.timestamp < until, ~scored)
        .order_by(traces.c.timestamp, traces.c.trace_id)
        .limit(limit)
    )
    if after is not None:
        at, trace_id = after
        stmt = stmt.where(
            or_(
                traces.c.timestamp > at,
                and_(traces.c.timestamp == at, traces.c.trace_id > trace_id),
            )
        )
    return [_trace_from_row(row) for row in conn.execute(stmt)]


def list_scores(
    conn: Connection,
    *,
    evaluator: str | None = None,
    trace_id: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[OnlineScore]:
    """Verdicts, newest first."""
    c = online_scores.c
    stmt = select(online_scores).order_by(c.scored_at.desc(), c.trace_id).limit(limit)
    if evaluator is not None:
        stmt = stmt.where(c.evaluator == evaluator)
    if trace_id is not None:
        stmt = stmt.where(c.trace_id == trace_id)
    if since is not None:
        stmt = stmt.where(c.scored_at >= since)
    return [_score_from_row(row) for row in conn.execute(stmt)]


def score_counts(
    conn: Connection, evaluator: str, *, since: datetime | None = None
) -> dict[str, Any]:
    """Per status: how many; and the scored ones' sum and sum of squares (a mean and its SE)."""
    c = online_scores.c
    stmt = (
        select(c.status, func.count(), func.sum(c.score), func.sum(c.score * c.score))
        .where(c.evaluator == evaluator)
        .group_by(c.status)
    )
    if since is not None:
        stmt = stmt.where(c.scored_at >= since)
    found: dict[str, Any] = {"scored": 0, "error": 0, "skipped": 0, "sum": 0.0, "sum_sq": 0.0}
    for status, n, total, squares in conn.execute(stmt):
        found[status] = int(n)
        if status == "scored":
            found["sum"], found["sum_sq"] = float(total or 0.0), float(squares or 0.0)
    return found


def _score_from_row(row: Any) -> OnlineScore:
    return OnlineScore(
        evaluator=row.evaluator,
        trace_id=row.trace_id,
        scored_at=row.scored_at,
        status=row.status,
        version=row.version,
        score=row.score,
        judge_score=row.judge_score,
        passed=row.passed,
        reason=row.reason,
    )


def save_monitor(conn: Connection, evaluator: str, state: dict[str, Any]) -> None:
    """Write an evaluator's drift chart (replacing the one stored)."""
    now = utc_now()
    conn.execute(delete(online_monitors).where(online_monitors.c.evaluator == evaluator))
    conn.execute(
        online_monitors.insert(), [{"evaluator": evaluator, "state": state, "updated_at": now}]
    )


def monitor_state(conn: Connection, evaluator: str) -> dict[str, Any] | None:
    """An evaluator's stored drift chart."""
    row = conn.execute(
        select(online_monitors.c.state).where(online_monitors.c.evaluator == evaluator)
    ).first()
    return None if row is None else dict(row.state)


def add_alerts(conn: Connection, alerts: Sequence[tuple[str, datetime, dict[str, Any]]]) -> None:
    """Store drift alarms."""
    if alerts:
        conn.execute(
            online_alerts.insert(),
            [{"evaluator": name, "at": at, "detail": detail} for name, at, detail in alerts],
        )


def list_alerts(
    conn: Connection, *, evaluator: str | None, limit: int
) -> list[tuple[str, datetime, dict[str, Any]]]:
    """Drift alarms, newest first."""
    c = online_alerts.c
    stmt = select(c.evaluator, c.at, c.detail).order_by(c.at.desc(), c.id.desc()).limit(limit)
    if evaluator is not None:
        stmt = stmt.where(c.evaluator == evaluator)
    return [(row.evaluator, row.at, dict(row.detail)) for row in conn.execute(stmt)]


def slice_counts(conn: Connection, evaluator: str, key: Any, *, since: datetime) -> dict[str, int]:
    """An evaluator's verdicts since ``since`` per value of a trace key expression."""
    stmt = (
        select(key, func.count())
        .select_from(online_scores.join(traces, traces.c.trace_id == online_scores.c.trace_id))
        .where(online_scores.c.evaluator == evaluator, online_scores.c.scored_at >= since)
        .group_by(key)
    )
    return {("" if value is None else str(value)): int(n) for value, n in conn.execute(stmt)}
