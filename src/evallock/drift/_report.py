"""The drift report: judged sample of a window against its baseline, overall and per slice.

One stated false-alarm rate for the whole report: with nothing drifting, a report
alerts at most ``alpha`` of the time (5 % by default), whatever ``--by`` and
``--stratify-by`` say. ``alpha`` is split evenly (Bonferroni) among the rule
families the report runs:

* **mean**: the window's mean against the baseline's, as two samples (Welch), so
  the baseline's own noise counts; post-stratified on both sides at the
  baseline's traffic mix with ``--stratify-by``; a golden-set run's trials are
  one cluster per case. Alerts when the mean dropped by more than ``alert_drop``
  *and* the one-sided test rejects at the family's share.
* **bad share** (with a judged baseline): the share of scores ≤ 2 against the
  baseline's, a one-sided two-proportion test; alerts when it rose by more than
  ``BAD_SHARE_FLOOR`` and the test rejects at the family's share.
* **slices** (``--by``): each slice against its own baseline sample, Holm-adjusted
  across slices at the family's share (a slice with no baseline sample is not tested).
* **inputs** (with a baseline window): each shared key's traffic mix (chi-square, and
  at least a moderate PSI) and, with ``--input-embeddings``, the input texts (MMD),
  Holm-adjusted at the family's share.

The sequential detectors (CUSUM and EWMA on the batch means, Bernoulli CUSUM on
bad scores) are shown with where they crossed, as signals, but are not part of the
report's alert: re-run over each report's batches against an estimated baseline,
their stated ARL0 does not hold (measured: 3-4 times too many crossings), and
keeping their state across reports is what would make it hold.

``bench/calibration.py`` measures the rate per report, and per month of daily checks.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from evallock.drift._detect import BatchPoint, DetectorRun, MonitorState, run_detectors
from evallock.drift._scores import BAD_SCORE, DriftBaseline, TraceScore
from evallock.drift._window import Window
from evallock.keys import Slice
from evallock.stats import (
    Interval,
    TestResult,
    adjust_holm,
    chi_square_homogeneity_test,
    estimate_interval,
    mean_estimate,
    mean_shift_test,
    post_stratified_mean,
    shift_test,
    wilson_interval,
)

__all__ = ["DriftReport", "InputTest", "SliceDrift", "build_report"]

MIN_SLICE = 5
BAD_SHARE_FLOOR = 0.05
"""A rise of the bad share smaller than this never alerts, however significant."""


@dataclass(frozen=True, kw_only=True, slots=True)
class InputTest:
    """One test of input drift the report alerts on (a key's mix, the embeddings)."""

    name: str
    """What was tested, e.g. ``customer_tier mix``."""
    p_value: float
    """Its p-value."""
    detail: str
    """The figures, for the alert line."""
    large_enough: bool = True
    """Whether the shift is large enough to alert on (a PSI of at least 0.1)."""


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
    """Holm-adjusted across the slices tested (compared with the slices' share of alpha)."""
    alert: bool
    """The slice dropped beyond ``alert_drop`` and significantly."""
    p10: float | None = None
    """10th percentile of its scores."""
    bad_share: float | None = None
    """Share of its scores at or below ``BAD_SCORE``, with ``bad_share_ci``."""
    bad_share_ci: Interval | None = None
    """95 % Wilson interval of the bad share."""

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
    alpha: float = 0.05
    """The report's false-alarm rate: with nothing drifting it alerts at most this often."""
    rule_alpha: dict[str, float] = field(default_factory=dict)
    """Each rule family's share of ``alpha`` (``mean``, ``slices``, ``detectors``)."""
    p_value: float | None = None
    """One-sided p of "no drop" for the overall mean."""
    design_effect: float | None = None
    """Kish's design effect of the window's post-stratification (``--stratify-by``)."""
    monitor: MonitorState | None = None
    """The detectors' state after this report, for the next one (None without detectors)."""
    score_distribution: TestResult | None = None
    """Chi-square homogeneity of the 1–5 score counts, window against a judged baseline
    window (df reported; shown, not part of the alert)."""


def _bad_share_rise(bad: int, n: int, base_values: Sequence[float]) -> tuple[float, float] | None:
    """The rise of the bad share over the baseline's and its one-sided p (pooled z)."""
    base_bad = sum(1 for v in base_values if v <= BAD_SCORE)
    m = len(base_values)
    pooled = (bad + base_bad) / (n + m)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n + 1 / m))
    rise = bad / n - base_bad / m
    if se == 0 and not rise:
        return None
    return rise, shift_test(rise, se, 0.0, alternative="greater").p_value


