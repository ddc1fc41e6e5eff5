"""The schema: SQLAlchemy Core tables the store queries, as the migrations leave them.

These definitions are for building statements only; the tables themselves are
created by the Alembic migrations in ``migrations/versions``. A test compares the
two, so a change here without a migration (or a new shared key in
``evallock.keys``) fails the suite.

Every shared key is a column of its own, so slices and joins use indexes; other
keys go to the ``extra`` JSON column. On ``runs`` the ``dataset_id`` column is the
run's own dataset id, so a ``dataset_id`` *key* on a run is kept in ``extra``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from evallock.keys import SHARED_KEYS
from evallock.store._types import JSONText, UTCDateTime

__all__ = [
    "API_KEY_SCOPES",
    "INDEXED_RECORD_KEYS",
    "INDEXED_TRACE_KEYS",
    "NAMING_CONVENTION",
    "RECORD_KEY_COLUMNS",
    "RUN_KEY_COLUMNS",
    "TRACE_KEY_COLUMNS",
    "api_keys",
    "cache",
    "candidate_events",
    "candidate_traces",
    "candidates",
    "comparisons",
    "drift_reports",
    "drift_samples",
    "eval_records",
    "feedback",
    "metadata",
    "runs",
    "trace_spans",
    "traces",
]

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Constraint names, fixed so later migrations (and SQLite batch mode) can refer to them."""

RUN_KEY_COLUMNS: tuple[str, ...] = tuple(k for k in SHARED_KEYS if k != "dataset_id")
"""Shared keys with a column on ``runs`` (``dataset_id`` is the run's own column)."""

RECORD_KEY_COLUMNS: tuple[str, ...] = SHARED_KEYS
"""Shared keys with a column on ``eval_records``."""

INDEXED_RECORD_KEYS: tuple[str, ...] = (
    "prompt_version",
    "model_version",
    "intent",
    "customer_tier",
)
"""The keys reports slice and join records on most; each has an index."""

TRACE_KEY_COLUMNS: tuple[str, ...] = (*SHARED_KEYS, "session_id")
"""Keys with a column on ``traces``: the shared keys, and the session the request was part
of (``session.id``, ``gen_ai.conversation.id``, ``langfuse.session.id``, ``Helicone-Session-Id``),
so a session's traces are one index range."""

INDEXED_TRACE_KEYS: tuple[str, ...] = INDEXED_RECORD_KEYS
"""The keys traces are sliced on most (the same as records, for the joins); each has an index."""

API_KEY_SCOPES: tuple[str, ...] = ("ingest", "read", "admin")
"""What an API key may do: send traces and feedback, read, or everything."""

metadata = MetaData(naming_convention=NAMING_CONVENTION)

