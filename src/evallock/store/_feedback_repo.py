"""The feedback repository (``store.feedback``): ratings of traces, once per ``feedback_id``.

Feedback whose trace is not stored (yet) is kept and linked by trace id when
read (``_feedback.py``). Every item is checked against :mod:`evallock.limits`
before it is written, so SQLite and PostgreSQL refuse the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from evallock.limits import check_feedback
from evallock.records import Feedback
from evallock.store import _feedback
from evallock.store._database import Database, check_window
from evallock.times import utc_now

__all__ = ["FeedbackRepository"]


class FeedbackRepository:
    """Users' (and judges') ratings of traces."""

    def __init__(self, db: Database) -> None:
        """Work on ``db``."""
        self._db = db

    def add(self, items: Sequence[Feedback]) -> int:
        """Store feedback in one transaction, once per ``feedback_id``; returns how many were new.

        Items without ``created_at`` get the time of this call; one item past a
        limit refuses the batch.

        Raises:
            FieldLimitError: a field past its limit (named); nothing is written.
            ValueError: a naive ``created_at``.
            StoreError: the write failed.
        """
        if not items:
            return 0
        for item in items:
            check_feedback(item)
        now = utc_now()
        with self._db.write(f"cannot add {len(items)} feedback items") as conn:
            return _feedback.add_feedback(conn, items, now)

    def find(
        self,
        *,
        trace_id: str | None = None,
        since: datetime | None = None,
        limit: int = 1000,
        session_id: str | None = None,
    ) -> list[Feedback]:
        """Feedback oldest first, for one trace, of one session (``session_id``: the
        ratings of the whole session) and/or received since a time."""
        check_window(since, None)
        with self._db.read("cannot list feedback") as conn:
            return _feedback.list_feedback(
                conn, trace_id=trace_id, since=since, limit=limit, session_id=session_id
            )
