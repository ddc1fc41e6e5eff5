"""What a run's page shows, read from the store: its verdict and why, and its cases.

A run's trial records are folded into one result per case (pass by majority, as the
gate does), each beside the same case in the run it was compared with (its baseline):
passed there or not, and its answer there with the words that changed marked. A case
is a *lock* when the gate reported it among the locks, or when it was promoted from a
production trace (the review queue keeps which trace; the page links to it). Nothing
here is HTML: the template escapes every text.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from evallock.records import CaseHead, CaseResult, EvalRecord, Run
from evallock.runner import aggregate_results

if TYPE_CHECKING:
    from evallock.store import Store

__all__ = [
    "CASES_SHOWN",
    "STATUSES",
    "CaseRow",
    "Disagreement",
    "RunView",
    "Segment",
    "disagreements",
    "run_view",
]

CASES_SHOWN = 500
"""Most case rows on one page (the counts cover every case)."""
STATUSES = ("passed", "failed", "errored", "flaky", "lock", "new failure")
"""What the cases table can be filtered to."""
MAX_DIFFED = 20_000
"""Answers longer than this (both together, in characters) are shown, not diffed."""

Status = Literal["passed", "failed", "errored"]


@dataclass(frozen=True, slots=True)
class Segment:
    """A run of words in a diff: unchanged (``same``), only in the baseline's answer
    (``gone``) or only in this run's (``new``)."""

    kind: Literal["same", "gone", "new"]
    text: str


@dataclass(frozen=True, kw_only=True, slots=True)
class CaseRow:
    """One case of the run, beside the same case in the baseline run."""

    result: CaseResult
    status: Status
    lock: bool
    trace_id: str | None
    """The production trace a promoted lock was made from."""
    passed_before: bool | None
    """Passed in the baseline run (None: no baseline, or the case was not in it)."""
    diff: list[Segment] | None
    """This answer against the baseline's, word by word (None: no baseline answer)."""

    @property
    def new_failure(self) -> bool:
        """Passed in the baseline run, does not pass now."""
        return self.passed_before is True and not self.result.passed

    def shows_as(self, wanted: str) -> bool:
        """Whether the row belongs under the filter ``wanted`` (one of :data:`STATUSES`)."""
        if wanted == "flaky":
            return self.result.flaky
        if wanted == "lock":
            return self.lock
        if wanted == "new failure":
            return self.new_failure
        return self.status == wanted


@dataclass(frozen=True, kw_only=True, slots=True)
class RunView:
    """A run, its baseline and its case rows (filtered), with the counts of every kind."""

    run: Run
    baseline: Run | None
    rows: list[CaseRow]
    """The rows the filters keep, at most :data:`CASES_SHOWN`."""
    matching: int
    """How many rows the filters keep in all."""
    counts: dict[str, int] = field(default_factory=dict)
    """Cases of each kind in :data:`STATUSES`, unfiltered, and ``all``."""


def run_view(
    store: Store, run_id: str, *, status: str = "", keys: dict[str, str] | None = None
) -> RunView | None:
    """The page of run ``run_id`` (None when there is no such run).

    ``status`` keeps the cases of one kind (:data:`STATUSES`; empty: all) and ``keys``
    the cases whose keys have these values.
    """
    run = store.runs.get(run_id)
    if run is None:
        return None
    baseline = store.runs.get(run.baseline_run_id) if run.baseline_run_id else None
    results = _results(store.runs.iter_records(run.run_id))
    before = _results(store.runs.iter_records(baseline.run_id)) if baseline else {}
    summary = run.summary
    locks = set(summary.locks_failed + summary.locks_errored) if summary else set()
    traces = _promoted_traces(store)
    rows = [
        _row(result, before.get(case_id), lock=case_id in locks or case_id in traces,
             trace_id=traces.get(case_id))
        for case_id, result in results.items()
    ]  # fmt: skip
    counts = {"all": len(rows)} | {
        name: sum(row.shows_as(name) for row in rows) for name in STATUSES
    }
    kept = [
        row
        for row in rows
        if (not status or row.shows_as(status))
        and all(row.result.keys.get(k) == v for k, v in (keys or {}).items())
    ]
    return RunView(
        run=run, baseline=baseline, rows=kept[:CASES_SHOWN], matching=len(kept), counts=counts
    )


def _results(records: Iterable[EvalRecord]) -> dict[str, CaseResult]:
    """Each case's result over its trials, in the order the cases were first answered."""
    listed = list(records)
    heads: dict[str, CaseHead] = {}
    for record in listed:
        if record.case_id not in heads:
            heads[record.case_id] = CaseHead(id=record.case_id, keys=dict(record.keys))
    folded = aggregate_results(heads.values(), listed)
    return {result.case_id: result for result in folded}


def _promoted_traces(store: Store) -> dict[str, str]:
    """Case id → the production trace each promoted candidate was made from."""
    promoted = store.candidates.find(states=["promoted"], limit=None)
    return {c.case_id: c.trace_ids[0] for c in promoted if c.case_id and c.trace_ids}


def _row(
    result: CaseResult, before: CaseResult | None, *, lock: bool, trace_id: str | None
) -> CaseRow:
    status: Status = "errored" if result.errored else "passed" if result.passed else "failed"
    diff = None
    old = before.output if before is not None else None
    new = result.output
    if old is not None and new is not None and len(old) + len(new) <= MAX_DIFFED:
        diff = word_diff(old, new)
    return CaseRow(
        result=result,
        status=status,
        lock=lock,
        trace_id=trace_id,
        passed_before=None if before is None else before.passed,
        diff=diff,
    )


_WORDS = re.compile(r"\s*\S+|\s+")


def word_diff(old: str, new: str) -> list[Segment]:
    """``new`` against ``old``, word by word (whitespace kept with the word after it).

    >>> [(s.kind, s.text) for s in word_diff("Refunds take 30 days.", "Refunds take 5 days.")]
    [('same', 'Refunds take'), ('gone', ' 30'), ('new', ' 5'), ('same', ' days.')]
    """
    a, b = _WORDS.findall(old), _WORDS.findall(new)
    segments: list[Segment] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            segments.append(Segment("same", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            segments.append(Segment("gone", "".join(a[i1:i2])))
        if j2 > j1:
            segments.append(Segment("new", "".join(b[j1:j2])))
    return segments


@dataclass(frozen=True, kw_only=True, slots=True)
class Disagreement:
    """A case the two arms of an A/B decided differently, side by side."""

    a: CaseResult
    b: CaseResult
    diff: list[Segment] | None
    """B's answer against A's, word by word (None: an answer missing or too long)."""


def disagreements(
    store: Store, run_a: str, run_b: str, *, limit: int = CASES_SHOWN
) -> list[Disagreement]:
    """The paired cases one arm passed and the other did not (B's wins first)."""
    a = _results(store.runs.iter_records(run_a))
    b = _results(store.runs.iter_records(run_b))
    found = []
    for case_id, left in a.items():
        right = b.get(case_id)
        if right is None or left.passed == right.passed:
            continue
        old, new = left.output, right.output
        diff = None
        if old is not None and new is not None and len(old) + len(new) <= MAX_DIFFED:
            diff = word_diff(old, new)
        found.append(Disagreement(a=left, b=right, diff=diff))
    found.sort(key=lambda d: (not d.b.passed, d.a.case_id))
    return found[:limit]
