"""What the dashboard shows, read from the store: plain data, every rate with its interval.

Five panels (DESIGN §5): eval runs over time, drift reports, A/B comparisons,
slices of live traffic, and the review queue. Each is a list of small dicts or
dataclasses the template renders; nothing here is HTML, and no text is trusted
(the template escapes everything).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from evallock.keys import DEFAULT_SLICE_KEYS, Slice
from evallock.stats import t_mean_interval, wilson_interval

if TYPE_CHECKING:
    from evallock.records import Candidate, Run, StoredComparison, StoredDriftReport
    from evallock.store import SliceCounts, Store

__all__ = [
    "Chart",
    "ComparisonRow",
    "Dashboard",
    "DriftRow",
    "DriftSlice",
    "RunPoint",
    "SliceRow",
    "date_ticks",
    "gather",
]

RUNS_SHOWN = 60
"""Runs read for the table and the charts."""
REPORTS_SHOWN = 20
"""Drift reports and comparisons shown."""
QUEUE_SHOWN = 50
"""Pending candidates shown."""
SLICE_KEYS = DEFAULT_SLICE_KEYS
"""Live traffic is sliced by each of these keys."""
SLICE_WINDOW = timedelta(days=7)
"""How far back the slices look."""

_CHART_W, _CHART_H = 640, 190
"""The pass-rate chart's size (its SVG viewBox)."""
_LEFT, _RIGHT, _TOP, _BOTTOM = 44, 16, 10, 34
"""Room for the axes' labels around the plot."""


@dataclass(frozen=True, kw_only=True, slots=True)
class RunPoint:
    """One run on a dataset's pass-rate chart: a dot and its 95 % interval."""

    run_id: str
    x: float
    y: float
    y_lo: float
    y_hi: float
    verdict: str | None
    label: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Chart:
    """A series of gate runs (one case file, one service): pass rate over time."""

    title: str
    points: list[RunPoint]
    band: str
    """The 95 % Wilson band: an SVG polygon's points (upper edge, then lower, back)."""
    y_ticks: list[tuple[float, str]]
    """Pass-rate gridlines: (y, label)."""
    x_ticks: list[tuple[float, str, str]]
    """Dates under the axis: (x, ``MM-DD HH:MM`` UTC, the SVG text anchor that keeps the
    first and last inside the chart)."""
    markers: list[tuple[float, str]]
    """Deploy markers between two runs whose prompt, model or judge version differ:
    (x, what changed)."""
    width: int = _CHART_W
    height: int = _CHART_H
    left: int = _LEFT
    bottom: int = _CHART_H - _BOTTOM


@dataclass(frozen=True, kw_only=True, slots=True)
class SliceRow:
    """Live traffic of one slice: volume, thumbs-down share and judge mean, with intervals."""

    slice: Slice
    """One key and its value (the dashboard cuts by one key at a time)."""
    n: int
    errors: int
    thumbs_down: int
    down_share: float
    down_ci: tuple[float, float]
    judge_n: int
    judge_mean: float | None
    judge_ci: tuple[float, float] | None

    @property
    def key(self) -> str:
        """The key the slice is cut by."""
        return self.slice.keys[0]

    @property
    def value(self) -> str:
        """Its value."""
        return self.slice.values[0] or ""


Pair = tuple[float | None, float | None]
"""An interval read back from a report's JSON ``[lo, hi]`` (an infinite end is null)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class DriftRow:
    """One stored drift check: its window, judge and alert, and its report's figures."""

    report_id: str
    """Its id (its page is ``/drift/{report_id}``)."""
    window: str
    """The window judged, from the stored bounds."""
    judge_version: str
    """The judge that scored it."""
    alert: bool
    """Whether it alerted."""
    n_samples: int | None
    """Traces judged."""
    judge_errors: int | None
    """Judge replies that could not be used."""
    mean: float | None
    """Mean judge score, with ``mean_ci``."""
    mean_ci: Pair | None
    """Its 95 % interval."""
    p10: float | None
    """10th percentile of the scores."""
    bad_share: float | None
    """Share of bad scores."""
    baseline_mean: float | None
    """The mean it was compared with."""
    delta: float | None
    """mean − baseline mean, with ``delta_ci``."""
    delta_ci: Pair | None
    """Its 95 % interval."""
    slices: list[DriftSlice] = field(default_factory=list)
    """The report's per-slice rows (``drift --by``), alerting ones first."""


