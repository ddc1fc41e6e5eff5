"""Detectors over a window's batches: CUSUM and EWMA on means, Bernoulli CUSUM on bad scores.

Each batch mean is standardised against the baseline, ``z = (m − µ0) /
(σ0 / √n)``, so batches of different sizes weigh fairly; the charts watch for
downward shifts only and are tuned by ARL0, the expected number of batches
between false alarms with a known baseline. A judged baseline is an estimate: it
holds about as much information as ``m = n0 / n`` batches, and a chart built on
an estimated mean and SD false-alarms far more often than its design ARL0 for
most such baselines. Each run therefore also states the median ARL0 of a chart
built on a baseline this size and the ARL0 one chart in ten falls below
(``stats.cusum_warmup_arl``): with 200 baseline traces and ~28 per daily batch,
a 370 design has a median near 210 and one in ten below 20. This is why the
report shows the detectors as signals, not as part of its alert.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from evallock.drift._scores import BAD_SCORE, TraceScore
from evallock.drift._window import Window
from evallock.stats import (
    CUSUM,
    EWMA,
    BernoulliCUSUM,
    cusum_warmup_arl,
    ewma_warmup_arl,
)

__all__ = ["BatchPoint", "DetectorRun", "run_detectors"]


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
) -> tuple[list[BatchPoint], list[DetectorRun]]:
    """Group the judged scores into batches and run every detector over them.

    ``baseline_n`` is how many values the baseline mean and SD were estimated from
    (0 for a number): the runs then carry the ARL0 such a chart really has.
    """
    """Group the judged scores into batches and run every detector over them."""
    buckets: dict[int, list[TraceScore]] = {}
    for s in scores:
        if s.score is not None:
            index = int((s.timestamp - window.start) / batch)
            buckets.setdefault(index, []).append(s)
    cusum = CUSUM(mean=0.0, sd=1.0, arl0=arl0, mode="down")
    ewma = EWMA(mean=0.0, sd=1.0, arl0=arl0, mode="down")
    bernoulli = None
    if baseline_bad_share is not None and 0 < baseline_bad_share < 0.5:
        p1 = min(0.99, max(2 * baseline_bad_share, baseline_bad_share + 0.05))
        mean_batch = max(1, round(len(scores) / max(1, len(buckets))))
        bernoulli = BernoulliCUSUM(p0=baseline_bad_share, p1=p1, arl0=arl0 * mean_batch)
    runs = {"CUSUM": [], "EWMA": [], "Bernoulli CUSUM": []}  # type: dict[str, list[str]]
    points: list[BatchPoint] = []
    sd = baseline_sd if baseline_sd > 0 else 1.0
    for index in sorted(buckets):
        items = sorted(buckets[index], key=lambda s: s.timestamp)
        values = [float(s.score or 0) for s in items]
        mean = sum(values) / len(values)
        z = (mean - baseline_mean) / (sd / math.sqrt(len(values)))
        start = window.start + index * batch
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
    return points, detectors


def _warmup_batches(baseline_n: int, points: Sequence[BatchPoint]) -> int | None:
    """How many batches' worth of data an estimated baseline holds (None: known)."""
    if not baseline_n or not points:
        return None
    per_batch = sum(p.n for p in points) / len(points)
    return max(3, min(500, round(baseline_n / max(per_batch, 1.0))))
