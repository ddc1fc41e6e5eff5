"""The drift report: judged sample of a window against its baseline, overall and per slice.

Alert when the mean dropped by more than ``alert_drop`` *and* its interval
excludes the baseline, or when a detector on the batch means (CUSUM, EWMA) or on
the bad-score indicator (Bernoulli CUSUM) crossed its limit in the window. An
alert on any slice is an alert: a drop in one tier must not hide behind a rise
in another.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from evallock._lazy import lazy_module
from evallock.drift._detect import BatchPoint, DetectorRun, run_detectors
from evallock.drift._scores import BAD_SCORE, DriftBaseline, TraceScore
from evallock.drift._window import Window
from evallock.keys import Slice
from evallock.stats import Interval, adjust_benjamini_hochberg, mean_estimate, wilson_interval

sps = lazy_module("scipy.stats")

__all__ = ["DriftReport", "SliceDrift", "build_report"]

MIN_SLICE = 5


@dataclass(frozen=True, kw_only=True, slots=True)
class SliceDrift:
    """One slice of the window."""

    slice: Slice
    """Key values of the slice."""
    n_samples: int
    """Judged traces in it."""
    mean: float | None
    """Mean judge score (None with too few)."""
    mean_ci: Interval | None
    """95 % interval of the mean."""
    baseline_mean: float
    """The slice's baseline (its own in a baseline window, else the overall one)."""
    delta: float | None
    """mean − baseline."""
    p_value: float | None
    """One-sided p of "no drop"."""
    p_adjusted: float | None
    """Benjamini-Hochberg adjusted across slices."""
    alert: bool
    """The slice dropped beyond ``alert_drop`` and significantly."""

    @property
    def label(self) -> str:
        """``customer_tier=enterprise``."""
        return self.slice.label


@dataclass(frozen=True, kw_only=True, slots=True)
class DriftReport:
    """Everything ``evallock drift`` says about a window."""

    window: Window
    """The window judged."""
    available: int
    """Traces in the window."""
    n_samples: int
    """Traces judged with a score."""
    judge_errors: int
    """Judge replies that could not be used (counted, never dropped silently)."""
    mean: float
    """Mean judge score (1–5), re-weighted by stratum when stratified."""
    mean_ci: Interval
    """Its 95 % interval."""
    p10: float
    """10th percentile of the scores."""
    bad_share: float
    """Share of scores ≤ 2."""
    bad_share_ci: Interval
    """Its 95 % Wilson interval."""
    baseline: DriftBaseline
    """What the window is compared with."""
    delta: float
    """mean − baseline mean."""
    delta_ci: Interval | None
    """95 % interval of the delta (a baseline window's uncertainty included)."""
    alert: bool
    """True when any rule fired (overall, a slice, or a detector)."""
    reasons: list[str]
    """Why it alerted, one line each."""
    judge_version: str
    """The judge that scored the window (and the baseline)."""
    slices: list[SliceDrift] = field(default_factory=list)
    """Per slice, with ``--by``."""
    detectors: list[DetectorRun] = field(default_factory=list)
    """Each detector's run over the batches."""
    batches: list[BatchPoint] = field(default_factory=list)
    """The batch series (``--history``)."""
    trustworthy: bool = True
    """False when more than a quarter of the sample errs at the judge."""
    notes: list[str] = field(default_factory=list)
    """What the reader should know (fewer traces than asked, …)."""


def _mean_ci(
    scores: Sequence[TraceScore], weights: dict[str, float] | None
) -> tuple[float, Interval]:
    values = [float(s.score) for s in scores if s.score is not None]
    if weights and len({s.stratum for s in scores}) > 1:
        # Post-stratification: each stratum counts by its share of the window, so a
        # floor that over-samples a small slice does not bias the overall mean.
        by: dict[str, list[float]] = {}
        for s in scores:
            if s.score is not None:
                by.setdefault(s.stratum, []).append(float(s.score))
        total = sum(weights[k] for k in by)
        mean = sum(weights[k] / total * (sum(v) / len(v)) for k, v in by.items())
        var = sum(
            (weights[k] / total) ** 2 * (_var(v) / len(v)) for k, v in by.items() if len(v) > 1
        )
        half = 1.959964 * math.sqrt(var)
        return mean, Interval(
            lo=mean - half, hi=mean + half, confidence=0.95, method="stratified CLT"
        )
    estimate = mean_estimate(values)
    assert estimate.interval is not None
    return estimate.estimate, estimate.interval


