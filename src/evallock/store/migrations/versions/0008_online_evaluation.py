"""Online evaluation: the inbox of traces to evaluate, each evaluator's scores and spend.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05

``online_inbox`` holds a trace id from its first arrival until the evaluator worker of
``evallock serve`` has evaluated it.
``online_scores`` keeps each evaluator's verdict on a trace, at most one:
``scored``, ``error`` (kept, never a score) or ``skipped`` (its budget was spent).
``online_usage`` is what each evaluator spent per UTC day (judge calls, tokens, cost).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _time() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create online_inbox, online_scores and online_usage."""
    op.create_table(
        "online_inbox",
        sa.Column("trace_id", sa.String(), nullable=False),
        sa.Column("received_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("trace_id", name="pk_online_inbox"),
    )
    op.create_index("ix_online_inbox_received_at", "online_inbox", ["received_at"])
    op.create_table(
        "online_scores",
        sa.Column("evaluator", sa.String(), nullable=False),
        sa.Column("trace_id", sa.String(), nullable=False),
        sa.Column("scored_at", _time(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("judge_score", sa.Integer(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("evaluator", "trace_id", name="pk_online_scores"),
    )
    op.create_index(
        "ix_online_scores_evaluator_scored_at", "online_scores", ["evaluator", "scored_at"]
    )
    op.create_index("ix_online_scores_trace_id", "online_scores", ["trace_id"])
    op.create_table(
        "online_usage",
        sa.Column("evaluator", sa.String(), nullable=False),
        sa.Column("day", sa.String(), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("tokens", sa.BigInteger(), nullable=False),
        sa.Column("cost", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("evaluator", "day", name="pk_online_usage"),
    )


def downgrade() -> None:
    """Drop them."""
    op.drop_table("online_usage")
    op.drop_table("online_scores")
    op.drop_table("online_inbox")
