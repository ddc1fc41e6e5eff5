"""Slicing helpers shared by compare and coverage: runs per version, and mean intervals.

The offline side of a slice is one run per version (by default the newest passing
gate run for each combination of the version keys in the slices, see
:func:`offline_runs`), its records folded per case
— pass by strict majority of trials, judge score by the mean of trials — and
grouped by the records' values of the slice keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from evallock.analysis._analysis_store import HistoryStore
from evallock.analysis.history import passes_by_case
from evallock.errors import UsageError
from evallock.keys import RUN_KEYS
from evallock.records import EvalRecord, Run
from evallock.stats import (
    Difference,
    Interval,
    proportion_difference,
    t_mean_interval,
    welch_difference,
)

__all__ = [
    "RUN_KEYS",
    "Difference",
    "Mean",
    "OfflinePick",
    "OfflineRun",
    "mean_interval",
    "offline_runs",
    "proportion_difference",
    "welch_difference",
]


SliceValues = tuple[str | None, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class OfflineRun:
    """One run, its cases folded and grouped by slice."""

    run: Run
    """The run."""
    version: SliceValues
    """Its values of the version keys among the slice keys."""
    passes: dict[str, bool] = field(default_factory=dict)
    """Case id → passed, every case of the run."""
    slice_passes: dict[SliceValues, dict[str, bool]] = field(default_factory=dict)
    """Slice values → case id → passed."""
    slice_judge: dict[SliceValues, list[float]] = field(default_factory=dict)
    """Slice values → the per-case mean judge scores."""


def _fold(
    run: Run, version: SliceValues, keys: Sequence[str], records: list[EvalRecord]
) -> OfflineRun:
    passes = passes_by_case(records)
    where: dict[str, SliceValues] = {}
    judged: dict[str, list[int]] = {}
    for record in records:
        where.setdefault(record.case_id, tuple(record.keys.get(k) or None for k in keys))
        if record.judge_score is not None:
            judged.setdefault(record.case_id, []).append(record.judge_score)
    slice_passes: dict[SliceValues, dict[str, bool]] = {}
    slice_judge: dict[SliceValues, list[float]] = {}
    for case_id, passed in passes.items():
        values = where[case_id]
        slice_passes.setdefault(values, {})[case_id] = passed
        if case_id in judged:
            scores = judged[case_id]
            slice_judge.setdefault(values, []).append(sum(scores) / len(scores))
    return OfflineRun(
        run=run,
        version=version,
        passes=passes,
        slice_passes=slice_passes,
        slice_judge=slice_judge,
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class OfflinePick:
    """Which runs are the offline side: named ones, or the rule's within a case file and window."""

    run_ids: tuple[str, ...] = ()
    """Runs named explicitly (``--run``): these, one per version, whatever their kind."""
    dataset_name: str | None = None
    """The case file (its name) whose runs count; default that of the newest chosen run."""
    since: datetime | None = None
    """Only runs started at or after this."""
    until: datetime | None = None
    """Only runs started before this."""


def offline_runs(
    store: HistoryStore, keys: Sequence[str], pick: OfflinePick | None = None
) -> tuple[str | None, dict[SliceValues, OfflineRun], str]:
    """The offline side: one complete run per version, folded and sliced, and why those.

    By default, per version, the newest *passing gate* run — the one its deploy was
    decided on — else its newest gate run (A/B arms and experiments never count), of
    one case file. A version re-run later on a grown case file (say, after locks were
    promoted from production) does not move the comparison off the run that let it
    ship. ``pick.run_ids`` names the runs instead.

    Returns:
        The dataset name used, the runs by their values of the version keys among
        ``keys``, and the rule that chose them, in words.

    Raises:
        UsageError: a named run does not exist or is not complete, or two named runs
            share a version.
    """
    pick = pick or OfflinePick()
    version_keys = [k for k in keys if k in RUN_KEYS]

    def version_of(run: Run) -> SliceValues:
        return tuple(run.keys.get(k) or None for k in version_keys)

    chosen: dict[SliceValues, Run] = {}
    if pick.run_ids:
        for run_id in dict.fromkeys(pick.run_ids):
            run = store.runs.get(run_id)
            if run is None or run.status != "complete":
                state = "no such run" if run is None else f"the run is {run.status}"
                raise UsageError(f"--run {run_id}: {state} (see `evallock history`)")
            if version_of(run) in chosen:
                other = chosen[version_of(run)].run_id
                raise UsageError(
                    f"--run {run_id} and {other} are the same version"
                    f" ({', '.join(version_keys) or 'no version key in --by'}):"
                    " name one per version"
                )
            chosen[version_of(run)] = run
        names = {run.dataset_name for run in chosen.values()}
        return (
            names.pop() if len(names) == 1 else None,
            _folded(store, keys, chosen),
            "the runs named with --run",
        )
    runs = [
        run
        for run in store.runs.find(dataset_name=pick.dataset_name, status="complete")
        if run.kind == "gate"
        and (pick.since is None or run.started_at >= pick.since)
        and (pick.until is None or run.started_at < pick.until)
    ]
    passing = [run for run in runs if run.verdict == "pass"]
    if not runs:
        return pick.dataset_name, {}, _rule(pick)
    name = pick.dataset_name or (passing or runs)[0].dataset_name
    for run in passing + runs:  # newest first, passing runs before the rest
        if run.dataset_name == name:
            chosen.setdefault(version_of(run), run)
    return name, _folded(store, keys, chosen), _rule(pick)


def _rule(pick: OfflinePick) -> str:
    window = ""
    if pick.since is not None or pick.until is not None:
        start = pick.since.isoformat() if pick.since else "…"
        end = pick.until.isoformat() if pick.until else "now"
        window = f", started {start}..{end}"
    return (
        "per version, the newest passing gate run (the deploy decision), else its newest gate"
        f" run{window}"
    )


def _folded(
    store: HistoryStore, keys: Sequence[str], chosen: dict[SliceValues, Run]
) -> dict[SliceValues, OfflineRun]:
    return {
        version: _fold(run, version, keys, list(store.runs.iter_records(run.run_id)))
        for version, run in chosen.items()
    }


@dataclass(frozen=True, kw_only=True, slots=True)
class Mean:
    """A mean score with its 95 % t interval (None for a single score)."""

    mean: float
    """The mean."""
    interval: Interval | None
    """Its 95 % t interval."""


def mean_interval(n: int, total: float, squares: float) -> Mean | None:
    """Mean of ``n`` scores from their sum and sum of squares, with a 95 % t interval.

    None without scores; the interval is None for a single score.
    """
    if n <= 0:
        return None
    return Mean(mean=total / n, interval=t_mean_interval(n, total, squares))
