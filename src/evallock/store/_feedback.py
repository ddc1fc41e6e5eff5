"""Feedback rows: ratings kept once per ``feedback_id``, linked to traces by id when read.

A retried request carries the same ``feedback_id``, so writes are insert-or-ignore
and the first copy stays. There is no foreign key to ``traces``: a rating may come
before the spans of the trace it rates, and is joined on ``trace_id`` at query time.
Text is cleaned as trace text is (``_traces.clean_text``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, Row

from evallock.records import Feedback
from evallock.store._engine import insert_or_ignore
from evallock.store._schema import feedback
from evallock.store._traces import clean_number, clean_text

__all__ = ["add_feedback", "list_feedback"]


def _feedback_to_row(item: Feedback, now: datetime) -> dict[str, Any]:
    created = item.created_at
    if created is not None and created.utcoffset() is None:
        raise ValueError(
            f"feedback {item.feedback_id!r}: created_at is a naive datetime; "
            "pass a timezone-aware time"
        )
    return {
        "feedback_id": clean_text(item.feedback_id),
        "trace_id": clean_text(item.trace_id),
        "rating": clean_text(item.rating),
        "score": clean_number(item.score),
        "comment": clean_text(item.comment),
        "source": clean_text(item.source),
        "author": clean_text(item.author),
        "name": clean_text(item.name),
        "created_at": created or now,
        "session_id": clean_text(item.session_id),
    }


def _feedback_from_row(row: Row[Any]) -> Feedback:
    m = row._mapping
    return Feedback(
        feedback_id=m["feedback_id"],
        trace_id=m["trace_id"],
        rating=m["rating"],
        score=m["score"],
        comment=m["comment"],
        source=m["source"],
        author=m["author"],
        created_at=m["created_at"],
        name=m["name"],
        session_id=m["session_id"],
    )


def add_feedback(conn: Connection, items: Sequence[Feedback], now: datetime) -> int:
    """Insert feedback not stored yet (by ``feedback_id``); returns how many were new.

    Raises:
        ValueError: a naive ``created_at``.
    """
    rows: dict[str, dict[str, Any]] = {}
    for item in items:
        rows.setdefault(item.feedback_id, _feedback_to_row(item, now))
    if not rows:
        return 0
    insert = insert_or_ignore(conn.dialect.name, feedback).returning(feedback.c.feedback_id)
    return len(conn.execute(insert, [rows[key] for key in sorted(rows)]).all())


def list_feedback(
    conn: Connection,
    *,
    trace_id: str | None,
    since: datetime | None,
    limit: int,
    session_id: str | None = None,
) -> list[Feedback]:
    """Feedback oldest first, for one trace, of one session and/or since a time."""
    stmt = select(feedback).order_by(feedback.c.created_at, feedback.c.feedback_id).limit(limit)
    if trace_id is not None:
        stmt = stmt.where(feedback.c.trace_id == clean_text(trace_id))
    if session_id is not None:
        stmt = stmt.where(feedback.c.session_id == clean_text(session_id))
    if since is not None:
        stmt = stmt.where(feedback.c.created_at >= since)
    return [_feedback_from_row(row) for row in conn.execute(stmt)]
