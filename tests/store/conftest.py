"""Fixtures for the store conformance suite.

The ``store`` and ``store_url`` fixtures (every test on SQLite and PostgreSQL) live in
``tests/conftest.py``; here are factories of runs and records.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from evallock.records import EvalRecord, Grade, Run

T0 = datetime(2026, 10, 4, 9, 0, tzinfo=UTC)


def _make_run(run_id: str = "r1", **changes) -> Run:
    """A run with sensible defaults; ``changes`` override fields."""
    fields = {
        "run_id": run_id,
        "dataset_id": "golden@abc123",
        "dataset_name": "golden",
        "target_id": "http://localhost:8000/v1#refund-bot",
        "started_at": T0,
        "keys": {"prompt_version": "refund-v4", "model_version": "llama-3.1-8b"},
        "settings": {"trials": 1, "cases": "evals/golden.jsonl"},
    }
    fields.update(changes)
    return Run(**fields)


def _make_record(run_id: str = "r1", case_id: str = "c1", trial: int = 0, **changes) -> EvalRecord:
    """A passing record with one grade; ``changes`` override fields."""
    fields = {
        "run_id": run_id,
        "case_id": case_id,
        "trial": trial,
        "passed": True,
        "score": 1.0,
        "reason": "ok",
        "output": "Refunds take 5 business days.",
        "latency_ms": 12.5,
        "tokens_in": 31,
        "tokens_out": 12,
        "grades": (Grade(name="icontains", passed=True, score=1.0, reason="found"),),
        "keys": {"intent": "refund", "customer_tier": "enterprise"},
        "created_at": T0 + timedelta(seconds=1),
    }
    fields.update(changes)
    return EvalRecord(**fields)


@pytest.fixture
def make_run():
    """Factory of runs: ``make_run("r2", status="complete")``."""
    return _make_run


@pytest.fixture
def make_record():
    """Factory of records: ``make_record("r1", "c7", trial=1, passed=False)``."""
    return _make_record