def _cluster_values(scores: Sequence[TraceScore]) -> list[float]:
    """One value per cluster (a golden-set case's trials), else one per judged trace."""
    groups: dict[str, list[float]] = {}
    for s in scores:
        if s.score is not None:
            groups.setdefault(s.cluster or s.trace_id, []).append(float(s.score))
    return [sum(v) / len(v) for v in groups.values()]


def _moments(values: Sequence[float]) -> tuple[int, float, float]:
    return len(values), sum(values), sum(v * v for v in values)


@dataclass(frozen=True, kw_only=True, slots=True)
class _Shift:
    mean: float
    mean_ci: Interval
    delta: float
    delta_ci: Interval | None
    p_value: float
    deff: float | None = None


def _shift(
    judged: Sequence[TraceScore],
    baseline: DriftBaseline,
    stratum_sizes: dict[str, int] | None,
) -> _Shift:
    """The window's mean, its drop from the baseline, and the one-sided p of "no drop"."""
    values = [float(s.score) for s in judged if s.score is not None]
    base_values = _cluster_values(baseline.scores)
    if len(values) < 2:
        # One score says nothing of its spread: its interval is the whole 1–5 scale.
        whole = Interval(lo=1.0, hi=5.0, confidence=0.95, method="one score")
        return _Shift(
            mean=values[0],
            mean_ci=whole,
            delta=values[0] - baseline.mean,
            delta_ci=None,
            p_value=1.0,
        )
    if stratum_sizes and len(stratum_sizes) > 1:
        # Post-stratified on both sides at one mix, so a floor that over-samples a
        # small stratum biases neither side: the baseline's own traffic mix when it
        # has one, else the window's (a number or a golden-set run has no mix).
        mix = baseline.stratum_sizes or stratum_sizes
        shares: dict[Hashable, float] = {k: float(v) for k, v in mix.items()}
        window = post_stratified_mean(values, [s.stratum for s in judged], shares)
        base_mean, base_se = baseline.mean, 0.0
        if baseline.stratum_sizes and len(base_values) >= 2:
            base = post_stratified_mean(
                [float(s.score) for s in baseline.scores if s.score is not None],
                [s.stratum for s in baseline.scores if s.score is not None],
                shares,
            )
            base_mean, base_se = base.mean, base.se
        elif len(base_values) >= 2:
            base_se = statistics.stdev(base_values) / math.sqrt(len(base_values))
        method = "post-stratified"
        args = (window.mean, window.se, base_mean, base_se)
        drop = shift_test(*args, method=method)
        return _Shift(
            mean=window.mean,
            mean_ci=estimate_interval(window.mean, window.se, method=method),
            delta=drop.estimate,
            delta_ci=drop.interval,
            p_value=shift_test(*args, alternative="less").p_value,
            deff=window.deff,
        )
    estimate = mean_estimate(values)
    assert estimate.interval is not None
    if len(base_values) >= 2:  # a judged baseline: two samples (Welch)
        both = mean_shift_test(_moments(base_values), _moments(values))
        return _Shift(
            mean=estimate.estimate,
            mean_ci=estimate.interval,
            delta=both.estimate,
            delta_ci=both.interval,
            p_value=mean_shift_test(
                _moments(base_values), _moments(values), alternative="less"
            ).p_value,
        )
    # A number: no estimation error on the baseline side (the one-sample t).
    se = statistics.stdev(values) / math.sqrt(len(values))
    drop = shift_test(estimate.estimate, se, baseline.mean, df=len(values) - 1, method="t")
    return _Shift(
        mean=estimate.estimate,
        mean_ci=estimate.interval,
        delta=drop.estimate,
        delta_ci=drop.interval,
        p_value=shift_test(
            estimate.estimate, se, baseline.mean, df=len(values) - 1, alternative="less"
        ).p_value,
    )


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
    detectors: bool = True,
    monitor_id: str = "",
    prior_monitor: MonitorState | None = None,
    input_tests: Sequence[InputTest] = (),
) -> DriftReport:
    """Compute the report from the window's judged sample and the baseline.

    ``alpha`` is the report's false-alarm rate, split among the rule families it
    runs (see the module docstring). ``detectors=False`` skips the sequential
    signals, which the alert does not use (the calibration bench runs thousands).
    ``prior_monitor`` is the detectors' state from the last report of the same
    ``monitor_id``: they go on from it and are fed only the batches since.
    """
    judged = [s for s in scores if s.score is not None]
    errors = len(scores) - len(judged)
    values = [float(s.score) for s in judged if s.score is not None]
    if not values:
        raise ValueError("no trace in the sample could be judged")
    base_values = _cluster_values(baseline.scores)
    families = [
        "mean",
        *(["bad share"] if base_values else []),
        *(["slices"] if by else []),
        *(["inputs"] if input_tests else []),
    ]
    share = alpha / len(families)
    rule_alpha = dict.fromkeys(families, share)
    shift = _shift(judged, baseline, stratum_sizes)
    ordered = sorted(values)
    p10 = float(ordered[max(0, math.ceil(0.1 * len(ordered)) - 1)])
    bad = sum(1 for v in values if v <= BAD_SCORE)
    reasons: list[str] = []
    if -shift.delta > alert_drop and shift.p_value < share:
        reasons.append(
            f"mean {shift.mean:.2f} dropped {-shift.delta:.2f} below the baseline "
            f"{baseline.mean:.2f} (> alert_drop {alert_drop:g}; one-sided p {shift.p_value:.3g}"
            f" < {share:.3g}, its share of the report's alpha {alpha:g})"
        )
    if base_values:
        rise = _bad_share_rise(bad, len(values), base_values)
        if rise is not None and rise[0] > BAD_SHARE_FLOOR and rise[1] < share:
            reasons.append(
                f"bad share {bad / len(values):.1%} rose {rise[0]:.1%} above the baseline's"
                f" (> {BAD_SHARE_FLOOR:.0%}; one-sided p {rise[1]:.3g} < {share:.3g})"
            )
    slices = _slices(judged, baseline, by, alert_drop, share)
    if input_tests:
        adjusted = adjust_holm([t.p_value for t in input_tests]).adjusted
        for test, p_adj in zip(input_tests, adjusted, strict=True):
            if test.large_enough and p_adj < share:
                reasons.append(
                    f"input drift, {test.name}: {test.detail} (Holm-adjusted p {p_adj:.3g}"
                    f" < {share:.3g})"
                )
    for s in slices:
        if s.alert:
            reasons.append(
                f"slice {s.label}: mean {s.mean:.2f} vs baseline {s.baseline_mean:.2f} "
                f"(Δ {s.delta:+.2f}, Holm-adjusted p {s.p_adjusted:.3g} < {share:.3g})"
            )
    base_sd = (
        statistics.stdev(base_values)
        if len(base_values) > 1
        else (statistics.stdev(values) if len(values) > 1 else 0.0)
    )
    base_bad = (
        sum(1 for v in base_values if v <= BAD_SCORE) / len(base_values) if base_values else None
    )
    batches: list[BatchPoint] = []
    runs: list[DetectorRun] = []
    state = None
    if detectors:
        batches, runs, state = run_detectors(
            judged,
            window=window,
            batch=batch,
            baseline_mean=baseline.mean,
            baseline_sd=base_sd,
            baseline_n=len(base_values),
            baseline_bad_share=base_bad,
            arl0=arl0,
            monitor_id=monitor_id,
            prior=prior_monitor,
        )
    signals = [
        f"{run.name} crossed its limit at {', '.join(run.fired_at)} (a sequential signal,"
        f" not part of this report's alpha)"
        for run in runs
        if run.fired_at
    ]
    trustworthy = errors <= len(scores) / 4
    return DriftReport(
        window=window,
        available=available,
        n_samples=len(values),
        judge_errors=errors,
        mean=shift.mean,
        mean_ci=shift.mean_ci,
        p10=p10,
        bad_share=bad / len(values),
        bad_share_ci=wilson_interval(bad, len(values)),
        baseline=baseline,
        delta=shift.delta,
        delta_ci=shift.delta_ci,
        alert=bool(reasons),
        reasons=reasons,
        judge_version=judge_version,
        slices=slices,
        detectors=runs,
        batches=batches,
        trustworthy=trustworthy,
        notes=[*(notes or []), *signals],
        alpha=alpha,
        rule_alpha=rule_alpha,
        p_value=shift.p_value,
        design_effect=shift.deff,
        score_distribution=_score_distribution(values, baseline),
        monitor=state,
    )


