"""Trace summaries, feedback and API keys.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

As in 0001, the shared-key columns are spelled out rather than read from
``evallock.keys.SHARED_KEYS``: a new shared key gets a new migration.
Feedback has no foreign key to traces on purpose: a rating may arrive before
the spans of the trace it rates.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TRACE_KEYS = (
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
_INDEXED_TRACE_KEYS = ("prompt_version", "model_version", "intent", "customer_tier")


def _time() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create traces, feedback and api_keys."""
    op.create_table(
        "traces",
        sa.Column("trace_id", sa.String(), nullable=False),
        sa.Column("timestamp", _time(), nullable=False),
        sa.Column("input", sa.Text(), nullable=True),
        sa.Column("output", sa.Text(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("ttft_ms", sa.Float(), nullable=True),
        sa.Column("tokens_in", sa.Integer(), nullable=True),
        sa.Column("tokens_out", sa.Integer(), nullable=True),
        sa.Column("cost", sa.Float(), nullable=True),
        sa.Column("model", sa.String(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("messages", sa.Text(), nullable=True),
        *(sa.Column(key, sa.String(), nullable=True) for key in _TRACE_KEYS),
        sa.Column("extra", sa.Text(), nullable=False),
        sa.Column("received_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("trace_id", name="pk_traces"),
    )
    op.create_index("ix_traces_timestamp", "traces", ["timestamp"])
    for key in _INDEXED_TRACE_KEYS:
        op.create_index(f"ix_traces_{key}", "traces", [key])

    op.create_table(
        "feedback",
        sa.Column("feedback_id", sa.String(), nullable=False),
        sa.Column("trace_id", sa.String(), nullable=False),
        sa.Column("rating", sa.String(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("author", sa.String(), nullable=True),
        sa.Column("name", sa.String(), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("feedback_id", name="pk_feedback"),
    )
    op.create_index("ix_feedback_trace_id", "feedback", ["trace_id"])
    op.create_index("ix_feedback_created_at", "feedback", ["created_at"])

    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("key_hash", sa.String(), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("revoked_at", _time(), nullable=True),
        sa.PrimaryKeyConstraint("key_id", name="pk_api_keys"),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
    )


def downgrade() -> None:
    """Drop the three tables."""
    op.drop_table("api_keys")
    op.drop_table("feedback")
    op.drop_table("traces")
