"""Run history: pass rate per run over time, with intervals and the deltas between runs.

Consecutive runs that share cases are compared *paired* (McNemar mid-p on the
shared cases, CLT interval on the per-case differences); runs with no shared
cases fall back to the difference of two independent proportions (Newcombe's
hybrid score interval). A change of a version key between two runs (a new
prompt or model) is a deploy mark.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from evallock.analysis._analysis_store import HistoryStore
from evallock.keys import DEPLOY_KEYS
from evallock.records import EvalRecord, Run, passes_by_majority
from evallock.stats import Interval, newcombe_interval, wilson_interval
from evallock.stats.paired import mcnemar_test, paired_difference

__all__ = [
    "HistoryPoint",
    "RunDelta",
    "history_rows",
    "pass_delta",
    "passes_by_case",
    "run_history",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class RunDelta:
    """The change of pass rate from the previous run to this one."""

    delta: float
    """This run's pass rate minus the previous run's."""
    interval: Interval
    """95 % interval of the delta."""
    p_value: float | None
    """Two-sided p-value of "no change" (None when it cannot be tested)."""
    test: str
    """The test used, e.g. ``McNemar mid-p, 24 shared cases``."""
    n_shared: int
    """Cases present in both runs."""
    newly_failing: tuple[str, ...]
    """Cases that passed on the previous run and do not pass now."""
    newly_passing: tuple[str, ...]
    """Cases that failed on the previous run and pass now."""


@dataclass(frozen=True, kw_only=True, slots=True)
class HistoryPoint:
    """One run in the history."""

    run: Run
    """The run."""
    n: int
    """Cases graded."""
    passed: int
    """Cases passed."""
    pass_rate: float
    """passed / n."""
    interval: Interval
    """95 % Wilson interval of the pass rate."""
    delta: RunDelta | None
    """The change from the previous run, None for the first."""
    changed_keys: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    judge_changed: tuple[str | None, str | None] | None = None
    """``(before, after)`` judge_version when the judge or rubric changed since the run
    before: judged cases' scores are then not comparable across the two."""
    """Deploy keys that changed since the previous run: name → (before, after)."""


def passes_by_case(records: Iterable[EvalRecord]) -> dict[str, bool]:
    """Case id → passed by strict majority of its trials."""
    counts: dict[str, list[int]] = {}
    for record in records:
        tally = counts.setdefault(record.case_id, [0, 0])
        tally[0] += int(record.passed)
        tally[1] += 1
    return {case_id: passes_by_majority(won, total) for case_id, (won, total) in counts.items()}


def run_history(
    store: HistoryStore,
    dataset_name: str,
    *,
    limit: int = 20,
    kinds: Collection[str] = ("gate",),
) -> list[HistoryPoint]:
    """The complete runs of a dataset, oldest first, each with its delta from the one before.

    Args:
        store: the store.
        dataset_name: the case file's name (its stem); every version of the file counts.
        limit: how many of the newest runs to show.
        kinds: the run kinds shown (the deploy timeline: gate runs only).
    """
    found = store.runs.find(dataset_name=dataset_name, status="complete", limit=None)
    runs = [run for run in found if run.kind in kinds][:limit]
    runs.reverse()
    points: list[HistoryPoint] = []
    previous: tuple[Run, dict[str, bool]] | None = None
    for run in runs:
        passes = passes_by_case(store.runs.iter_records(run.run_id))
        n = len(passes)
        passed = sum(passes.values())
        delta = None
        changed: dict[str, tuple[str | None, str | None]] = {}
        judge: tuple[str | None, str | None] | None = None
        if previous is not None:
            prev_run, prev_passes = previous
            delta = pass_delta(prev_passes, passes)
            for key in DEPLOY_KEYS:
                before, after = prev_run.keys.get(key), run.keys.get(key)
                if before != after:
                    changed[key] = (before, after)
            old_judge, new_judge = prev_run.keys.get("judge_version"), run.keys.get("judge_version")
            if old_judge and new_judge and old_judge != new_judge:
                judge = (old_judge, new_judge)
        points.append(
            HistoryPoint(
                run=run,
                n=n,
                passed=passed,
                pass_rate=passed / n if n else 0.0,
                interval=wilson_interval(passed, n),
                delta=delta,
                changed_keys=changed,
                judge_changed=judge,
            )
        )
        previous = (run, passes)
    return points


def pass_delta(before: dict[str, bool], after: dict[str, bool]) -> RunDelta | None:
    """The pass-rate change between two runs; paired on the cases they share."""
    if not before or not after:
        return None
    shared = [case_id for case_id in after if case_id in before]
    newly_failing = tuple(c for c in shared if before[c] and not after[c])
    newly_passing = tuple(c for c in shared if not before[c] and after[c])
    if len(shared) >= 2:
        a = [float(before[c]) for c in shared]
        b = [float(after[c]) for c in shared]
        diff = paired_difference(a, b)
        test = mcnemar_test(a, b)
        assert diff.interval is not None
        return RunDelta(
            delta=diff.estimate,
            interval=diff.interval,
            p_value=test.p_value,
            test=f"{test.method}, {len(shared)} shared cases",
            n_shared=len(shared),
            newly_failing=newly_failing,
            newly_passing=newly_passing,
        )
    n1, x1 = len(before), sum(before.values())
    n2, x2 = len(after), sum(after.values())
    return RunDelta(
        delta=x2 / n2 - x1 / n1,
        interval=newcombe_interval(x1, n1, x2, n2),
        p_value=None,
        test="Newcombe interval, no shared cases",
        n_shared=len(shared),
        newly_failing=newly_failing,
        newly_passing=newly_passing,
    )


def history_rows(points: Sequence[HistoryPoint]) -> list[dict[str, Any]]:
    """The history as JSON-ready rows."""
    rows = []
    for point in points:
        delta = point.delta
        rows.append(
            {
                "run_id": point.run.run_id,
                "started_at": point.run.started_at.isoformat(),
                "dataset_id": point.run.dataset_id,
                "keys": point.run.keys,
                "verdict": point.run.verdict,
                "n": point.n,
                "passed": point.passed,
                "pass_rate": point.pass_rate,
                "pass_rate_ci": point.interval.to_json(),
                "delta": None
                if delta is None
                else {
                    "delta": delta.delta,
                    "ci": delta.interval.to_json(),
                    "p_value": delta.p_value,
                    "test": delta.test,
                    "n_shared": delta.n_shared,
                    "newly_failing": list(delta.newly_failing),
                    "newly_passing": list(delta.newly_passing),
                },
                "changed_keys": {k: list(v) for k, v in point.changed_keys.items()},
                "judge_changed": None if point.judge_changed is None else list(point.judge_changed),
            }
        )
    return rows
