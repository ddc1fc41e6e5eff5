"""Traces keep their prompt template's variables; drift samples are found by trace.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05

A client may send the variables it rendered its prompt template with (the
recording proxy's ``X-Evallock-Prompt-Vars`` header, OpenInference's
``llm.prompt_template.variables``, GenAI's ``gen_ai.prompt.variable.<name>``).
A candidate case made from the trace carries them, so the lock it becomes
renders the template as production did. Rows written before have none (NULL).

A trace's page shows its drift judge scores: ``drift_samples`` gets an index on
``trace_id`` (its primary key starts with the report).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the nullable ``vars`` JSON text column; index drift samples by trace."""
    op.add_column("traces", sa.Column("vars", sa.Text(), nullable=True))
    op.create_index("ix_drift_samples_trace_id", "drift_samples", ["trace_id"])


def downgrade() -> None:
    """Drop them."""
    op.drop_index("ix_drift_samples_trace_id", table_name="drift_samples")
    with op.batch_alter_table("traces") as batch:
        batch.drop_column("vars")
