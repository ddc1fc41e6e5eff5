"""Sessions: traces grouped into conversations, ratings of a session, session candidates.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05

- ``traces.session_id`` (indexed with the timestamp) holds the session a request was part
  of (``session.id``, ``gen_ai.conversation.id``, ``langfuse.session.id``,
  ``Helicone-Session-Id``). It was kept in ``extra`` before: rows that have it there are
  moved to the column.
- ``traces.tools``: the tool definitions the request offered the model (JSON text).
- ``feedback.session_id`` (indexed): set when a rating is of a whole session.
- ``candidates.conversation``: a candidate made from a session keeps its follow-up turns,
  tool results and tool definitions (JSON text).
- ``eval_records.trajectory``: the tool calls and user turns of a trial's exchange
  (JSON text; NULL for a one-turn answer without tool calls).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_BATCH = 1000


def upgrade() -> None:
    """Add the columns and the index; move ``session_id`` out of ``traces.extra``."""
    op.add_column("traces", sa.Column("session_id", sa.String(), nullable=True))
    op.add_column("traces", sa.Column("tools", sa.Text(), nullable=True))
    op.create_index("ix_traces_session_id_timestamp", "traces", ["session_id", "timestamp"])
    op.add_column("feedback", sa.Column("session_id", sa.String(), nullable=True))
    op.create_index("ix_feedback_session_id", "feedback", ["session_id"])
    op.add_column("candidates", sa.Column("conversation", sa.Text(), nullable=True))
    op.add_column("eval_records", sa.Column("trajectory", sa.Text(), nullable=True))
    _rewrite(_TRACES.c.extra.like('%"session_id"%'), _out_of_extra)


_TRACES = sa.table(
    "traces",
    sa.column("trace_id", sa.String()),
    sa.column("extra", sa.Text()),
    sa.column("session_id", sa.String()),
)
"""The columns of ``traces`` the session moves touch."""


Change = Callable[[dict[str, Any], str | None], tuple[dict[str, Any], str | None] | None]


def _rewrite(where: sa.ColumnElement[bool], change: Change) -> None:
    """Page through the traces matching ``where`` (by id) and store what ``change`` makes
    of each row's ``(extra, session_id)`` (None: leave the row as it is)."""
    conn = op.get_bind()
    traces = _TRACES
    query = (
        sa.select(traces.c.trace_id, traces.c.extra, traces.c.session_id)
        .where(where)
        .order_by(traces.c.trace_id)
    )
    update = (
        sa.update(traces)
        .where(traces.c.trace_id == sa.bindparam("tid"))
        .values(extra=sa.bindparam("new_extra"), session_id=sa.bindparam("sid"))
    )
    after = ""
    while True:
        rows = conn.execute(query.where(traces.c.trace_id > after).limit(_BATCH)).all()
        if not rows:
            return
        changes = []
        for trace_id, text, session in rows:
            extra = json.loads(text) if text else {}
            changed = change(extra if isinstance(extra, dict) else {}, session)
            if changed is not None:
                new_extra, new_session = changed
                changes.append(
                    {"tid": trace_id, "new_extra": json.dumps(new_extra), "sid": new_session}
                )
        if changes:
            conn.execute(update, changes)
        after = rows[-1][0]


def _out_of_extra(
    extra: dict[str, Any], session: str | None
) -> tuple[dict[str, Any], str | None] | None:
    moved = extra.pop("session_id", None)
    return (extra, moved) if isinstance(moved, str) and moved else None


def _into_extra(
    extra: dict[str, Any], session: str | None
) -> tuple[dict[str, Any], str | None] | None:
    return {**extra, "session_id": session}, None


def downgrade() -> None:
    """Drop them; the session ids go back into ``traces.extra``."""
    _rewrite(_TRACES.c.session_id.is_not(None), _into_extra)
    with op.batch_alter_table("eval_records") as batch:
        batch.drop_column("trajectory")
    with op.batch_alter_table("candidates") as batch:
        batch.drop_column("conversation")
    op.drop_index("ix_feedback_session_id", table_name="feedback")
    with op.batch_alter_table("feedback") as batch:
        batch.drop_column("session_id")
    op.drop_index("ix_traces_session_id_timestamp", table_name="traces")
    with op.batch_alter_table("traces") as batch:
        batch.drop_column("tools")
        batch.drop_column("session_id")
