"""Detectors over a window's batches: CUSUM and EWMA on means, Bernoulli CUSUM on bad scores.

Each batch mean is standardised against the baseline, ``z = (m − µ0) /
(σ0 / √n)``, so batches of different sizes weigh fairly; the charts watch for
downward shifts only and are tuned by ARL0, the expected number of batches
between false alarms with a known baseline. A judged baseline is an estimate: it
holds about as much information as ``m = n0 / n`` batches, and a chart built on
an estimated mean and SD false-alarms far more often than its design ARL0 for
most such baselines: with 200 baseline traces and ~28 per daily batch, the
known-baseline limit for 370 gives a median near 210 and one chart in ten below
20. The limits are therefore set, warm-up included, so that the median chart of
a baseline this size has the ARL0 asked (``stats.cusum_warmup_threshold``), and
each run states the median and the ARL0 one chart in ten falls below. No limit
gives it for nine baselines in ten at that size, which is why the report shows
the detectors as signals, not as part of its alert.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from evallock.drift._scores import BAD_SCORE, TraceScore
from evallock.drift._window import Window
from evallock.errors import UsageError
from evallock.stats import (
    CUSUM,
    EWMA,
    BernoulliCUSUM,
    cusum_warmup_arl,
    ewma_warmup_arl,
)
from evallock.stats.detectors import DetectorState

__all__ = ["BatchPoint", "DetectorRun", "MonitorState", "run_detectors"]


@dataclass(frozen=True, kw_only=True, slots=True)
class BatchPoint:
    """One batch of the window (a day by default)."""

    start: datetime
    """Batch start."""
    n: int
    """Judged traces in it."""
    mean: float
    """Mean judge score."""
    bad_share: float
    """Share of scores ≤ 2."""
    z: float
    """Standardised distance of the mean from the baseline."""
    fired: list[str] = field(default_factory=list)
    """Detectors that alarmed at this batch."""


@dataclass(frozen=True, kw_only=True, slots=True)
class DetectorRun:
    """One detector over the batches."""

    name: str
    """``CUSUM``, ``EWMA`` or ``Bernoulli CUSUM``."""
    arl0: float
    """Expected batches (CUSUM, EWMA) or traces (Bernoulli) between false alarms."""
    limit: float
    """Its decision limit (h, or the EWMA width L)."""
    fired_at: list[str]
    """Batch starts where it alarmed."""
    warmup: int | None = None
    """Batches' worth of data the baseline holds (None: a number, taken as known)."""
    arl0_median: float | None = None
    """The median ARL0 of a chart built on a baseline this size (with ``warmup``)."""
    arl0_low: float | None = None
    """The ARL0 one such chart in ten falls below."""


def _label(moment: datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%MZ}"


@dataclass(frozen=True, kw_only=True, slots=True)
class MonitorState:
    """The detectors' state between reports, so each batch is fed to them once.

    Kept in the stored report's JSON (``monitor``); the next report of the same
    monitor (judge, baseline, batch length, ARL0) restores the charts and feeds
    only the complete batches after ``last_batch_end``. That is what makes a chart
    sequential across daily checks: re-running it over a 7-day window every day
    would feed each batch seven times.
    """

    monitor_id: str
    """Which monitor: a digest of the judge version, baseline, batch length and ARL0."""
    batch_seconds: float
    """The batch length; batches are aligned to the Unix epoch."""
    last_batch_end: datetime | None
    """End of the last batch fed (None: none yet)."""
    charts: dict[str, DetectorState]
    """Each chart's ``to_state()``, by name."""
    batches_fed: int = 0
    """Batches fed to the charts since the monitor started."""

    def to_json(self) -> dict[str, Any]:
        """The form stored in the report."""
        return {
            "id": self.monitor_id,
            "batch_seconds": self.batch_seconds,
            "last_batch_end": self.last_batch_end.isoformat() if self.last_batch_end else None,
            "charts": self.charts,
            "batches_fed": self.batches_fed,
        }

    @classmethod
    def from_json(cls, data: Any) -> MonitorState | None:
        """Read a stored monitor back; None when it is missing or not one."""
        if not isinstance(data, dict) or not isinstance(data.get("charts"), dict):
            return None
        try:
            end = data.get("last_batch_end")
            return cls(
                monitor_id=str(data["id"]),
                batch_seconds=float(data["batch_seconds"]),
                last_batch_end=datetime.fromisoformat(end) if end else None,
                charts={str(k): v for k, v in data["charts"].items() if isinstance(v, dict)},
                batches_fed=int(data.get("batches_fed") or 0),
            )
        except (KeyError, TypeError, ValueError):
            return None


