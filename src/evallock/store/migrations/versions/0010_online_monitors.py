"""Drift charts on online evaluators' scores, and their alarms.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05

``online_monitors`` keeps each evaluator's drift chart (a CUSUM on batch means, with its
partial batch) as JSON, written in the transaction that stores the scores it was fed, so
a restart continues it. ``online_alerts`` keeps every alarm it raised.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create online_monitors and online_alerts."""
    op.create_table(
        "online_monitors",
        sa.Column("evaluator", sa.String(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("evaluator", name="pk_online_monitors"),
    )
    op.create_table(
        "online_alerts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("evaluator", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_online_alerts"),
    )
    op.create_index("ix_online_alerts_at", "online_alerts", ["at"])


def downgrade() -> None:
    """Drop them."""
    op.drop_table("online_alerts")
    op.drop_table("online_monitors")
