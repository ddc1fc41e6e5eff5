"""Runs, eval records and the judge/target cache.

Revision ID: 0001
Revises:
Create Date: 2026-11-22

The shared-key columns are spelled out rather than read from
``evallock.keys.SHARED_KEYS``: a migration must keep meaning what it meant when it
was released, so a new shared key gets a new migration.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_RECORD_KEYS = (
    "model_version",
    "prompt_version",
    "retriever_version",
    "guardrail_version",
    "dataset_id",
    "judge_version",
    "experiment",
    "intent",
    "customer_tier",
    "feature",
    "language",
)
# On runs, dataset_id is the run's own (NOT NULL) column.
_RUN_KEYS = tuple(k for k in _RECORD_KEYS if k != "dataset_id")
_INDEXED_RECORD_KEYS = ("prompt_version", "model_version", "intent", "customer_tier")


def _time() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create runs, eval_records and cache."""
    op.create_table(
        "runs",
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("dataset_id", sa.String(), nullable=False),
        sa.Column("dataset_name", sa.String(), nullable=False),
        sa.Column("target_id", sa.String(), nullable=False),
        sa.Column("started_at", _time(), nullable=False),
        sa.Column("finished_at", _time(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("verdict", sa.String(), nullable=True),
        sa.Column("baseline_run_id", sa.String(), nullable=True),
        sa.Column("settings", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        *(sa.Column(key, sa.String(), nullable=True) for key in _RUN_KEYS),
        sa.Column("extra", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", name="pk_runs"),
    )
    op.create_index(
        "ix_runs_dataset_name_target_id_started_at",
        "runs",
        ["dataset_name", "target_id", "started_at"],
    )
    op.create_index("ix_runs_started_at", "runs", ["started_at"])

    op.create_table(
        "eval_records",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("case_id", sa.String(), nullable=False),
        sa.Column("trial", sa.Integer(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("output", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_kind", sa.String(), nullable=True),
        sa.Column("judge_score", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("tokens_in", sa.Integer(), nullable=True),
        sa.Column("tokens_out", sa.Integer(), nullable=True),
        sa.Column("grades", sa.Text(), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        *(sa.Column(key, sa.String(), nullable=True) for key in _RECORD_KEYS),
        sa.Column("extra", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_eval_records"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.run_id"], name="fk_eval_records_run_id_runs"),
        sa.UniqueConstraint(
            "run_id", "case_id", "trial", name="uq_eval_records_run_id_case_id_trial"
        ),
    )
    op.create_index("ix_eval_records_run_id_id", "eval_records", ["run_id", "id"])
    for key in _INDEXED_RECORD_KEYS:
        op.create_index(f"ix_eval_records_{key}", "eval_records", [key])

    op.create_table(
        "cache",
        sa.Column("namespace", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("namespace", "key", name="pk_cache"),
    )


def downgrade() -> None:
    """Drop the three tables."""
    op.drop_table("cache")
    op.drop_table("eval_records")
    op.drop_table("runs")
