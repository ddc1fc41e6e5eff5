"""Candidate eval cases from feedback, their audit trail, and the traces behind them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _time() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create candidates, candidate_events and candidate_traces."""
    op.create_table(
        "candidates",
        sa.Column("candidate_id", sa.String(), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("trace_ids", sa.Text(), nullable=False),
        sa.Column("trace_count", sa.Integer(), nullable=False),
        sa.Column("input", sa.Text(), nullable=False),
        sa.Column("output", sa.Text(), nullable=True),
        sa.Column("keys", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("signature", sa.String(), nullable=False),
        sa.Column("duplicate_of", sa.String(), nullable=True),
        sa.Column("expected", sa.Text(), nullable=True),
        sa.Column("asserts", sa.Text(), nullable=False),
        sa.Column("vars", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("case_id", sa.String(), nullable=True),
        sa.Column("promoted_to", sa.Text(), nullable=True),
        sa.Column("dataset_id", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("candidate_id", name="pk_candidates"),
    )
    op.create_index("ix_candidates_state", "candidates", ["state"])
    op.create_index("ix_candidates_signature", "candidates", ["signature"])
    op.create_table(
        "candidate_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("candidate_id", sa.String(), nullable=False),
        sa.Column("at", _time(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_candidate_events"),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["candidates.candidate_id"],
            name="fk_candidate_events_candidate_id_candidates",
        ),
    )
    op.create_index(
        "ix_candidate_events_candidate_id_id", "candidate_events", ["candidate_id", "id"]
    )
    op.create_table(
        "candidate_traces",
        sa.Column("trace_id", sa.String(), nullable=False),
        sa.Column("candidate_id", sa.String(), nullable=False),
        sa.Column("added_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("trace_id", name="pk_candidate_traces"),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["candidates.candidate_id"],
            name="fk_candidate_traces_candidate_id_candidates",
        ),
    )
    op.create_index("ix_candidate_traces_candidate_id", "candidate_traces", ["candidate_id"])


def downgrade() -> None:
    """Drop them again."""
    op.drop_index("ix_candidate_traces_candidate_id", table_name="candidate_traces")
    op.drop_table("candidate_traces")
    op.drop_index("ix_candidate_events_candidate_id_id", table_name="candidate_events")
    op.drop_table("candidate_events")
    op.drop_index("ix_candidates_signature", table_name="candidates")
    op.drop_index("ix_candidates_state", table_name="candidates")
    op.drop_table("candidates")