@dataclass(frozen=True, kw_only=True, slots=True)
class DriftSlice:
    """One slice of a drift check (``customer_tier=enterprise``): its mean against its
    own baseline, the multiplicity-adjusted p-value and whether it alerted."""

    slice: str
    n_samples: int | None
    mean: float | None
    mean_ci: Pair | None
    baseline_mean: float | None
    delta: float | None
    p_adjusted: float | None
    alert: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class ComparisonRow:
    """One stored A/B comparison: its runs and verdict, and its report's figures."""

    comparison_id: str
    """Its id (its page is ``/ab/{comparison_id}``)."""
    created: str
    """When it was stored (UTC, to the minute)."""
    dataset_id: str
    """The cases compared on."""
    label_a: str
    """Variant A: its prompt version, or its run id."""
    label_b: str
    """Variant B, the same way."""
    metric: str | None
    """What was compared (pass, score …)."""
    n_pairs: int | None
    """Cases paired."""
    delta: float | None
    """B − A, with ``ci``."""
    ci: Pair | None
    """Its 95 % interval."""
    p_value: float | None
    """The paired test's p-value."""
    verdict: str
    """``B wins``, ``A wins`` or ``no significant difference``."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Dashboard:
    """Everything the page shows."""

    runs: list[dict[str, Any]] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    drift: list[DriftRow] = field(default_factory=list)
    comparisons: list[ComparisonRow] = field(default_factory=list)
    slices: list[SliceRow] = field(default_factory=list)
    queue: list[Candidate] = field(default_factory=list)
    queue_total: int = 0
    generated_at: str = ""


def gather(store: Store, *, now: datetime | None = None) -> Dashboard:
    """Read every panel from the store (blocking: call it from a worker thread)."""
    now = now or datetime.now(UTC)
    runs = store.runs.find(limit=RUNS_SHOWN)
    pending = store.candidates.find(states=["pending"], limit=None)
    return Dashboard(
        runs=[_run_row(run, _previous(run, runs[i + 1 :])) for i, run in enumerate(runs)],
        charts=_charts(runs),
        drift=[_drift_row(r) for r in store.reports.drift_reports(limit=REPORTS_SHOWN)],
        comparisons=[_comparison_row(c) for c in store.reports.comparisons(limit=REPORTS_SHOWN)],
        slices=_slices(store, since=now - SLICE_WINDOW, until=now),
        queue=pending[:QUEUE_SHOWN],
        queue_total=len(pending),
        generated_at=now.strftime("%Y-%m-%d %H:%M UTC"),
    )


def _previous(run: Run, older: list[Run]) -> Run | None:
    """The newest of ``older`` on the same case file and service as ``run``."""
    return next(
        (r for r in older if r.dataset_id == run.dataset_id and r.target_id == run.target_id),
        None,
    )


def _run_row(run: Run, previous: Run | None = None) -> dict[str, Any]:
    """One row of the runs table; ``judge_changed`` names the judge change since ``previous``
    (judged scores on either side are not comparable)."""
    summary = run.summary
    ci = summary.pass_rate_ci if summary is not None else (None, None)
    judge = run.keys.get("judge_version")
    before = previous.keys.get("judge_version") if previous is not None else None
    changed = judge is not None and before is not None and judge != before
    return {
        "judge_version": judge or "",
        "judge_changed": f"judge or rubric changed since run {previous.run_id}: {before} → {judge};"
        " judged scores before and after are not comparable"
        if changed and previous is not None
        else None,
        "run_id": run.run_id,
        "started": run.started_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
        "dataset_id": run.dataset_id,
        "target": run.target_id,
        "prompt_version": run.keys.get("prompt_version", ""),
        "model_version": run.keys.get("model_version", ""),
        "status": run.status,
        "verdict": run.verdict,
        "n": summary.n if summary else None,
        "passed": summary.passed if summary else None,
        "pass_rate": summary.pass_rate if summary else None,
        "ci_lo": ci[0],
        "ci_hi": ci[1],
        "locks_failed": len(summary.locks_failed) if summary else 0,
        "new_failures": len(summary.new_failures) if summary else 0,
        "flaky": len(summary.flaky) if summary else 0,
        "errored": summary.errored if summary else None,
    }


def _drift_row(stored: StoredDriftReport) -> DriftRow:
    # The figures are read from the report's JSON (DESIGN section 4 names); a field a
    # report of an older version lacks is shown empty.
    body = stored.body
    return DriftRow(
        report_id=stored.report_id,
        window=f"{stored.window_start:%Y-%m-%d %H:%M} – {stored.window_end:%Y-%m-%d %H:%M}",
        judge_version=stored.judge_version,
        alert=stored.alert,
        n_samples=body.get("n_samples"),
        judge_errors=body.get("judge_errors"),
        mean=body.get("mean"),
        mean_ci=_pair(body.get("mean_ci")),
        p10=body.get("p10"),
        bad_share=body.get("bad_share"),
        baseline_mean=body.get("baseline_mean"),
        delta=body.get("delta"),
        delta_ci=_pair(body.get("delta_ci")),
        slices=sorted(
            (_drift_slice(s) for s in body.get("slices") or () if isinstance(s, dict)),
            key=lambda s: (not s.alert, s.slice),
        ),
    )


def _drift_slice(body: dict[str, Any]) -> DriftSlice:
    return DriftSlice(
        slice=str(body.get("slice", "")),
        n_samples=body.get("n_samples"),
        mean=body.get("mean"),
        mean_ci=_pair(body.get("mean_ci")),
        baseline_mean=body.get("baseline_mean"),
        delta=body.get("delta"),
        p_adjusted=body.get("p_adjusted"),
        alert=bool(body.get("alert")),
    )


def _comparison_row(stored: StoredComparison) -> ComparisonRow:
    body = stored.body
    keys_a, keys_b = body.get("keys_a") or {}, body.get("keys_b") or {}
    return ComparisonRow(
        comparison_id=stored.comparison_id,
        created="" if stored.created_at is None else f"{stored.created_at:%Y-%m-%d %H:%M}",
        dataset_id=stored.dataset_id,
        label_a=keys_a.get("prompt_version") or stored.run_a,
        label_b=keys_b.get("prompt_version") or stored.run_b,
        metric=body.get("metric"),
        n_pairs=body.get("n_pairs"),
        delta=body.get("delta"),
        ci=_pair(body.get("ci")),
        p_value=body.get("p_value"),
        verdict=stored.verdict,
    )


def _pair(value: Any) -> Pair | None:
    """``[lo, hi]`` as a report's JSON writes an interval (Interval.to_json), or None."""
    if not isinstance(value, list | tuple) or len(value) != 2:
        return None
    return (value[0], value[1])


