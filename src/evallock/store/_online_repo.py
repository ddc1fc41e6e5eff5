"""The online repository (``store.online``): the inbox of traces to evaluate, the verdicts,
and what each evaluator spent.

The worker of ``evallock serve`` takes settled trace ids from the inbox, evaluates them
and then, in one transaction, stores the verdicts, the spend and takes the ids out of the
inbox: a crash before that commit leaves the ids in the inbox (evaluated again, the
judge's verdicts coming from its cache), one after it leaves nothing to redo. A trace has
at most one verdict per evaluator.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select

from evallock.limits import MAX_ID, check_text
from evallock.records import OnlineScore, Trace
from evallock.store import _online
from evallock.store._database import Database, check_page
from evallock.store._schema import online_rules
from evallock.times import utc_now

__all__ = ["OnlineRepository", "Spend"]

Spend = tuple[str, str, int, int, float]
"""``(evaluator, day, calls, tokens, cost)``: spend to add."""


class OnlineRepository:
    """What online evaluators work from and leave behind."""

    def __init__(self, db: Database) -> None:
        """Work on ``db``."""
        self._db = db

    def settled(self, *, before: datetime, limit: int) -> list[str]:
        """Trace ids waiting in the inbox that arrived before ``before``, oldest first."""
        check_page(limit, 0)
        with self._db.read("cannot read the evaluation inbox") as conn:
            return _online.claim_inbox(conn, settled_before=before, limit=limit)

    def finish(
        self,
        trace_ids: Sequence[str],
        scores: Sequence[OnlineScore],
        spend: Sequence[Spend] = (),
        monitors: Mapping[str, dict[str, Any]] | None = None,
        alerts: Sequence[tuple[str, datetime, dict[str, Any]]] = (),
    ) -> None:
        """Store verdicts, spend, drift charts (evaluator → state) and their alarms, and take
        ``trace_ids`` out of the inbox: one transaction."""
        with self._db.write(f"cannot store {len(scores)} online verdicts") as conn:
            _online.add_scores(conn, scores)
            for evaluator, day, calls, tokens, cost in spend:
                _online.add_usage(conn, evaluator, day, calls=calls, tokens=tokens, cost=cost)
            for evaluator, state in (monitors or {}).items():
                _online.save_monitor(conn, evaluator, state)
            _online.add_alerts(conn, alerts)
            _online.drop_from_inbox(conn, trace_ids)

    def monitor(self, evaluator: str) -> dict[str, Any] | None:
        """The evaluator's stored drift chart, or None before its first score."""
        with self._db.read("cannot read a drift chart") as conn:
            return _online.monitor_state(conn, evaluator)

    def alerts(
        self, *, evaluator: str | None = None, limit: int = 50
    ) -> list[tuple[str, datetime, dict[str, Any]]]:
        """Drift alarms, newest first: ``(evaluator, at, detail)``."""
        check_page(limit, 0)
        with self._db.read("cannot read drift alarms") as conn:
            return _online.list_alerts(conn, evaluator=evaluator, limit=limit)

    def enqueue(self, trace_ids: Sequence[str], *, received_at: datetime) -> None:
        """Put trace ids in the inbox (for tests and tools; ingest does it in its own write)."""
        with self._db.write("cannot fill the evaluation inbox") as conn:
            _online.enqueue(conn, trace_ids, received_at)

    def inbox(self) -> tuple[int, datetime | None]:
        """How many traces wait to be evaluated, and when the oldest arrived."""
        with self._db.read("cannot read the evaluation inbox") as conn:
            return _online.inbox_depth(conn)

    def spent(self, evaluator: str, day: str) -> tuple[int, int, float]:
        """``(calls, tokens, cost)`` the evaluator spent on ``day`` (UTC ``YYYY-MM-DD``)."""
        with self._db.read("cannot read an evaluator's spend") as conn:
            return _online.usage_of(conn, evaluator, day)

    def unscored(
        self,
        evaluator: str,
        *,
        since: datetime,
        until: datetime,
        after: tuple[datetime, str] | None = None,
        limit: int = 500,
    ) -> list[Trace]:
        """A page of the traces in a window the evaluator has no verdict on (a backfill)."""
        check_page(limit, 0)
        with self._db.read("cannot read traces to evaluate") as conn:
            return _online.unscored_traces(
                conn, evaluator, since=since, until=until, after=after, limit=limit
            )

    def scores(
        self,
        *,
        evaluator: str | None = None,
        trace_id: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> list[OnlineScore]:
        """Verdicts, newest first."""
        check_page(limit, 0)
        with self._db.read("cannot read online verdicts") as conn:
            return _online.list_scores(
                conn, evaluator=evaluator, trace_id=trace_id, since=since, limit=limit
            )

    def per_slice(self, evaluator: str, key: str, *, since: datetime) -> dict[str, int]:
        """The evaluator's verdicts since ``since`` per value of trace key ``key``.

        Raises:
            ValueError: a key name that is not a key.
        """
        from evallock.store._slices import trace_key_expression

        with self._db.read("cannot count an evaluator's verdicts per slice") as conn:
            column = trace_key_expression(conn.dialect.name, key)
            return _online.slice_counts(conn, evaluator, column, since=since)

    def rules(self) -> list[tuple[str, dict[str, Any]]]:
        """The evaluators added through the API: ``(name, rule)``, by name."""
        c = online_rules.c
        with self._db.read("cannot read the evaluators") as conn:
            rows = conn.execute(select(c.name, c.rule).order_by(c.name))
            return [(row.name, dict(row.rule)) for row in rows]

    def put_rule(self, name: str, rule: dict[str, Any], *, by: str) -> None:
        """Keep an evaluator added through the API, replacing one of the same name."""
        check_text("evaluator.name", name, MAX_ID)
        row = {"name": name, "rule": rule, "created_at": utc_now(), "created_by": by}
        with self._db.write(f"cannot keep evaluator {name!r}") as conn:
            conn.execute(delete(online_rules).where(online_rules.c.name == name))
            conn.execute(online_rules.insert(), [row])

    def remove_rule(self, name: str) -> bool:
        """Drop an evaluator added through the API (its verdicts stay); False if unknown."""
        with self._db.write(f"cannot remove evaluator {name!r}") as conn:
            gone = conn.execute(delete(online_rules).where(online_rules.c.name == name))
        return bool(gone.rowcount)

    def counts(self, evaluator: str, *, since: datetime | None = None) -> dict[str, Any]:
        """Per status how many verdicts; the scored ones' ``sum`` and ``sum_sq``."""
        with self._db.read("cannot count online verdicts") as conn:
            return _online.score_counts(conn, evaluator, since=since)
