"""Slicing helpers shared by compare and coverage: runs per version, and mean intervals.

The offline side of a slice is one run per version (the newest complete run for
each combination of the version keys in the slices), its records folded per case
— pass by strict majority of trials, judge score by the mean of trials — and
grouped by the records' values of the slice keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from evallock.analysis._analysis_store import HistoryStore
from evallock.analysis.history import passes_by_case
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


def offline_runs(
    store: HistoryStore, keys: Sequence[str], *, dataset_name: str | None
) -> tuple[str | None, dict[SliceValues, OfflineRun]]:
    """The newest complete run of each version of a dataset, folded and sliced.

    Returns:
        The dataset name used (that of the newest complete run when None was given)
        and the runs by their values of the version keys among ``keys``.
    """
    version_keys = [k for k in keys if k in RUN_KEYS]
    runs = store.runs.find(dataset_name=dataset_name, status="complete")
    if not runs:
        return dataset_name, {}
    name = dataset_name or runs[0].dataset_name
    chosen: dict[SliceValues, Run] = {}
    for run in runs:  # newest first
        if run.dataset_name != name:
            continue
        version = tuple(run.keys.get(k) or None for k in version_keys)
        chosen.setdefault(version, run)
    folded = {
        version: _fold(run, version, keys, list(store.runs.iter_records(run.run_id)))
        for version, run in chosen.items()
    }
    return name, folded


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
