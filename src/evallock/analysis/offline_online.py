"""Offline ⋈ online: the eval score beside the production outcome, slice by slice.

Eval records and traces carry the same keys, so both can be grouped by, say,
``prompt_version,customer_tier``. The offline side of a slice comes from one run
of each version (by default its newest passing gate run, the one its deploy was
decided on; or the runs named; records carry the run's keys and the case's): pass
rate with its Wilson interval, judge score with a t interval. The online side
comes from the traces of the window: thumbs-down rate and error rate (Wilson),
and the judge score of drift samples (t interval).

When the slices include a version key (prompt_version, model_version …), each
version is compared with the one deployed before it (by first trace, else by
run) on the same other keys. A slice is flagged **offline win, online loss**
when offline said the new version is better — its own cases' pass rate rose, or,
when they could not tell (no change, or no cases), the run's pass rate rose —
while online its thumbs-down rate rose or its judge score fell, significantly:
the two-sided p-value (pooled two-proportion z-test, Welch's t) adjusted with
Benjamini-Hochberg over all the slices compared is at most 0.05, since a scan of
many slices would otherwise flag one by chance. A loss that is not significant is
*inconclusive*. The intervals shown are unadjusted 95 % intervals (Newcombe for
the rates, Welch for the means). Offline changes are paired where the runs share
cases (as in ``history``).
Slices with traffic and no eval case are flagged **no offline coverage**.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from evallock.analysis._analysis_store import OfflineOnlineStore
from evallock.analysis._offline_online import (
    NO_OFFLINE_COVERAGE,
    NO_ONLINE_TRAFFIC,
    OFFLINE_WIN_ONLINE_LOSS,
    OfflineOnline,
    OfflineOnlineSlice,
    OfflineSide,
    OnlineSide,
    SliceChange,
    offline_online_to_dict,
)
from evallock.analysis._slicing import (
    RUN_KEYS,
    OfflinePick,
    OfflineRun,
    mean_interval,
    offline_runs,
    proportion_difference,
    welch_difference,
)
from evallock.analysis.history import pass_delta
from evallock.errors import UsageError
from evallock.keys import Slice
from evallock.stats import adjust_benjamini_hochberg, wilson_interval

if TYPE_CHECKING:
    from evallock.store import SliceCounts

__all__ = [
    "OfflineOnline",
    "OfflineOnlineSlice",
    "OfflinePick",
    "OfflineSide",
    "OnlineSide",
    "SliceChange",
    "join_offline_online",
    "offline_online_to_dict",
]

SliceValues = tuple[str | None, ...]


def _online(counts: SliceCounts) -> OnlineSide:
    judge = mean_interval(counts.judge_n, counts.judge_sum, counts.judge_sumsq)
    return OnlineSide(
        n=counts.n,
        thumbs_down=counts.thumbs_down,
        thumbs_down_rate=counts.thumbs_down / counts.n,
        thumbs_down_ci=wilson_interval(counts.thumbs_down, counts.n),
        errors=counts.errors,
        error_rate=counts.errors / counts.n,
        error_ci=wilson_interval(counts.errors, counts.n),
        judge_n=counts.judge_n,
        judge_mean=None if judge is None else judge.mean,
        judge_ci=None if judge is None else judge.interval,
    )


def _offline(run: OfflineRun, values: SliceValues) -> OfflineSide | None:
    passes = run.slice_passes.get(values)
    if not passes:
        return None
    scores = run.slice_judge.get(values, [])
    judge = mean_interval(len(scores), sum(scores), sum(s * s for s in scores))
    passed = sum(passes.values())
    return OfflineSide(
        run_id=run.run.run_id,
        n=len(passes),
        passed=passed,
        pass_rate=passed / len(passes),
        pass_rate_ci=wilson_interval(passed, len(passes)),
        judge_n=len(scores),
        judge_mean=None if judge is None else judge.mean,
        judge_ci=None if judge is None else judge.interval,
    )


def _change(
    versus: dict[str, str | None],
    before: tuple[OfflineRun | None, SliceValues, SliceCounts | None],
    after: tuple[OfflineRun | None, SliceValues, SliceCounts | None],
) -> SliceChange:
    (run_a, values_a, online_a), (run_b, values_b, online_b) = before, after
    offline: dict[str, Any] = {}
    if run_a is not None and run_b is not None:
        delta = pass_delta(
            run_a.slice_passes.get(values_a, {}), run_b.slice_passes.get(values_b, {})
        )
        basis = "slice"
        if delta is None or delta.delta == 0:
            delta, basis = pass_delta(run_a.passes, run_b.passes), "overall"
        if delta is not None:
            offline = {
                "offline_delta": delta.delta,
                "offline_ci": delta.interval,
                "offline_test": delta.test,
                "offline_basis": basis,
            }
    online: dict[str, Any] = {}
    if online_a is not None and online_b is not None:
        thumbs = proportion_difference(
            online_a.thumbs_down, online_a.n, online_b.thumbs_down, online_b.n
        )
        online["thumbs_down_delta"], online["thumbs_down_ci"] = thumbs.delta, thumbs.interval
        tests = [thumbs.p_value if thumbs.delta > 0 else 1.0]
        judge = welch_difference(
            (online_a.judge_n, online_a.judge_sum, online_a.judge_sumsq),
            (online_b.judge_n, online_b.judge_sum, online_b.judge_sumsq),
        )
        if judge is not None:
            online["judge_delta"], online["judge_ci"] = judge.delta, judge.interval
            tests.append(judge.p_value if judge.delta < 0 else 1.0)
        # a loss on either measure counts: Bonferroni over the (one or two) tests
        online["p_value"] = min(1.0, min(tests) * len(tests))
    return SliceChange(versus=versus, **offline, **online)


def _verdicts(changes: list[SliceChange | None], alpha: float) -> list[SliceChange | None]:
    """Adjust the slices' online p-values together (BH) and decide each verdict."""
    tested = [
        (i, c, c.p_value) for i, c in enumerate(changes) if c is not None and c.p_value is not None
    ]
    adjusted = adjust_benjamini_hochberg([p for _, _, p in tested]).adjusted if tested else ()
    done = list(changes)
    for (i, change, _), p_adjusted in zip(tested, adjusted, strict=True):
        offline_win = (change.offline_delta or 0.0) > 0
        worse = (change.thumbs_down_delta or 0.0) > 0 or (change.judge_delta or 0.0) < 0
        verdict = "consistent"
        if offline_win and worse:
            verdict = OFFLINE_WIN_ONLINE_LOSS if p_adjusted <= alpha else "inconclusive"
        done[i] = replace(change, p_adjusted=p_adjusted, verdict=verdict)
    return done