def run_detectors(
    scores: Sequence[TraceScore],
    *,
    window: Window,
    batch: timedelta,
    baseline_mean: float,
    baseline_sd: float,
    baseline_bad_share: float | None,
    arl0: float,
    baseline_n: int = 0,
    monitor_id: str = "",
    prior: MonitorState | None = None,
) -> tuple[list[BatchPoint], list[DetectorRun], MonitorState]:
    """Group the judged scores into epoch-aligned batches and feed the charts the new ones.

    With ``prior`` (the same monitor's state from the last report) the charts go on
    where they stopped and only complete batches after its ``last_batch_end`` are fed;
    without it they start fresh. A batch not yet complete at ``window.end`` is shown,
    not fed (the next report feeds it whole). ``baseline_n`` is how many values the
    baseline was estimated from (0 for a number): the runs then carry the ARL0 such a
    chart really has.
    """
    seconds = batch.total_seconds()
    buckets: dict[int, list[TraceScore]] = {}
    for s in scores:
        if s.score is not None:
            buckets.setdefault(math.floor(s.timestamp.timestamp() / seconds), []).append(s)
    kept = prior if prior is not None and prior.batch_seconds == seconds else None
    charts = kept.charts if kept is not None else {}
    per_batch = max(1.0, sum(len(v) for v in buckets.values()) / max(1, len(buckets)))
    cusum = _restore(charts.get("CUSUM"), CUSUM)
    ewma = _restore(charts.get("EWMA"), EWMA)
    if cusum is None or ewma is None:  # the limits are solved only for a chart that starts
        h, width = _design(arl0, baseline_n, per_batch)
        cusum = cusum or CUSUM(mean=0.0, sd=1.0, h=h, mode="down")
        ewma = ewma or EWMA(mean=0.0, sd=1.0, width=width, mode="down")
    bernoulli = _restore(charts.get("Bernoulli CUSUM"), BernoulliCUSUM)
    if bernoulli is None and baseline_bad_share is not None and 0 < baseline_bad_share < 0.5:
        p1 = min(0.99, max(2 * baseline_bad_share, baseline_bad_share + 0.05))
        bernoulli = BernoulliCUSUM(p0=baseline_bad_share, p1=p1, arl0=arl0 * round(per_batch))
    fed_until = kept.last_batch_end if kept is not None else None
    fed = kept.batches_fed if kept is not None else 0
    runs: dict[str, list[str]] = {"CUSUM": [], "EWMA": [], "Bernoulli CUSUM": []}
    points: list[BatchPoint] = []
    sd = baseline_sd if baseline_sd > 0 else 1.0
    for index in sorted(buckets):
        items = sorted(buckets[index], key=lambda s: s.timestamp)
        values = [float(s.score or 0) for s in items]
        mean = sum(values) / len(values)
        z = (mean - baseline_mean) / (sd / math.sqrt(len(values)))
        start = datetime.fromtimestamp(index * seconds, UTC)
        end = start + batch
        fired: list[str] = []
        new = end <= window.end and (fed_until is None or start >= fed_until)
        if new:
            fired += _feed(cusum, ewma, bernoulli, z, values)
            fed_until = end
            fed += 1
        for name in fired:
            runs[name].append(_label(start))
        points.append(
            BatchPoint(
                start=start,
                n=len(values),
                mean=mean,
                bad_share=sum(1 for v in values if v <= BAD_SCORE) / len(values),
                z=z,
                fired=fired,
            )
        )
    state = MonitorState(
        monitor_id=monitor_id,
        batch_seconds=seconds,
        last_batch_end=fed_until,
        batches_fed=fed,
        charts={
            "CUSUM": cusum.to_state(),
            "EWMA": ewma.to_state(),
            **({"Bernoulli CUSUM": bernoulli.to_state()} if bernoulli is not None else {}),
        },
    )
    warmup = _warmup_batches(baseline_n, points)
    cusum_real = cusum_warmup_arl(h=cusum.h, warmup=warmup, two_sided=False) if warmup else None
    ewma_real = (
        ewma_warmup_arl(width=ewma.width, warmup=warmup, two_sided=False) if warmup else None
    )
    detectors = [
        DetectorRun(
            name="CUSUM",
            arl0=cusum.arl0,
            limit=cusum.h,
            fired_at=runs["CUSUM"],
            warmup=warmup,
            arl0_median=cusum_real.median if cusum_real else None,
            arl0_low=cusum_real.low if cusum_real else None,
        ),
        DetectorRun(
            name="EWMA",
            arl0=ewma.arl0,
            limit=ewma.width,
            fired_at=runs["EWMA"],
            warmup=warmup,
            arl0_median=ewma_real.median if ewma_real else None,
            arl0_low=ewma_real.low if ewma_real else None,
        ),
    ]
    if bernoulli is not None:
        detectors.append(
            DetectorRun(
                name="Bernoulli CUSUM",
                arl0=bernoulli.arl0,
                limit=bernoulli.h,
                fired_at=runs["Bernoulli CUSUM"],
            )
        )
    return points, detectors, state


