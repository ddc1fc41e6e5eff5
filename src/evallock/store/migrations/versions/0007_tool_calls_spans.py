"""Traces keep their tool calls; span ids lead to their trace.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05

Every ingest path (the recording proxy, each OTLP dialect, the JSONL import) reads
the tool calls a model made into one shape (``name``, ``arguments``, ``id``,
``result``), kept as JSON text in ``traces.tool_calls``. Rows written before have
none (NULL).

``trace_spans`` maps each span id that arrived over OTLP to its trace, so an
annotation naming only a span (Phoenix's ``/v1/span_annotations``) finds the trace
it rates. Spans stored before this revision are not in it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``traces.tool_calls`` and the ``trace_spans`` table."""
    op.add_column("traces", sa.Column("tool_calls", sa.Text(), nullable=True))
    op.create_table(
        "trace_spans",
        sa.Column("span_id", sa.String(), nullable=False),
        sa.Column("trace_id", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("span_id", name="pk_trace_spans"),
    )


def downgrade() -> None:
    """Drop them."""
    op.drop_table("trace_spans")
    with op.batch_alter_table("traces") as batch:
        batch.drop_column("tool_calls")