def _charts(runs: list[Run]) -> list[Chart]:
    """Per dataset and service, the complete gate runs oldest first, drawn on a chart."""
    series: dict[str, list[Run]] = {}
    for run in reversed(runs):  # runs come newest first
        if run.status != "complete" or run.summary is None or run.kind != "gate":
            continue  # the timeline is the deploys' gate runs
        series.setdefault(f"{run.dataset_name} · {run.target_id}", []).append(run)
    return [_chart(title, members) for title, members in series.items()]


def _chart(title: str, members: list[Run]) -> Chart:
    """Runs evenly spaced left to right (oldest first), pass rate up; dates under the axis."""
    width = _CHART_W - _LEFT - _RIGHT
    step = width / max(len(members) - 1, 1)
    points: list[RunPoint] = []
    markers: list[tuple[float, str]] = []
    previous: Run | None = None
    for index, run in enumerate(members):
        summary = run.summary
        assert summary is not None  # kept by _charts
        lo, hi = summary.pass_rate_ci
        x = _LEFT + (index * step if len(members) > 1 else width / 2)
        prompt = run.keys.get("prompt_version", "")
        points.append(
            RunPoint(
                run_id=run.run_id,
                x=x,
                y=_y(summary.pass_rate),
                y_lo=_y(lo),
                y_hi=_y(hi),
                verdict=run.verdict,
                label=(
                    f"{run.started_at.astimezone(UTC):%Y-%m-%d %H:%M} {prompt}:"
                    f" {summary.pass_rate:.1%} [{lo:.1%}, {hi:.1%}] n={summary.n} ({run.run_id})"
                ),
            )
        )
        if previous is not None and (change := _deploy_change(previous, run)):
            markers.append((x - step / 2, change))
        previous = run
    band = " ".join(f"{p.x:.1f},{p.y_hi:.1f}" for p in points)
    band += " " + " ".join(f"{p.x:.1f},{p.y_lo:.1f}" for p in reversed(points))
    x_ticks = date_ticks([p.x for p in points], [run.started_at for run in members])
    return Chart(
        title=title,
        points=points,
        band=band,
        y_ticks=[(_y(rate), f"{rate:.0%}") for rate in (0.0, 0.25, 0.5, 0.75, 1.0)],
        x_ticks=x_ticks,
        markers=markers,
    )