WARMUP_QUANTILE = 0.5
"""Charts on an estimated baseline are designed for the median baseline of its size."""


def _design(arl0: float, baseline_n: int, per_batch: float) -> tuple[float, float]:
    """CUSUM h and EWMA L for ``arl0``: with an estimated baseline, the limits that give the
    median chart of a baseline this size that ARL0 (warm-up included); else the known ones."""
    from evallock.stats import (
        cusum_threshold,
        cusum_warmup_threshold,
        ewma_warmup_width,
        ewma_width,
    )

    known = cusum_threshold(arl0, two_sided=False), ewma_width(arl0, two_sided=False)
    if not baseline_n or per_batch <= 0:
        return known
    warmup = max(3, min(500, round(baseline_n / per_batch)))
    try:
        return (
            cusum_warmup_threshold(arl0, warmup=warmup, two_sided=False, quantile=WARMUP_QUANTILE),
            ewma_warmup_width(arl0, warmup=warmup, two_sided=False, quantile=WARMUP_QUANTILE),
        )
    except UsageError:  # no limit reaches it for this warm-up: the known design, stated as such
        return known


def _warmup_batches(baseline_n: int, points: Sequence[BatchPoint]) -> int | None:
    """How many batches' worth of data an estimated baseline holds (None: known)."""
    if not baseline_n or not points:
        return None
    per_batch = sum(p.n for p in points) / len(points)
    return max(3, min(500, round(baseline_n / max(per_batch, 1.0))))


_Chart = TypeVar("_Chart", CUSUM, EWMA, BernoulliCUSUM)


def _restore(state: DetectorState | None, kind: type[_Chart]) -> _Chart | None:
    """The chart saved in ``state``, or None (none saved, or not one of this kind)."""
    if state is None:
        return None
    try:
        return kind.from_state(state)
    except (KeyError, TypeError, ValueError, UsageError):
        return None


def _feed(
    cusum: CUSUM, ewma: EWMA, bernoulli: BernoulliCUSUM | None, z: float, values: list[float]
) -> list[str]:
    """One batch into every chart; the names of those that alarmed."""
    fired: list[str] = []
    cusum.update(z)
    if cusum.drift_detected:
        fired.append("CUSUM")
    ewma.update(z)
    if ewma.drift_detected:
        fired.append("EWMA")
    if bernoulli is not None:
        hit = False
        for value in values:
            bernoulli.update(1.0 if value <= BAD_SCORE else 0.0)
            hit = hit or bernoulli.drift_detected
        if hit:
            fired.append("Bernoulli CUSUM")
    return fired
