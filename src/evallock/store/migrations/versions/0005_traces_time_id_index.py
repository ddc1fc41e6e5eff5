"""An index on traces (timestamp, trace_id): the order trace pages are read in.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06

``GET /api/traces`` pages by a cursor, the last ``(timestamp, trace_id)`` it
returned. With an index on exactly that order, a page is one range scan however
many traces share a timestamp; with only ``ix_traces_timestamp`` every page sorted
all the traces of a tied timestamp and skipped ``offset`` of them. The new index
serves every query the old one did, so the old one goes (one index less to write
on ingest).
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Index traces on (timestamp, trace_id) in place of timestamp alone."""
    op.create_index("ix_traces_timestamp_trace_id", "traces", ["timestamp", "trace_id"])
    op.drop_index("ix_traces_timestamp", table_name="traces")


def downgrade() -> None:
    """Put the timestamp index back."""
    op.create_index("ix_traces_timestamp", "traces", ["timestamp"])
    op.drop_index("ix_traces_timestamp_trace_id", table_name="traces")