_DEPLOY_KEYS = (
    ("prompt_version", "prompt"),
    ("model_version", "model"),
    ("judge_version", "judge"),
)


def date_ticks(xs: list[float], times: list[datetime]) -> list[tuple[float, str, str]]:
    """Up to five dates under a chart's axis, spread over its points: (x, ``MM-DD HH:MM`` UTC,
    the SVG text anchor that keeps the first and the last inside the chart)."""
    last = len(xs) - 1
    picks = sorted({round(i * last / 4) for i in range(5)}) if xs else []
    return [
        (
            xs[i],
            f"{times[i].astimezone(UTC):%m-%d %H:%M}",
            "start" if i == 0 < last else "end" if i == last > 0 else "middle",
        )
        for i in picks
    ]


def _deploy_change(before: Run, after: Run) -> str:
    """What changed between two runs of a series (prompt, model, judge), or ``""``."""
    changed = [
        f"{label} {after.keys.get(key) or '?'}"
        for key, label in _DEPLOY_KEYS
        if before.keys.get(key) != after.keys.get(key)
    ]
    return ", ".join(changed)


def _marginal(combined: list[SliceCounts], key: str, position: int) -> list[SliceCounts]:
    """The counts per value of the key at ``position``, summed over the other keys."""
    totals: dict[str | None, SliceCounts] = {}
    for counts in combined:
        value = counts.slice.values[position]
        seen = totals.get(value)
        if seen is None:
            totals[value] = replace(counts, slice=Slice.of([key], [value]))
            continue
        firsts = [t for t in (seen.first_seen, counts.first_seen) if t is not None]
        totals[value] = replace(
            seen,
            n=seen.n + counts.n,
            errors=seen.errors + counts.errors,
            thumbs_down=seen.thumbs_down + counts.thumbs_down,
            judge_n=seen.judge_n + counts.judge_n,
            judge_sum=seen.judge_sum + counts.judge_sum,
            judge_sumsq=seen.judge_sumsq + counts.judge_sumsq,
            first_seen=min(firsts) if firsts else None,
        )
    return list(totals.values())


def _y(rate: float) -> float:
    return _TOP + (1.0 - rate) * (_CHART_H - _TOP - _BOTTOM)


def _slices(store: Store, *, since: datetime, until: datetime) -> list[SliceRow]:
    rows: list[SliceRow] = []
    # One pass over the window, grouped by every slice key at once; each key's slices
    # are sums over the others (the counts add up: half the time of a pass per key).
    combined = store.traces.slices(list(SLICE_KEYS), since=since, until=until)
    for position, key in enumerate(SLICE_KEYS):
        for counts in _marginal(combined, key, position):
            value = counts.slice.values[0]
            if value is None or counts.n == 0:
                continue
            down = wilson_interval(counts.thumbs_down, counts.n)
            judge_mean = judge_ci = None
            if counts.judge_n:
                judge_mean = counts.judge_sum / counts.judge_n
                # A t interval: the normal one was too narrow for a slice's few judged traces.
                interval = t_mean_interval(counts.judge_n, counts.judge_sum, counts.judge_sumsq)
                judge_ci = (
                    (judge_mean, judge_mean) if interval is None else (interval.lo, interval.hi)
                )
            rows.append(
                SliceRow(
                    slice=counts.slice,
                    n=counts.n,
                    errors=counts.errors,
                    thumbs_down=counts.thumbs_down,
                    down_share=counts.thumbs_down / counts.n,
                    down_ci=(down.lo, down.hi),
                    judge_n=counts.judge_n,
                    judge_mean=judge_mean,
                    judge_ci=judge_ci,
                )
            )
    rows.sort(key=lambda r: (r.key, -r.n, r.value))
    return rows