runs = Table(
    "runs",
    metadata,
    Column("run_id", String, primary_key=True),
    Column("dataset_id", String, nullable=False),
    Column("dataset_name", String, nullable=False),
    Column("target_id", String, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("status", String, nullable=False),
    Column("verdict", String),
    Column("baseline_run_id", String),
    Column("settings", JSONText, nullable=False),
    Column("summary", JSONText, nullable=False),
    *(Column(key, String) for key in RUN_KEY_COLUMNS),
    Column("extra", JSONText, nullable=False),
    Index(None, "dataset_name", "target_id", "started_at"),
    Index(None, "started_at"),
)

eval_records = Table(
    "eval_records",
    metadata,
    Column(
        "id",
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("run_id", String, ForeignKey("runs.run_id"), nullable=False),
    Column("case_id", String, nullable=False),
    Column("trial", Integer, nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("score", Float),
    Column("reason", Text, nullable=False),
    Column("output", Text),
    Column("error", Text),
    Column("error_kind", String),
    Column("judge_score", Integer),
    Column("latency_ms", Float),
    Column("tokens_in", Integer),
    Column("tokens_out", Integer),
    Column("grades", JSONText, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("trajectory", JSONText),
    *(Column(key, String) for key in RECORD_KEY_COLUMNS),
    Column("extra", JSONText, nullable=False),
    UniqueConstraint("run_id", "case_id", "trial"),
    # (run_id, id): one run's records in insertion order, for keyset pagination.
    Index(None, "run_id", "id"),
    *(Index(None, key) for key in INDEXED_RECORD_KEYS),
)

cache = Table(
    "cache",
    metadata,
    Column("namespace", String, primary_key=True),
    Column("key", String, primary_key=True),
    Column("value", JSONText, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

traces = Table(
    "traces",
    metadata,
    Column("trace_id", String, primary_key=True),
    Column("timestamp", UTCDateTime, nullable=False),
    Column("input", Text),
    Column("output", Text),
    Column("latency_ms", Float),
    Column("ttft_ms", Float),
    Column("tokens_in", Integer),
    Column("tokens_out", Integer),
    Column("cost", Float),
    Column("model", String),
    Column("error", Text),
    Column("source", String, nullable=False),
    Column("messages", JSONText),
    *(Column(key, String) for key in TRACE_KEY_COLUMNS),
    Column("extra", JSONText, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("vars", JSONText),
    Column("tool_calls", JSONText),
    Column("tools", JSONText),
    # (timestamp, trace_id): the order pages are read in, so a cursor is one range scan.
    Index(None, "timestamp", "trace_id"),
    *(Index(None, key) for key in INDEXED_TRACE_KEYS),
    Index(None, "session_id", "timestamp"),
)

# Which trace each span belongs to, so an annotation naming only a span finds its trace.
# No foreign key: a span id is kept only for the trace row it arrived with.
trace_spans = Table(
    "trace_spans",
    metadata,
    Column("span_id", String, primary_key=True),
    Column("trace_id", String, nullable=False),
)

# No foreign key to traces: feedback may arrive before the trace it rates.
feedback = Table(
    "feedback",
    metadata,
    Column("feedback_id", String, primary_key=True),
    Column("trace_id", String, nullable=False),
    Column("rating", String, nullable=False),
    Column("score", Float),
    Column("comment", Text),
    Column("source", String, nullable=False),
    Column("author", String),
    Column("name", String),
    Column("created_at", UTCDateTime, nullable=False),
    Column("session_id", String),
    Index(None, "trace_id"),
    Index(None, "session_id"),
    Index(None, "created_at"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String, primary_key=True),
    Column("name", String, nullable=False),
    Column("scope", String, nullable=False),
    Column("key_hash", String, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
    UniqueConstraint("key_hash"),
)

drift_reports = Table(
    "drift_reports",
    metadata,
    Column("report_id", String, primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("window_start", UTCDateTime, nullable=False),
    Column("window_end", UTCDateTime, nullable=False),
    Column("judge_version", String, nullable=False),
    Column("alert", Boolean, nullable=False),
    Column("report", JSONText, nullable=False),
    Index(None, "created_at"),
)

drift_samples = Table(
    "drift_samples",
    metadata,
    Column("report_id", String, ForeignKey("drift_reports.report_id"), primary_key=True),
    Column("trace_id", String, primary_key=True),
    Column("score", Integer),
    Column("reason", Text),
    # a trace's page shows its judge scores: found by trace id, not by report
    Index(None, "trace_id"),
)

comparisons = Table(
    "comparisons",
    metadata,
    Column("comparison_id", String, primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("dataset_id", String, nullable=False),
    Column("run_a", String, nullable=False),
    Column("run_b", String, nullable=False),
    Column("verdict", String, nullable=False),
    Column("report", JSONText, nullable=False),
    Index(None, "created_at"),
)

# Candidates: eval cases proposed from traces, reviewed by a person, promoted as locks.
# The row holds the current state; candidate_events is the append-only audit trail.
candidates = Table(
    "candidates",
    metadata,
    Column("candidate_id", String, primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("state", String, nullable=False),
    Column("trace_ids", JSONText, nullable=False),
    Column("trace_count", Integer, nullable=False),
    Column("input", Text, nullable=False),
    Column("output", Text),
    Column("keys", JSONText, nullable=False),
    Column("reason", Text, nullable=False),
    Column("signature", String, nullable=False),
    Column("duplicate_of", String),
    Column("expected", Text),
    Column("asserts", JSONText, nullable=False),
    Column("vars", JSONText, nullable=False),
    Column("note", Text),
    Column("case_id", String),
    Column("promoted_to", Text),
    Column("dataset_id", String),
    Column("conversation", JSONText),
    Index(None, "state"),
    Index(None, "signature"),
)

candidate_events = Table(
    "candidate_events",
    metadata,
    Column(
        "id",
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("candidate_id", String, ForeignKey("candidates.candidate_id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String, nullable=False),
    Column("action", String, nullable=False),
    Column("detail", JSONText, nullable=False),
    Index(None, "candidate_id", "id"),
)

# One row per trace behind a candidate: a trace is never behind two candidates.
candidate_traces = Table(
    "candidate_traces",
    metadata,
    Column("trace_id", String, primary_key=True),
    Column("candidate_id", String, ForeignKey("candidates.candidate_id"), nullable=False),
    Column("added_at", UTCDateTime, nullable=False),
    Index(None, "candidate_id"),
)

# Online evaluation. The inbox holds each trace id once, from its first arrival (written in
# the ingest's own transaction, while evaluators run), until the worker has evaluated it.
online_inbox = Table(
    "online_inbox",
    metadata,
    Column("trace_id", String, primary_key=True),
    Column("received_at", UTCDateTime, nullable=False),
    Index(None, "received_at"),
)

# Each evaluator's verdict on a trace, at most one (the primary key makes "judged once").
online_scores = Table(
    "online_scores",
    metadata,
    Column("evaluator", String, primary_key=True),
    Column("trace_id", String, primary_key=True),
    Column("scored_at", UTCDateTime, nullable=False),
    Column("status", String, nullable=False),
    Column("version", String, nullable=False),
    Column("score", Float),
    Column("judge_score", Integer),
    Column("passed", Boolean),
    Column("reason", Text, nullable=False),
    Index(None, "evaluator", "scored_at"),
    Index(None, "trace_id"),
)

# What each evaluator spent per UTC day, against its budget.
online_usage = Table(
    "online_usage",
    metadata,
    Column("evaluator", String, primary_key=True),
    Column("day", String, primary_key=True),
    Column("calls", Integer, nullable=False),
    Column("tokens", BigInteger, nullable=False),
    Column("cost", Float, nullable=False),
)

# People's scores of answers the judge scored: one per subject, judge version and reviewer.
judge_labels = Table(
    "judge_labels",
    metadata,
    Column("subject", String, primary_key=True),
    Column("judge_version", String, primary_key=True),
    Column("reviewer", String, primary_key=True),
    Column("human_score", Integer, nullable=False),
    Column("judge_score", Integer),
    Column("labeled_at", UTCDateTime, nullable=False),
    Column("evaluator", String),
    Column("note", Text),
    Column("adjudicated", Boolean, nullable=False, server_default=false()),
    Index(None, "judge_version"),
)

# Each online evaluator's drift chart (its whole state, JSON), written with the scores it saw.
online_monitors = Table(
    "online_monitors",
    metadata,
    Column("evaluator", String, primary_key=True),
    Column("state", JSONText, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# The alarms those charts raised.
online_alerts = Table(
    "online_alerts",
    metadata,
    Column(
        "id",
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("evaluator", String, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("detail", JSONText, nullable=False),
    Index(None, "at"),
)

# Every labelling action, in order: the reviewers' audit trail.
label_events = Table(
    "label_events",
    metadata,
    Column(
        "id",
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("subject", String, nullable=False),
    Column("judge_version", String, nullable=False),
    Column("reviewer", String, nullable=False),
    Column("action", String, nullable=False),
    Column("human_score", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("note", Text),
    Index(None, "subject", "id"),
)

# Online evaluators added through the API (those of evallock.yaml live in the file).
online_rules = Table(
    "online_rules",
    metadata,
    Column("name", String, primary_key=True),
    Column("rule", JSONText, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String, nullable=False),
)
