"""The machine-readable run report (``--json``), with the fields of DESIGN §4."""

from __future__ import annotations

from typing import Any

from evallock.evaluation import EvalOutcome
from evallock.records import EvalRecord

__all__ = ["run_report"]


def run_report(outcome: EvalOutcome, records: list[EvalRecord] | None = None) -> dict[str, Any]:
    """The run as a JSON-ready dict.

    Args:
        outcome: the finished run.
        records: the run's trial records; when given, each case lists its trials.
    """
    gate = outcome.gate
    trials: dict[str, list[dict[str, Any]]] = {}
    for record in records or ():
        trials.setdefault(record.case_id, []).append(
            {
                "trial": record.trial,
                "passed": record.passed,
                "score": record.score,
                "judge_score": record.judge_score,
                "reason": record.reason,
                "output": record.output,
                "error": record.error,
                "error_kind": record.error_kind,
                "latency_ms": record.latency_ms,
            }
        )
    return {
        "run_id": outcome.run.run_id,
        "dataset_id": outcome.dataset.dataset_id,
        "dataset": outcome.dataset.path,
        "target": outcome.run.target_id,
        "n": gate.n,
        "passed": gate.passed,
        "failed": gate.failed,
        "errored": gate.errored,
        "pass_rate": gate.pass_rate,
        "pass_rate_ci": [gate.pass_rate_ci.lo, gate.pass_rate_ci.hi],
        "pass_rate_ci_method": gate.pass_rate_ci.method,
        "locks_failed": list(gate.locks_failed),
        "new_failures": list(gate.new_failures),
        "flaky": list(gate.flaky),
        "errored_cases": list(gate.errored_ids),
        "baseline_run_id": gate.baseline_run_id,
        "verdict": gate.verdict,
        "reasons": list(gate.reasons),
        "thresholds": {
            "min_pass_rate": gate.thresholds.min_pass_rate,
            "max_new_failures": gate.thresholds.max_new_failures,
        },
        "keys": outcome.run.keys,
        "stats": {
            "judge_errors": outcome.stats.judge_errors,
            "target_errors": outcome.stats.target_errors,
            "retries": outcome.stats.retries,
            "cache_hits": outcome.stats.cache_hits,
            "judge_cache_hits": outcome.stats.judge_cache_hits,
            "seconds": round(outcome.stats.seconds, 3),
        },
        "cases": [
            {
                "id": r.case_id,
                "passed": r.passed,
                "score": r.score,
                "judge_score": r.judge_score,
                "reason": r.reason,
                "output": r.output,
                "error": r.error,
                "lock": r.lock,
                "flaky": r.flaky,
                "keys": r.keys,
                "trials": trials.get(r.case_id, r.trials),
            }
            for r in outcome.results
        ],
    }
