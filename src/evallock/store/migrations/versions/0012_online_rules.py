"""Online evaluators added through the API.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05

``online_rules`` keeps each evaluator added with ``POST /api/evaluators`` (its rule as
JSON, as it would be written under ``evaluators:`` in evallock.yaml), who added it and
when; the service's worker runs them beside the file's.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create online_rules."""
    op.create_table(
        "online_rules",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_online_rules"),
    )


def downgrade() -> None:
    """Drop online_rules."""
    op.drop_table("online_rules")
