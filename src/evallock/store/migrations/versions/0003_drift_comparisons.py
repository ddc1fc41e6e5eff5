"""Drift reports with their judged samples, and stored A/B comparisons.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _time() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create drift_reports, drift_samples and comparisons."""
    op.create_table(
        "drift_reports",
        sa.Column("report_id", sa.String(), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("window_start", _time(), nullable=False),
        sa.Column("window_end", _time(), nullable=False),
        sa.Column("judge_version", sa.String(), nullable=False),
        sa.Column("alert", sa.Boolean(), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("report_id", name="pk_drift_reports"),
    )
    op.create_index("ix_drift_reports_created_at", "drift_reports", ["created_at"])
    op.create_table(
        "drift_samples",
        sa.Column("report_id", sa.String(), nullable=False),
        sa.Column("trace_id", sa.String(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["drift_reports.report_id"],
            name="fk_drift_samples_report_id_drift_reports",
        ),
        sa.PrimaryKeyConstraint("report_id", "trace_id", name="pk_drift_samples"),
    )
    op.create_table(
        "comparisons",
        sa.Column("comparison_id", sa.String(), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("dataset_id", sa.String(), nullable=False),
        sa.Column("run_a", sa.String(), nullable=False),
        sa.Column("run_b", sa.String(), nullable=False),
        sa.Column("verdict", sa.String(), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("comparison_id", name="pk_comparisons"),
    )
    op.create_index("ix_comparisons_created_at", "comparisons", ["created_at"])


def downgrade() -> None:
    """Drop them again."""
    op.drop_index("ix_comparisons_created_at", table_name="comparisons")
    op.drop_table("comparisons")
    op.drop_table("drift_samples")
    op.drop_index("ix_drift_reports_created_at", table_name="drift_reports")
    op.drop_table("drift_reports")