def _var(values: Sequence[float]) -> float:
    m = sum(values) / len(values)
    return sum((v - m) ** 2 for v in values) / (len(values) - 1)


def _drop_test(
    current: list[float], baseline: DriftBaseline, base_values: list[float] | None
) -> tuple[float, Interval | None]:
    """One-sided p of "no drop", and the two-sided 95 % interval of the delta.

    Welch's t against a judged baseline sample, a one-sample t against a number;
    computed here so constant samples (all 5s) have a defined answer, not a warning.
    """
    n1 = len(current)
    if n1 < 2:
        return 1.0, None
    m1 = sum(current) / n1
    var1 = _var(current) / n1
    if base_values is not None and len(base_values) >= 2:
        n2 = len(base_values)
        m2 = sum(base_values) / n2
        var2 = _var(base_values) / n2
        se2 = var1 + var2
        parts = (var1**2 / (n1 - 1) if var1 else 0.0) + (var2**2 / (n2 - 1) if var2 else 0.0)
        df = se2**2 / parts if parts else float(n1 + n2 - 2)
        method = "Welch t"
    else:
        m2, se2, df, method = baseline.mean, var1, float(n1 - 1), "t"
    delta = m1 - m2
    if se2 == 0:
        point = Interval(lo=delta, hi=delta, confidence=0.95, method=method)
        return (0.0 if delta < 0 else 1.0), point
    se = math.sqrt(se2)
    t = sps.t
    half = float(t.ppf(0.975, df)) * se
    p = float(t.cdf(delta / se, df))
    return p, Interval(lo=delta - half, hi=delta + half, confidence=0.95, method=method)


def _p(value: float) -> float:
    return 1.0 if math.isnan(value) else float(value)


