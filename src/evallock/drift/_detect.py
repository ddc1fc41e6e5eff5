"""Detectors over a window's batches: CUSUM and EWMA on means, Bernoulli CUSUM on bad scores.

Each batch mean is standardised against the baseline, ``z = (m − µ0) /
sqrt(σ0²/n + σ0²/n0)``, so batches of different sizes weigh fairly and the
error of a baseline mean estimated from n0 values counts (n0 = 0 for a number);
the charts watch for downward shifts only and are tuned by ARL0, the expected
number of batches between false alarms, which the report prints.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from evallock.drift._scores import BAD_SCORE, TraceScore
from evallock.drift._window import Window
from evallock.stats import CUSUM, EWMA, BernoulliCUSUM

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
        estimated = sd * sd / baseline_n if baseline_n else 0.0
        z = (mean - baseline_mean) / math.sqrt(sd * sd / len(values) + estimated)
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
    detectors = [
        DetectorRun(name="CUSUM", arl0=cusum.arl0, limit=cusum.h, fired_at=runs["CUSUM"]),
        DetectorRun(name="EWMA", arl0=ewma.arl0, limit=ewma.width, fired_at=runs["EWMA"]),
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
