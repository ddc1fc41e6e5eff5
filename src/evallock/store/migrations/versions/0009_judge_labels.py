"""People's labels of judged answers, for the judge's calibration.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05

``judge_labels`` keeps a reviewer's 1–5 score of an answer the judge scored, beside the
judge's own score and version: one label per subject (``trace:…`` or ``record:…``),
judge version and reviewer. Agreement between judge and people is computed per judge
version from these pairs.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create judge_labels."""
    op.create_table(
        "judge_labels",
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("judge_version", sa.String(), nullable=False),
        sa.Column("reviewer", sa.String(), nullable=False),
        sa.Column("human_score", sa.Integer(), nullable=False),
        sa.Column("judge_score", sa.Integer(), nullable=True),
        sa.Column("labeled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("evaluator", sa.String(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("subject", "judge_version", "reviewer", name="pk_judge_labels"),
    )
    op.create_index("ix_judge_labels_judge_version", "judge_labels", ["judge_version"])


def downgrade() -> None:
    """Drop judge_labels."""
    op.drop_table("judge_labels")
