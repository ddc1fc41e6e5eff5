"""What the drift pages show, read from the store: judge scores on live traffic over time.

``GET /drift``: the stored drift checks oldest first, one chart for the whole traffic and
one per slice a check was cut by (``drift --by``), of the mean judge score (or, with
``?metric=``, the bad share or the 10th percentile) of each check with its 95 % interval,
the baseline mean it was compared with, alerts in red, and a
dashed marker where the judge changed (scores before and after do not compare). Each
point links to its check. The newest check's detectors say where they stand.

``GET /drift/{id}``: one check's figures, its slices and the traces it judged, lowest
score first, each linked to its trace. Nothing here is HTML: the template escapes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from evallock.records import StoredDriftReport, TraceJudgement
from evallock.server._panels import date_ticks

if TYPE_CHECKING:
    from collections.abc import Sequence

    from evallock.calibration import CalibrationFloor
    from evallock.online import EvaluatorRule
    from evallock.store import Store

__all__ = [
    "METRICS",
    "REPORTS_CHARTED",
    "DriftPoint",
    "DriftSeries",
    "DriftView",
    "drift_view",
    "report_page",
]

REPORTS_CHARTED = 60
"""Drift checks drawn (the newest)."""
_W, _H = 640, 190
_LEFT, _RIGHT, _TOP, _BOTTOM = 36, 16, 10, 34


@dataclass(frozen=True, kw_only=True, slots=True)
class DriftPoint:
    """One check on a chart: its mean, interval and baseline, placed."""

    report_id: str
    x: float
    y: float | None
    y_lo: float | None
    y_hi: float | None
    baseline_y: float | None
    alert: bool
    label: str


@dataclass(frozen=True, kw_only=True, slots=True)
class DriftSeries:
    """The whole traffic, or one slice, over the checks."""

    title: str
    points: list[DriftPoint]
    alerts: int
    markers: list[tuple[float, str]] = field(default_factory=list)
    """Where the judge changed: (x, the new judge version)."""
    x_ticks: list[tuple[float, str, str]] = field(default_factory=list)
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    width: int = _W
    height: int = _H
    left: int = _LEFT
    bottom: int = _H - _BOTTOM

    @property
    def baseline_path(self) -> str:
        """The baselines joined left to right, as an SVG polyline's points."""
        return " ".join(
            f"{p.x:.1f},{p.baseline_y:.1f}" for p in self.points if p.baseline_y is not None
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class DriftView:
    """The drift page: the series, the newest check and its detectors."""

    series: list[DriftSeries]
    metric: str
    """Which figure the series draw (a name in :data:`METRICS`)."""
    latest: StoredDriftReport | None
    detectors: list[dict[str, Any]]
    reports: list[StoredDriftReport]
    """The checks charted, newest first."""
    evaluators: list[dict[str, Any]] = field(default_factory=list)
    """Each online evaluator's status (``GET /api/evaluators``'s figures)."""
    alerts: list[dict[str, Any]] = field(default_factory=list)
    """The newest alarms of the evaluators' drift charts."""


def drift_view(
    store: Store,
    metric: str = "mean",
    rules: Sequence[EvaluatorRule] = (),
    floor: CalibrationFloor | None = None,
) -> DriftView:
    """Read the checks and draw ``metric`` (a name in :data:`METRICS`) over them, for the
    whole traffic and each slice; with the online evaluators' ``rules``, their status and
    their charts' newest alarms."""
    newest_first = store.reports.drift_reports(limit=REPORTS_CHARTED)
    checks = list(reversed(newest_first))
    slices: list[str] = []
    for check in checks:
        for item in check.body.get("slices") or ():
            label = str(item.get("slice", "")) if isinstance(item, dict) else ""
            if label and label not in slices:
                slices.append(label)
    chosen = METRICS[metric]
    series = [_series("all traffic", checks, None, metric=chosen)]
    series += [_series(label, checks, label, metric=chosen) for label in slices]
    latest = newest_first[0] if newest_first else None
    detectors = (
        [d for d in (latest.body.get("detectors") or ()) if isinstance(d, dict)] if latest else []
    )
    from evallock.online import evaluator_status

    return DriftView(
        series=series,
        metric=metric,
        latest=latest,
        detectors=detectors,
        reports=newest_first,
        evaluators=[
            evaluator_status(store.online, rule, labels=store.labels, floor=floor).as_json()
            for rule in rules
        ],
        alerts=[detail for _, _, detail in store.online.alerts(limit=20)] if rules else [],
    )


def _figures(check: StoredDriftReport, label: str | None) -> dict[str, Any]:
    if label is None:
        return check.body
    for item in check.body.get("slices") or ():
        if isinstance(item, dict) and item.get("slice") == label:
            return item
    return {}


@dataclass(frozen=True, slots=True)
class Metric:
    """What a series draws: the report field, its interval's field, its scale."""

    field: str
    interval: str | None
    baseline: str | None
    low: float
    high: float
    ticks: tuple[float, ...]
    shown: str
    """How a value is written (``%.2f``)."""
    tick_label: str


MEAN = Metric("mean", "mean_ci", "baseline_mean", 1.0, 5.0, (1, 2, 3, 4, 5), "%.2f", "%g")
BAD_SHARE = Metric(
    "bad_share", "bad_share_ci", None, 0.0, 1.0, (0, 0.25, 0.5, 0.75, 1), "%.1f%%", "%.0f%%",
)  # fmt: skip
P10 = Metric("p10", None, None, 1.0, 5.0, (1, 2, 3, 4, 5), "%.1f", "%g")
METRICS = {"mean": MEAN, "bad_share": BAD_SHARE, "p10": P10}
"""What the drift page can draw (``?metric=``)."""


def _y(value: Any, metric: Metric = MEAN) -> float | None:
    if not isinstance(value, int | float):
        return None
    bounded = min(max(float(value), metric.low), metric.high)
    share = (metric.high - bounded) / (metric.high - metric.low)
    return _TOP + share * (_H - _TOP - _BOTTOM)


def _written(value: Any, metric: Metric, form: str) -> str:
    scale = 100.0 if metric is BAD_SHARE else 1.0
    return form % (scale * float(value))


def _series(
    title: str, checks: list[StoredDriftReport], label: str | None, *, metric: Metric = MEAN
) -> DriftSeries:
    width = _W - _LEFT - _RIGHT
    step = width / max(len(checks) - 1, 1)
    points: list[DriftPoint] = []
    markers: list[tuple[float, str]] = []
    for index, check in enumerate(checks):
        x = _LEFT + (index * step if len(checks) > 1 else width / 2)
        figures = _figures(check, label)
        interval = figures.get(metric.interval) if metric.interval else None
        lo, hi = (
            interval if isinstance(interval, list | tuple) and len(interval) == 2 else (None, None)
        )
        value = figures.get(metric.field)
        alert = bool(figures.get("alert"))
        when = f"{check.window_end:%Y-%m-%d %H:%M}"
        shown = (
            _written(value, metric, metric.shown)
            if isinstance(value, int | float)
            else "not judged"
        )
        baseline = figures.get(metric.baseline) if metric.baseline else None
        points.append(
            DriftPoint(
                report_id=check.report_id,
                x=x,
                y=_y(value, metric),
                y_lo=_y(lo, metric),
                y_hi=_y(hi, metric),
                baseline_y=_y(baseline, metric),
                alert=alert,
                label=(
                    f"{when}: {metric.field.replace('_', ' ')} {shown}"
                    f"{' ALERT' if alert else ''} ({check.judge_version})"
                ),
            )
        )
        if index and check.judge_version != checks[index - 1].judge_version:
            markers.append((x - step / 2, check.judge_version))
    x_ticks = date_ticks([p.x for p in points], [check.window_end for check in checks])
    y_ticks = [
        (y, _written(tick, metric, metric.tick_label))
        for tick in metric.ticks
        if (y := _y(tick, metric)) is not None
    ]
    return DriftSeries(
        title=title,
        points=points,
        alerts=sum(p.alert for p in points),
        markers=markers,
        x_ticks=x_ticks,
        y_ticks=y_ticks,
    )


def report_page(
    store: Store, report_id: str, *, max_score: int | None
) -> tuple[StoredDriftReport, list[TraceJudgement]] | None:
    """One check and the traces it judged (at most ``max_score`` when given), or None."""
    report = store.reports.drift_report(report_id)
    if report is None:
        return None
    return report, store.reports.samples(report_id, max_score=max_score)