def _score_distribution(values: Sequence[float], baseline: DriftBaseline) -> TestResult | None:
    """The 1–5 score counts of the window against the baseline window's (trace level only:
    a golden-set run's trials are not independent draws)."""
    base = [s.score for s in baseline.scores if s.score is not None and s.cluster is None]
    if len(base) < 2 or len(values) < 2:
        return None
    scale = range(1, 6)
    return chi_square_homogeneity_test(
        [sum(1 for v in base if v == k) for k in scale],
        [sum(1 for v in values if v == k) for k in scale],
    )


def _slices(
    judged: list[TraceScore],
    baseline: DriftBaseline,
    by: Sequence[str],
    alert_drop: float,
    alpha: float,
) -> list[SliceDrift]:
    """Each slice against its own baseline sample; Holm across the slices tested."""
    if not by:
        return []
    groups: dict[Slice, list[float]] = {}
    for s in judged:
        groups.setdefault(Slice.from_keys(by, s.keys), []).append(float(s.score or 0))
    base_groups: dict[Slice, list[TraceScore]] = {}
    for s in baseline.scores:
        if s.score is not None:
            base_groups.setdefault(Slice.from_keys(by, s.keys), []).append(s)
    Row = tuple[Slice, list[float], float, float | None, float | None, Interval | None]
    rows: list[Row] = []
    for values_key, values in sorted(groups.items(), key=lambda item: item[0].label):
        base_values = _cluster_values(base_groups.get(values_key, []))
        base_mean = sum(base_values) / len(base_values) if base_values else baseline.mean
        if len(values) < MIN_SLICE:
            rows.append((values_key, values, base_mean, None, None, None))
            continue
        estimate = mean_estimate(values)
        if len(base_values) < 2:  # no baseline sample of its own: shown, not tested
            rows.append((values_key, values, base_mean, None, estimate.estimate, estimate.interval))
            continue
        test = mean_shift_test(_moments(base_values), _moments(values), alternative="less")
        rows.append(
            (values_key, values, base_mean, test.p_value, estimate.estimate, estimate.interval)
        )
    tested = [r for r in rows if r[3] is not None]
    adjusted = adjust_holm([r[3] for r in tested if r[3] is not None]).adjusted if tested else ()
    p_adj = {id(r): adjusted[i] for i, r in enumerate(tested)}
    out = []
    for r in rows:
        values_key, values, base_mean, p_raw, slice_mean, ci = r
        adj = p_adj.get(id(r))
        delta = None if slice_mean is None else slice_mean - base_mean
        alert = delta is not None and adj is not None and -delta > alert_drop and adj < alpha
        ordered = sorted(values)
        bad = sum(1 for v in values if v <= BAD_SCORE)
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
                p10=float(ordered[max(0, math.ceil(0.1 * len(ordered)) - 1)]) if values else None,
                bad_share=bad / len(values) if values else None,
                bad_share_ci=wilson_interval(bad, len(values)) if values else None,
            )
        )
    return out