def join_offline_online(
    store: OfflineOnlineStore,
    *,
    by: Sequence[str],
    since: datetime | None = None,
    until: datetime | None = None,
    dataset_name: str | None = None,
    pick: OfflinePick | None = None,
    alpha: float = 0.05,
) -> OfflineOnline:
    """Put each slice's offline score beside its online outcome, and flag the conflicts.

    Args:
        store: the store.
        by: slice keys, e.g. ``("prompt_version", "customer_tier")``.
        since: start of the traces' window (all traces when None).
        until: end of the traces' window.
        dataset_name: the case file whose runs count (default: that of the newest run).
        pick: which runs are the offline side (named runs, a window); ``dataset_name``
            fills its case file when it names none.
        alpha: the false discovery rate of the online-loss tests across slices.

    Raises:
        UsageError: no slice keys.
    """
    keys = tuple(dict.fromkeys(k.strip() for k in by if k.strip()))
    if not keys:
        raise UsageError("--by: give at least one key, e.g. prompt_version,customer_tier")
    version_at = [i for i, k in enumerate(keys) if k in RUN_KEYS]
    other_at = [i for i, k in enumerate(keys) if k not in RUN_KEYS]
    pick = pick or OfflinePick()
    if dataset_name is not None and pick.dataset_name is None:
        pick = replace(pick, dataset_name=dataset_name)
    dataset, runs, rule = offline_runs(store, keys, pick)
    try:
        counts = store.traces.slices(keys, since=since, until=until)
    except ValueError as exc:
        raise UsageError(f"--by: {exc}") from None
    by_values = {c.slice.values: c for c in counts if c.n}
    online = {values: _online(c) for values, c in by_values.items()}

    def version(values: SliceValues) -> SliceValues:
        return tuple(values[i] for i in version_at)

    def other(values: SliceValues) -> SliceValues:
        return tuple(values[i] for i in other_at)

    offline: dict[SliceValues, tuple[OfflineRun, OfflineSide]] = {}
    for run in runs.values():
        for values in run.slice_passes:
            side = _offline(run, values)
            if side is not None and version(values) == run.version:
                offline[values] = (run, side)
    # deploy order: the first trace of each version, else the start of its run
    first: dict[SliceValues, datetime] = {}
    for c in counts:
        v = version(c.slice.values)
        if c.first_seen is not None and (v not in first or c.first_seen < first[v]):
            first[v] = c.first_seen
    for v, run in runs.items():
        first.setdefault(v, run.run.started_at)
    order = sorted(first, key=lambda v: (first[v], tuple(x or "" for x in v)))
    universe = sorted(set(online) | set(offline), key=lambda v: tuple(x or "" for x in v))
    present = set(universe)
    changes: list[SliceChange | None] = []
    for values in universe:
        change = None
        if version_at and version(values) in order:
            position = order.index(version(values))
            earlier = [
                v
                for v in order[:position]
                if _merge(v, other(values), version_at, other_at) in present
            ]
            if earlier:
                prev = earlier[-1]
                prev_values = _merge(prev, other(values), version_at, other_at)
                change = _change(
                    {keys[i]: prev[j] for j, i in enumerate(version_at)},
                    (runs.get(prev), prev_values, by_values.get(prev_values)),
                    (runs.get(version(values)), values, by_values.get(values)),
                )
        changes.append(change)
    slices: list[OfflineOnlineSlice] = []
    for values, change in zip(universe, _verdicts(changes, alpha), strict=True):
        found = offline.get(values)
        side_online = online.get(values)
        flags: list[str] = []
        if change is not None and change.verdict == OFFLINE_WIN_ONLINE_LOSS:
            flags.append(OFFLINE_WIN_ONLINE_LOSS)
        if side_online is not None and found is None:
            flags.append(NO_OFFLINE_COVERAGE)
        if found is not None and side_online is None:
            flags.append(NO_ONLINE_TRAFFIC)
        slices.append(
            OfflineOnlineSlice(
                slice=Slice.of(keys, values),
                offline=None if found is None else found[1],
                online=side_online,
                change=change,
                flags=tuple(flags),
            )
        )
    slices.sort(key=lambda s: (OFFLINE_WIN_ONLINE_LOSS not in s.flags, not s.flags))
    return OfflineOnline(
        by=keys,
        since=since,
        until=until,
        dataset_name=dataset,
        runs=tuple(runs.values()),
        offline_rule=rule,
        slices=tuple(slices),
    )


def _merge(
    version: SliceValues, other: SliceValues, version_at: list[int], other_at: list[int]
) -> SliceValues:
    values: list[str | None] = [None] * (len(version_at) + len(other_at))
    for j, i in enumerate(version_at):
        values[i] = version[j]
    for j, i in enumerate(other_at):
        values[i] = other[j]
    return tuple(values)
