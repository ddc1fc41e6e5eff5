"""Folding trial records into case results: in memory, or streamed from the store.

A :class:`_Tally` keeps what a case's trials add up to without keeping them;
:func:`stream_results` reads a stored run a block of cases at a time, so a
run of any size is folded in flat memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from evallock.records import (
    CaseHead,
    CaseResult,
    ErrorKind,
    EvalRecord,
    ToolCall,
    passes_by_majority,
)
from evallock.runner._run_store import ResultStore

__all__ = ["aggregate_results", "blocks", "stream_results"]

_T = TypeVar("_T")


def blocks(items: Iterable[_T], size: int) -> Iterator[list[_T]]:
    """Lists of up to ``size`` items, in order."""
    block: list[_T] = []
    for item in items:
        block.append(item)
        if len(block) == size:
            yield block
            block = []
    if block:
        yield block


def stream_results(
    cases: Iterable[CaseHead],
    store: ResultStore,
    run_id: str,
    *,
    baseline_run_id: str | None = None,
    block: int = 500,
) -> Iterator[tuple[CaseResult, list[EvalRecord], bool | None]]:
    """A stored run's results in the cases' order, read from the store a block at a time.

    Yields ``(result, the case's trial records by trial, passed on the baseline run)``;
    the last is None without a baseline or when the baseline has no record of the
    case. Cases with no record (an interrupted run) are left out. Only one
    block of cases and their records is in memory at a time.
    """
    for chunk in blocks(cases, block):
        ids = [case.id for case in chunk]
        by_case: dict[str, list[EvalRecord]] = {}
        for record in store.runs.records_of_cases(run_id, ids):
            by_case.setdefault(record.case_id, []).append(record)
        before: dict[str, bool] = {}
        if baseline_run_id is not None:
            tallies: dict[str, _Tally] = {}
            for record in store.runs.records_of_cases(baseline_run_id, ids):
                tallies.setdefault(record.case_id, _Tally()).add(record)
            before = {
                case_id: passes_by_majority(tally.passed, tally.n)
                for case_id, tally in tallies.items()
            }
        for case in chunk:
            records = by_case.get(case.id)
            if not records:
                continue
            records.sort(key=lambda r: r.trial)
            tally = _Tally()
            for record in records:
                tally.add(record)
            yield tally.result(case), records, before.get(case.id)


def aggregate_results(cases: Iterable[CaseHead], records: Iterable[EvalRecord]) -> list[CaseResult]:
    """Fold trial records into one :class:`CaseResult` per case, in the cases' order.

    Pass by strict majority of trials (a tie does not pass), score by mean of the
    trials that produced an answer; a case errored only when every trial errored.
    Cases with no record (an interrupted run) are left out. Records are folded as
    they stream in: only a small tally per case is kept, not the records.
    """
    tallies: dict[str, _Tally] = {}
    for record in records:
        tally = tallies.get(record.case_id)
        if tally is None:
            tally = tallies[record.case_id] = _Tally()
        tally.add(record)
    return [tallies[case.id].result(case) for case in cases if case.id in tallies]


class _Tally:
    """What a case's trials add up to, without keeping the trials."""

    __slots__ = (
        "error",
        "error_kind",
        "errored",
        "fail_reason",
        "fail_trial",
        "first_error_trial",
        "judge_n",
        "judge_sum",
        "n",
        "output",
        "output_trial",
        "passed",
        "score_n",
        "score_sum",
        "tool_calls",
        "turns",
    )

    def __init__(self) -> None:
        self.n = self.passed = self.score_n = self.judge_n = self.errored = 0
        self.score_sum = self.judge_sum = 0.0
        self.fail_reason: str | None = None
        self.fail_trial = self.output_trial = self.first_error_trial = 1 << 30
        self.output: str | None = None
        self.tool_calls: tuple[ToolCall, ...] = ()
        self.turns = 1
        self.error: str | None = None
        self.error_kind: ErrorKind | None = None

    def add(self, r: EvalRecord) -> None:
        self.n += 1
        self.passed += r.passed
        if r.score is not None:
            self.score_n += 1
            self.score_sum += r.score
        if r.judge_score is not None:
            self.judge_n += 1
            self.judge_sum += r.judge_score
        if not r.passed and r.trial < self.fail_trial:
            self.fail_trial, self.fail_reason = r.trial, r.reason
        if r.error_kind != "target" and r.trial < self.output_trial:
            self.output_trial, self.output = r.trial, r.output
            self.tool_calls, self.turns = r.tool_calls, r.turns
        if r.error is not None:
            self.errored += 1
            if r.trial < self.first_error_trial:
                self.first_error_trial, self.error, self.error_kind = r.trial, r.error, r.error_kind

    def result(self, case: CaseHead) -> CaseResult:
        all_errored = self.errored == self.n
        return CaseResult(
            case_id=case.id,
            passed=passes_by_majority(self.passed, self.n),
            score=self.score_sum / self.score_n if self.score_n else None,
            reason=self.fail_reason if self.fail_reason is not None else "ok",
            output=self.output,
            error=self.error if all_errored else None,
            error_kind=self.error_kind if all_errored else None,
            trials=self.n,
            trials_passed=self.passed,
            judge_score=self.judge_sum / self.judge_n if self.judge_n else None,
            lock=case.is_lock,
            keys=dict(case.keys),
            source=case.source,
            tool_calls=self.tool_calls,
            turns=self.turns,
        )
