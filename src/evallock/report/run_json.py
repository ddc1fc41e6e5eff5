"""The machine-readable run report (``--json``), with the fields of DESIGN §4.

The report is written as it is read: the run's figures, then one line per case
(with its trials) streamed from the case file and the store, so a run of any
size is reported in flat memory. The result is ordinary JSON.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO, Any

import orjson

from evallock.evaluation import EvalOutcome
from evallock.records import CaseResult, EvalRecord, ToolCall

__all__ = ["RunReportWriter", "case_entry", "run_report", "run_report_head", "write_run_report"]


def run_report_head(outcome: EvalOutcome) -> dict[str, Any]:
    """Every field of the report but ``cases``."""
    gate = outcome.gate
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
        "pass_rate_ci": gate.pass_rate_ci.to_json(),
        "pass_rate_ci_method": gate.pass_rate_ci.method,
        "locks_failed": list(gate.locks_failed),
        "locks_errored": list(gate.locks_errored),
        "new_failures": list(gate.new_failures),
        "flaky": list(gate.flaky),
        "errored_cases": list(gate.errored_ids),
        "baseline_run_id": gate.baseline_run_id,
        "verdict": gate.verdict,
        "judge_calibration": None if outcome.calibration is None else outcome.calibration.as_json(),
        "reasons": list(gate.reasons),
        "warnings": list(gate.warnings),
        "thresholds": {
            "min_pass_rate": gate.thresholds.min_pass_rate,
            "max_new_failures": gate.thresholds.max_new_failures,
            "gate_on": gate.thresholds.gate_on,
        },
        "separation": None
        if gate.separation is None
        else {
            "bad": gate.separation.bad,
            "good": gate.separation.good,
            "bad_passes": gate.separation.bad_passes,
            "good_fails": gate.separation.good_fails,
            "n_needed": gate.separation.n_needed,
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
    }


def case_entry(result: CaseResult, records: Iterable[EvalRecord]) -> dict[str, Any]:
    """One element of ``cases``: the folded result and each trial."""
    return {
        "id": result.case_id,
        "passed": result.passed,
        "score": result.score,
        "judge_score": result.judge_score,
        "reason": result.reason,
        "output": result.output,
        "turns": result.turns,
        "tool_calls": [_call(call) for call in result.tool_calls],
        "error": result.error,
        "lock": result.lock,
        "flaky": result.flaky,
        "keys": result.keys,
        "trials": [
            {
                "trial": record.trial,
                "passed": record.passed,
                "score": record.score,
                "judge_score": record.judge_score,
                "reason": record.reason,
                "output": record.output,
                "turns": record.turns,
                "tool_calls": [_call(call) for call in record.tool_calls],
                "error": record.error,
                "error_kind": record.error_kind,
                "latency_ms": record.latency_ms,
            }
            for record in records
        ],
    }


def _call(call: ToolCall) -> dict[str, Any]:
    return {"name": call.name, "arguments": call.arguments}


class RunReportWriter:
    """Writes the report as results are handed to it: the figures first (indented),
    then a line per case, so a run of any size is reported in flat memory."""

    def __init__(self, outcome: EvalOutcome, handle: IO[bytes]) -> None:
        """Write the figures; :meth:`add` each case, then :meth:`close`."""
        self._handle = handle
        head = orjson.dumps(run_report_head(outcome), option=orjson.OPT_INDENT_2)
        handle.write(head[:-2])  # without the closing "\n}"
        handle.write(b',\n  "cases": [')
        self._separator = b"\n    "

    def add(self, result: CaseResult, records: Iterable[EvalRecord]) -> None:
        """Write one case with its trials."""
        self._handle.write(self._separator)
        self._handle.write(orjson.dumps(case_entry(result, records)))
        self._separator = b",\n    "

    def close(self) -> None:
        """End the document."""
        self._handle.write(b"\n  ]\n}\n")


def write_run_report(outcome: EvalOutcome, handle: IO[bytes]) -> None:
    """Write the whole report, reading the results once."""
    writer = RunReportWriter(outcome, handle)
    for result, records in outcome.iter_trials():
        writer.add(result, records)
    writer.close()


def run_report(outcome: EvalOutcome) -> dict[str, Any]:
    """The whole report as one dict (for small runs; :func:`write_run_report` streams)."""
    return {
        **run_report_head(outcome),
        "cases": [case_entry(result, records) for result, records in outcome.iter_trials()],
    }
