"""Labels: adjudication, and every labelling action in an audit trail.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05

``judge_labels.adjudicated`` marks a label that settles a dispute between reviewers (it
then stands for its answer instead of the reviewers' median); labels stored before are
not adjudications. ``label_events`` keeps every label, relabel and adjudication in
order, with who did it: the reviewers' audit trail.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add judge_labels.adjudicated and the label_events table."""
    with op.batch_alter_table("judge_labels") as batch:
        batch.add_column(
            sa.Column("adjudicated", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "label_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("judge_version", sa.String(), nullable=False),
        sa.Column("reviewer", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("human_score", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_label_events"),
    )
    op.create_index("ix_label_events_subject_id", "label_events", ["subject", "id"])


def downgrade() -> None:
    """Drop them."""
    op.drop_table("label_events")
    with op.batch_alter_table("judge_labels") as batch:
        batch.drop_column("adjudicated")
