"""Analysis fixtures: complete runs with records, and traces with feedback, written directly."""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from evallock.records import EvalRecord, Feedback, Run, Trace

T0 = datetime(2026, 10, 1, tzinfo=UTC)


def add_run(
    store: Any,
    run_id: str,
    *,
    prompt_version: str,
    cases: Mapping[str, tuple[bool, dict[str, str]]],
    started: datetime,
    dataset_name: str = "golden",
    judge: Mapping[str, list[int]] | None = None,
    trials: int = 1,
    status: str = "complete",
) -> Run:
    """A run with one record per (case, trial): case id → (passed, case keys)."""
    keys = {"prompt_version": prompt_version, "model_version": "m1"}
    run = Run(
        run_id=run_id,
        dataset_id=f"{dataset_name}@{run_id}",
        dataset_name=dataset_name,
        target_id="t",
        started_at=started,
        keys=keys,
    )
    store.runs.create(run)
    records = []
    for case_id, (passed, case_keys) in cases.items():
        scores = (judge or {}).get(case_id, [])
        for trial in range(trials):
            records.append(
                EvalRecord(
                    run_id=run_id,
                    case_id=case_id,
                    trial=trial,
                    passed=passed,
                    score=1.0 if passed else 0.0,
                    reason="ok" if passed else "failed",
                    output="answer",
                    judge_score=scores[trial] if trial < len(scores) else None,
                    keys={**keys, **case_keys},
                )
            )
    store.runs.add_records(records)
    store.runs.finish(
        run_id,
        status=status,
        verdict="pass" if status == "complete" else None,
        summary=None,
        baseline_run_id=None,
        finished_at=started + timedelta(minutes=1),
    )
    return run


def traffic(
    *,
    version: str,
    day0: int,
    rates: Mapping[str, float],
    per_tier: int,
    seed: int,
    errors: float = 0.0,
    intent: str = "refund",
) -> tuple[list[Trace], list[Feedback]]:
    """``per_tier`` traces per tier; each rated down with the tier's probability."""
    rng = random.Random(seed)
    traces, feedback = [], []
    for tier, rate in rates.items():
        for i in range(per_tier):
            trace_id = f"{rng.getrandbits(128):032x}"
            at = T0 + timedelta(days=day0, minutes=i)
            failed = rng.random() < errors
            traces.append(
                Trace(
                    trace_id=trace_id,
                    timestamp=at,
                    input=f"{tier} question {i % 3} order {i}",
                    output=None if failed else "answer",
                    error="HTTP 502" if failed else None,
                    keys={"prompt_version": version, "customer_tier": tier, "intent": intent},
                    source="import",
                )
            )
            if rng.random() < rate:
                feedback.append(
                    Feedback(
                        feedback_id=f"fb-{trace_id}",
                        trace_id=trace_id,
                        rating="down",
                        score=0.0,
                        name="user_feedback",
                        created_at=at,
                    )
                )
    return traces, feedback