def build_report(
    *,
    window: Window,
    available: int,
    scores: list[TraceScore],
    baseline: DriftBaseline,
    judge_version: str,
    by: Sequence[str] = (),
    alert_drop: float = 0.2,
    alpha: float = 0.05,
    stratum_sizes: dict[str, int] | None = None,
    batch: timedelta = timedelta(days=1),
    arl0: float = 370.0,
    notes: list[str] | None = None,
) -> DriftReport:
    """Compute the report from the window's judged sample and the baseline."""
    judged = [s for s in scores if s.score is not None]
    errors = len(scores) - len(judged)
    values = [float(s.score) for s in judged if s.score is not None]
    if not values:
        raise ValueError("no trace in the sample could be judged")
    weights = None
    if stratum_sizes and len(stratum_sizes) > 1:
        total = sum(stratum_sizes.values())
        weights = {k: v / total for k, v in stratum_sizes.items()}
    mean, mean_ci = _mean_ci(judged, weights)
    ordered = sorted(values)
    p10 = float(ordered[max(0, math.ceil(0.1 * len(ordered)) - 1)])
    bad = sum(1 for v in values if v <= BAD_SCORE)
    base_values = [float(s.score) for s in baseline.scores if s.score is not None] or None
    _, delta_ci = _drop_test(values, baseline, base_values)
    delta = mean - baseline.mean
    reasons: list[str] = []
    excluded = delta_ci is not None and delta_ci.hi < 0
    if -delta > alert_drop and excluded:
        reasons.append(
            f"mean {mean:.2f} dropped {-delta:.2f} below the baseline {baseline.mean:.2f} "
            f"(> alert_drop {alert_drop:g}) and the 95% interval excludes it"
        )
    slices = _slices(judged, baseline, by, alert_drop, alpha)
    for s in slices:
        if s.alert:
            reasons.append(
                f"slice {s.label}: mean {s.mean:.2f} vs baseline {s.baseline_mean:.2f} "
                f"(Δ {s.delta:+.2f}, BH-adjusted p {s.p_adjusted:.3g})"
            )
    base_sd = (
        math.sqrt(_var(base_values))
        if base_values and len(base_values) > 1
        else (math.sqrt(_var(values)) if len(values) > 1 else 0.0)
    )
    base_bad = (
        sum(1 for v in base_values if v <= BAD_SCORE) / len(base_values) if base_values else None
    )
    batches, detectors = run_detectors(
        judged,
        window=window,
        batch=batch,
        baseline_mean=baseline.mean,
        baseline_sd=base_sd,
        baseline_bad_share=base_bad,
        arl0=arl0,
    )
    for run in detectors:
        if run.fired_at:
            at = ", ".join(run.fired_at)
            reasons.append(f"{run.name} crossed its limit at {at} (ARL0 {run.arl0:.0f})")
    trustworthy = errors <= len(scores) / 4
    return DriftReport(
        window=window,
        available=available,
        n_samples=len(values),
        judge_errors=errors,
        mean=mean,
        mean_ci=mean_ci,
        p10=p10,
        bad_share=bad / len(values),
        bad_share_ci=wilson_interval(bad, len(values)),
        baseline=baseline,
        delta=delta,
        delta_ci=delta_ci,
        alert=bool(reasons),
        reasons=reasons,
        judge_version=judge_version,
        slices=slices,
        detectors=detectors,
        batches=batches,
        trustworthy=trustworthy,
        notes=list(notes or []),
    )


def _slices(
    judged: list[TraceScore],
    baseline: DriftBaseline,
    by: Sequence[str],
    alert_drop: float,
    alpha: float,
) -> list[SliceDrift]:
    if not by:
        return []
    groups: dict[Slice, list[float]] = {}
    for s in judged:
        groups.setdefault(Slice.from_keys(by, s.keys), []).append(float(s.score or 0))
    base_groups: dict[Slice, list[float]] = {}
    for s in baseline.scores:
        if s.score is not None:
            base_groups.setdefault(Slice.from_keys(by, s.keys), []).append(float(s.score))
    Row = tuple[Slice, list[float], float, float | None, float | None, Interval | None]
    rows: list[Row] = []
    for values_key, values in sorted(groups.items(), key=lambda item: item[0].label):
        base_values = base_groups.get(values_key)
        base_mean = sum(base_values) / len(base_values) if base_values else baseline.mean
        slice_baseline = DriftBaseline(mean=base_mean, source=baseline.source)
        if len(values) < MIN_SLICE:
            rows.append((values_key, values, base_mean, None, None, None))
            continue
        p, _ = _drop_test(
            values, slice_baseline, base_values if base_values and len(base_values) >= 2 else None
        )
        estimate = mean_estimate(values)
        rows.append((values_key, values, base_mean, p, estimate.estimate, estimate.interval))
    tested = [r for r in rows if r[3] is not None]
    adjusted = (
        adjust_benjamini_hochberg([r[3] for r in tested if r[3] is not None]).adjusted
        if tested
        else ()
    )
    p_adj = {id(r): adjusted[i] for i, r in enumerate(tested)}
    out = []
    for r in rows:
        values_key, values, base_mean, p_raw, slice_mean, ci = r
        adj = p_adj.get(id(r))
        delta = None if slice_mean is None else slice_mean - base_mean
        alert = delta is not None and adj is not None and -delta > alert_drop and adj < alpha
        out.append(
            SliceDrift(
                slice=values_key,
                n_samples=len(values),
                mean=slice_mean,
                mean_ci=ci,
                baseline_mean=base_mean,
                delta=delta,
                p_value=p_raw,
                p_adjusted=adj,
                alert=alert,
            )
        )
    return out
