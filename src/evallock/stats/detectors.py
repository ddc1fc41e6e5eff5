"""Drift detectors for streams of judge scores: CUSUM, EWMA, Bernoulli CUSUM, Page-Hinkley.

Each detector follows river's shape: feed it one value with ``update(x)`` and read the
``drift_detected`` flag, which is true only on the observation that raised the alarm; the
next update restarts the chart statistic (against the same frozen baseline). The
normal-theory charts (CUSUM, EWMA) are best run on batch means (per hour, or per N traces)
so the CLT applies, with σ the batch-mean standard deviation of a baseline window taken with
the same judge version. Each chart reports its design ARL0 (``arl0``), and can be
configured by it instead of by a raw threshold.

Every detector saves its whole state as plain JSON-able data with ``to_state()`` and is
rebuilt with ``from_state()`` (or :func:`detector_from_state`), so a daily drift report
can carry a chart from one run to the next: feeding a stream in two halves with a save
and a restore in between gives exactly the alarms of one uninterrupted run.

A baseline estimated from a warm-up is not the baseline: with m values the chart's real
ARL0 varies from warm-up to warm-up (CUSUM h = 5, design 465: with m = 30 the median chart
has ARL0 ≈ 230 and one in ten has less than 65; with m = 300, 420 and 260; see
:mod:`evallock.stats.warmup`). ``warmup_arl0`` reports that distribution, and
``warmup_guarantee=0.9`` widens the limit so nine warm-ups in ten keep the target ARL0.

(The module is past 500 lines on purpose: the four charts share one protocol and one
state format, and :func:`detector_from_state` must know them all.)
"""

from __future__ import annotations

import math
from functools import cached_property
from typing import Any, Literal, Protocol

from evallock.errors import UsageError
from evallock.stats._baseline import Baseline, Warmup, state_float
from evallock.stats.arl import (
    bernoulli_cusum_arl,
    bernoulli_cusum_threshold,
    cusum_arl,
    cusum_threshold,
    ewma_arl,
    ewma_width,
)
from evallock.stats.warmup import (
    WarmupARL,
    cusum_warmup_arl,
    cusum_warmup_threshold,
    ewma_warmup_arl,
    ewma_warmup_width,
)

__all__ = [
    "CUSUM",
    "EWMA",
    "Baseline",
    "BernoulliCUSUM",
    "DetectorState",
    "DriftDetector",
    "Mode",
    "PageHinkley",
    "detector_from_state",
]

DetectorState = dict[str, Any]
"""A detector's saved state: JSON-able (no NaN or infinity), with a ``"kind"`` key."""
_STATE_VERSION = 1

Mode = Literal["both", "up", "down"]
"""Which shifts alarm: increases, decreases (a quality drop on a score) or both."""


class DriftDetector(Protocol):
    """What a drift detector offers: ``update`` with one value, then read the flag."""

    @property
    def drift_detected(self) -> bool:
        """True on the observation that raised an alarm."""
        ...

    def update(self, x: float) -> None:
        """Feed one observation."""
        ...

    def to_state(self) -> DetectorState:
        """The detector's whole state as plain JSON-able data."""
        ...


def _check_mode(mode: str) -> None:
    if mode not in ("both", "up", "down"):
        raise UsageError(f"mode must be both, up or down, got {mode!r}")


def _check_state(state: DetectorState, kind: str) -> None:
    if state.get("kind") != kind or state.get("version") != _STATE_VERSION:
        raise UsageError(f"not a saved {kind} state (version {_STATE_VERSION})")


def _guarantee_quantile(guarantee: float | None, mean: float | None) -> float | None:
    """The quantile of warm-up ARL0s to design for, or None for the known-baseline design."""
    if guarantee is None:
        return None
    if not 0.0 < guarantee < 1.0:
        raise UsageError(f"warmup_guarantee must be in (0, 1), got {guarantee}")
    if mean is not None:
        raise UsageError("warmup_guarantee applies only when the baseline is estimated")
    return 1.0 - guarantee


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


class CUSUM:
    """Tabular CUSUM chart (Page 1954) on standardized values, two-sided by default.

    With z = (x − µ0)/σ it keeps ``S⁺ = max(0, S⁺ + z − k)`` and ``S⁻ = max(0, S⁻ − z − k)``
    and alarms when a watched sum exceeds h. k = 0.5 targets a 1σ shift. Set h directly, or
    by ``arl0`` (the expected observations between false alarms, solved with the Markov
    chain of :func:`evallock.stats.cusum_arl`); the default h = 5 gives a two-sided ARL0 of
    about 465 and detects a 1σ shift in about 10 observations. It is optimal in Lorden's
    minimax sense for the shift it is tuned to.

    Freeze µ0 and σ from a baseline (``mean``/``sd``) or let the first ``warmup`` values
    estimate them (SD with ddof=1), as river's CUSUM does; a running mean would chase the
    shift. Computed in raw units, so a zero-SD baseline alarms on any move beyond it.
    With an estimated baseline, ``warmup_arl0`` gives the chart's real ARL0 distribution
    and ``warmup_guarantee`` (e.g. 0.9) sets h so that share of warm-ups reach ``arl0``
    (default: the ARL0 of h = 5).

    Reference:
        Page, Biometrika 41 (1954); vectors ``drift_stream_planted_shift``,
        ``arl_cusum_ewma``.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(42)
        >>> stream = np.concatenate([rng.normal(4.2, 0.35, 300), rng.normal(3.85, 0.35, 50)])
        >>> chart = CUSUM(mean=4.2, sd=0.35, arl0=1000, mode="down")
        >>> round(chart.h, 2)
        5.07
        >>> for i, x in enumerate(stream):
        ...     chart.update(x)
        ...     if chart.drift_detected:
        ...         break
        >>> i
        306
    """

    def __init__(
        self,
        *,
        mean: float | None = None,
        sd: float | None = None,
        k: float = 0.5,
        h: float | None = None,
        arl0: float | None = None,
        mode: Mode = "both",
        warmup: int = 30,
        warmup_guarantee: float | None = None,
    ) -> None:
        _check_mode(mode)
        if k < 0.0:
            raise UsageError(f"k must be non-negative, got {k}")
        if h is not None and arl0 is not None:
            raise UsageError("give either h or arl0, not both")
        quantile = _guarantee_quantile(warmup_guarantee, mean)
        self.k = k
        """Reference value (slack) in σ units."""
        self.mode: Mode = mode
        """Which shifts alarm."""
        two_sided = mode == "both"
        if h is None and quantile is not None:
            target = arl0 if arl0 is not None else cusum_arl(k=k, h=5.0, two_sided=two_sided)
            h = cusum_warmup_threshold(
                target, warmup=warmup, k=k, two_sided=two_sided, quantile=quantile
            )
        if h is None:
            h = 5.0 if arl0 is None else cusum_threshold(arl0, k=k, two_sided=two_sided)
        if not h > 0.0:
            raise UsageError(f"h must be positive, got {h}")
        self.h = h
        """Decision interval in σ units."""
        self._warmup = Warmup(mean, sd, warmup)
        self.upper = 0.0
        """S⁺ in σ units (0 while warming up)."""
        self.lower = 0.0
        """S⁻ in σ units (0 while warming up)."""
        self._raw_upper = 0.0
        self._raw_lower = 0.0
        self._drift = False

    @cached_property
    def arl0(self) -> float:
        """Expected observations between false alarms for normal data, with this k, h, mode."""
        return cusum_arl(k=self.k, h=self.h, two_sided=self.mode == "both")

    @cached_property
    def warmup_arl0(self) -> WarmupARL | None:
        """The real ARL0 over warm-ups when the baseline is estimated (None when given)."""
        if not self._warmup.estimated or self._warmup.size < 3:
            return None
        return cusum_warmup_arl(
            h=self.h, warmup=self._warmup.size, k=self.k, two_sided=self.mode == "both"
        )

    def to_state(self) -> DetectorState:
        """The chart's whole state as plain JSON-able data (see :meth:`from_state`)."""
        return {
            "kind": "CUSUM",
            "version": _STATE_VERSION,
            "k": self.k,
            "h": self.h,
            "mode": self.mode,
            "warmup": self._warmup.to_state(),
            "upper": self._raw_upper,
            "lower": self._raw_lower,
            "drift": self._drift,
        }

    @classmethod
    def from_state(cls, state: DetectorState) -> CUSUM:
        """Rebuild a chart saved by :meth:`to_state`; it continues exactly where it stopped."""
        _check_state(state, "CUSUM")
        chart = cls(k=float(state["k"]), h=float(state["h"]), mode=state["mode"])
        chart._warmup = Warmup.from_state(state["warmup"])
        chart._raw_upper, chart._raw_lower = float(state["upper"]), float(state["lower"])
        chart._drift = bool(state["drift"])
        base = chart._warmup.baseline
        scale = base.sd if base is not None and base.sd > 0.0 else 1.0
        chart.upper, chart.lower = chart._raw_upper / scale, chart._raw_lower / scale
        return chart

    @property
    def drift_detected(self) -> bool:
        """True on the observation that raised an alarm."""
        return self._drift

    @property
    def baseline(self) -> Baseline | None:
        """The frozen baseline, or None while warming up."""
        return self._warmup.baseline

    def update(self, x: float) -> None:
        """Feed one value (a score, or a batch mean)."""
        if self._drift:
            self._raw_upper = self._raw_lower = 0.0
        self._drift = False
        x = float(x)
        base = self._warmup.observe(x)
        if base is None:
            return
        slack = self.k * base.sd
        self._raw_upper = max(0.0, self._raw_upper + (x - base.mean) - slack)
        self._raw_lower = max(0.0, self._raw_lower - (x - base.mean) - slack)
        limit = self.h * base.sd
        scale = base.sd if base.sd > 0.0 else 1.0
        self.upper, self.lower = self._raw_upper / scale, self._raw_lower / scale
        up = self.mode != "down" and self._raw_upper > limit
        down = self.mode != "up" and self._raw_lower > limit
        self._drift = up or down


class EWMA:
    """EWMA control chart (Roberts 1959) with exact time-varying limits.

    ``z_t = λx_t + (1 − λ)z_{t−1}`` from z_0 = µ0, alarming outside
    ``µ0 ± L·σ·sqrt(λ/(2 − λ)·(1 − (1 − λ)^{2t}))``. λ = 0.2 with L = 3 (the default) has
    ARL0 ≈ 560; L = 2.962 is the classic ARL0 ≈ 500 design; or pass ``arl0`` and L is
    solved for it (Markov chain with the asymptotic limits). Good at small persistent
    shifts, and smoother to plot than CUSUM. Baseline, restarts, ``warmup_arl0`` and
    ``warmup_guarantee`` (default target: the ARL0 of L = 3) as in :class:`CUSUM`.

    Reference:
        Roberts, Technometrics 1 (1959); Lucas & Saccucci, Technometrics 32 (1990).
        Vectors ``drift_stream_planted_shift``, ``arl_cusum_ewma``.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(42)
        >>> stream = np.concatenate([rng.normal(4.2, 0.35, 300), rng.normal(3.85, 0.35, 50)])
        >>> chart = EWMA(mean=4.2, sd=0.35, width=2.962, mode="down")
        >>> for i, x in enumerate(stream):
        ...     chart.update(x)
        ...     if chart.drift_detected:
        ...         break
        >>> i
        305
    """

    def __init__(
        self,
        *,
        mean: float | None = None,
        sd: float | None = None,
        lam: float = 0.2,
        width: float | None = None,
        arl0: float | None = None,
        mode: Mode = "both",
        warmup: int = 30,
        warmup_guarantee: float | None = None,
    ) -> None:
        _check_mode(mode)
        if not 0.0 < lam <= 1.0:
            raise UsageError(f"lam must be in (0, 1], got {lam}")
        if width is not None and arl0 is not None:
            raise UsageError("give either width or arl0, not both")
        quantile = _guarantee_quantile(warmup_guarantee, mean)
        self.lam = lam
        """Smoothing weight λ."""
        self.mode: Mode = mode
        """Which shifts alarm."""
        two_sided = mode == "both"
        if width is None and quantile is not None:
            target = arl0 if arl0 is not None else ewma_arl(lam=lam, width=3.0, two_sided=two_sided)
            width = ewma_warmup_width(
                target, warmup=warmup, lam=lam, two_sided=two_sided, quantile=quantile
            )
        if width is None:
            width = 3.0 if arl0 is None else ewma_width(arl0, lam=lam, two_sided=two_sided)
        if not width > 0.0:
            raise UsageError(f"width must be positive, got {width}")
        self.width = width
        """Limit width L in units of the EWMA's standard deviation."""
        self._warmup = Warmup(mean, sd, warmup)
        self.value: float | None = None
        """The current EWMA z_t (None before the first monitored value)."""
        self._t = 0
        self._drift = False

    @cached_property
    def arl0(self) -> float:
        """Expected observations between false alarms (asymptotic-limit Markov chain)."""
        return ewma_arl(lam=self.lam, width=self.width, two_sided=self.mode == "both")

    @cached_property
    def warmup_arl0(self) -> WarmupARL | None:
        """The real ARL0 over warm-ups when the baseline is estimated (None when given)."""
        if not self._warmup.estimated or self._warmup.size < 3:
            return None
        return ewma_warmup_arl(
            width=self.width, warmup=self._warmup.size, lam=self.lam, two_sided=self.mode == "both"
        )

    def to_state(self) -> DetectorState:
        """The chart's whole state as plain JSON-able data (see :meth:`from_state`)."""
        return {
            "kind": "EWMA",
            "version": _STATE_VERSION,
            "lam": self.lam,
            "width": self.width,
            "mode": self.mode,
            "warmup": self._warmup.to_state(),
            "value": self.value,
            "t": self._t,
            "drift": self._drift,
        }

    @classmethod
    def from_state(cls, state: DetectorState) -> EWMA:
        """Rebuild a chart saved by :meth:`to_state`; it continues exactly where it stopped."""
        _check_state(state, "EWMA")
        chart = cls(lam=float(state["lam"]), width=float(state["width"]), mode=state["mode"])
        chart._warmup = Warmup.from_state(state["warmup"])
        chart.value = None if state["value"] is None else float(state["value"])
        chart._t, chart._drift = int(state["t"]), bool(state["drift"])
        return chart

    @property
    def drift_detected(self) -> bool:
        """True on the observation that raised an alarm."""
        return self._drift

    @property
    def baseline(self) -> Baseline | None:
        """The frozen baseline, or None while warming up."""
        return self._warmup.baseline

    def half_width(self) -> float:
        """Half the width of the control limits at the last update (0 before any)."""
        base = self._warmup.baseline
        if base is None:
            return 0.0
        decay = (1.0 - self.lam) ** (2 * self._t)
        return self.width * base.sd * math.sqrt(self.lam / (2.0 - self.lam) * (1.0 - decay))

    def update(self, x: float) -> None:
        """Feed one value (a score, or a batch mean)."""
        if self._drift:
            self.value, self._t = None, 0
        self._drift = False
        x = float(x)
        base = self._warmup.observe(x)
        if base is None:
            return
        previous = base.mean if self.value is None else self.value
        self.value = self.lam * x + (1.0 - self.lam) * previous
        self._t += 1
        half = self.half_width()
        up = self.mode != "down" and self.value > base.mean + half
        down = self.mode != "up" and self.value < base.mean - half
        self._drift = up or down


class BernoulliCUSUM:
    """Bernoulli CUSUM on a bad/good indicator, e.g. "judge score below 3".

    Adds ``ln(p1/p0)`` for a bad observation and ``ln((1 − p1)/(1 − p0))`` for a good one,
    floored at 0, and alarms above h: the likelihood-ratio CUSUM for a rise of the bad
    share from p0 to p1. The same chart watches a drop of the 10th percentile: feed
    ``x < baseline_p10`` with p0 = 0.10. Set h directly or by ``arl0`` (default 500).
    p0 = 0.02, p1 = 0.15, h = 3 gives ARL0 ≈ 373 and ARL1 ≈ 15.6 observations.

    Reference:
        Reynolds & Stoumbos, J. Quality Technology 31 (1999).

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(3)
        >>> bad = np.concatenate([rng.random(400) < 0.02, rng.random(100) < 0.15])
        >>> chart = BernoulliCUSUM(p0=0.02, p1=0.15, h=3.0)
        >>> round(chart.arl0)
        373
        >>> for i, x in enumerate(bad):
        ...     chart.update(x)
        ...     if chart.drift_detected:
        ...         break
        >>> i
        423
    """

    def __init__(
        self, *, p0: float, p1: float, h: float | None = None, arl0: float | None = None
    ) -> None:
        if h is not None and arl0 is not None:
            raise UsageError("give either h or arl0, not both")
        if h is None:
            h = bernoulli_cusum_threshold(500.0 if arl0 is None else arl0, p0=p0, p1=p1)
        if not h > 0.0:
            raise UsageError(f"h must be positive, got {h}")
        self.p0 = p0
        """In-control share of bad observations."""
        self.p1 = p1
        """Share of bad observations the chart is tuned to detect."""
        self.h = h
        """Decision threshold on the log-likelihood-ratio scale."""
        self._bad_step = math.log(p1 / p0)
        self._good_step = math.log((1.0 - p1) / (1.0 - p0))
        self.statistic = 0.0
        """The current CUSUM statistic."""
        self._drift = False

    @cached_property
    def arl0(self) -> float:
        """Expected observations between false alarms at the in-control rate p0."""
        return bernoulli_cusum_arl(p0=self.p0, p1=self.p1, h=self.h)

    def to_state(self) -> DetectorState:
        """The chart's whole state as plain JSON-able data (see :meth:`from_state`)."""
        return {
            "kind": "BernoulliCUSUM",
            "version": _STATE_VERSION,
            "p0": self.p0,
            "p1": self.p1,
            "h": self.h,
            "statistic": self.statistic,
            "drift": self._drift,
        }

    @classmethod
    def from_state(cls, state: DetectorState) -> BernoulliCUSUM:
        """Rebuild a chart saved by :meth:`to_state`; it continues exactly where it stopped."""
        _check_state(state, "BernoulliCUSUM")
        chart = cls(p0=float(state["p0"]), p1=float(state["p1"]), h=float(state["h"]))
        chart.statistic, chart._drift = float(state["statistic"]), bool(state["drift"])
        return chart

    @property
    def drift_detected(self) -> bool:
        """True on the observation that raised an alarm."""
        return self._drift

    def update(self, x: float) -> None:
        """Feed one indicator: truthy for a bad observation."""
        if self._drift:
            self.statistic = 0.0
        step = self._bad_step if x else self._good_step
        self.statistic = max(0.0, self.statistic + step)
        self._drift = self.statistic > self.h


class PageHinkley:
    """Page-Hinkley test against the running mean, a port of river's ``PageHinkley``.

    ``s⁺ = α·s⁺ + (x − x̄) − δ`` and ``s⁻ = α·s⁻ + (x − x̄) + δ``; alarm when s⁺ rises more
    than ``threshold`` above its minimum ("up") or s⁻ falls that far below its maximum
    ("down"), after ``min_instances`` values; everything restarts after an alarm. The
    threshold is in the stream's raw units, so scale it to the score's SD: river's default
    of 50 never fires on a 1–5 score. Unlike river, the running maximum of s⁻ starts at
    −inf rather than −1. It has no ARL design; prefer :class:`CUSUM` with a frozen baseline.

    Reference:
        Page (1954); Hinkley, Biometrika 58 (1971). Vector ``drift_stream_planted_shift``.
    """

    def __init__(
        self,
        *,
        threshold: float,
        delta: float = 0.005,
        alpha: float = 1.0 - 0.0001,
        mode: Mode = "both",
        min_instances: int = 30,
    ) -> None:
        _check_mode(mode)
        if not threshold > 0.0:
            raise UsageError(f"threshold must be positive, got {threshold}")
        self.threshold = threshold
        """Alarm threshold λ, in the stream's units."""
        self.delta = delta
        """Tolerated drift per observation."""
        self.alpha = alpha
        """Forgetting factor of the cumulative sums."""
        self.mode: Mode = mode
        """Which shifts alarm."""
        self.min_instances = min_instances
        """Observations before an alarm may be raised."""
        self._reset()
        self._drift = False

    def _reset(self) -> None:
        self._n = 0
        self._mean = 0.0
        self._sum_up = 0.0
        self._sum_down = 0.0
        self._min_up = math.inf
        self._max_down = -math.inf

    @property
    def drift_detected(self) -> bool:
        """True on the observation that raised an alarm."""
        return self._drift

    def to_state(self) -> DetectorState:
        """The detector's whole state as plain JSON-able data (see :meth:`from_state`)."""
        return {
            "kind": "PageHinkley",
            "version": _STATE_VERSION,
            "threshold": self.threshold,
            "delta": self.delta,
            "alpha": self.alpha,
            "mode": self.mode,
            "min_instances": self.min_instances,
            "n": self._n,
            "mean": self._mean,
            "sum_up": self._sum_up,
            "sum_down": self._sum_down,
            "min_up": _finite_or_none(self._min_up),
            "max_down": _finite_or_none(self._max_down),
            "drift": self._drift,
        }

    @classmethod
    def from_state(cls, state: DetectorState) -> PageHinkley:
        """Rebuild a detector saved by :meth:`to_state`; it continues where it stopped."""
        _check_state(state, "PageHinkley")
        detector = cls(
            threshold=float(state["threshold"]),
            delta=float(state["delta"]),
            alpha=float(state["alpha"]),
            mode=state["mode"],
            min_instances=int(state["min_instances"]),
        )
        detector._n, detector._mean = int(state["n"]), float(state["mean"])
        detector._sum_up, detector._sum_down = float(state["sum_up"]), float(state["sum_down"])
        detector._min_up = state_float(state["min_up"])  # None: not yet seen, +inf
        max_down = state["max_down"]
        detector._max_down = -math.inf if max_down is None else float(max_down)
        detector._drift = bool(state["drift"])
        return detector

    def update(self, x: float) -> None:
        """Feed one value."""
        if self._drift:
            self._reset()
        self._drift = False
        self._n += 1
        self._mean += (float(x) - self._mean) / self._n
        deviation = float(x) - self._mean
        self._sum_up = self.alpha * self._sum_up + deviation - self.delta
        self._sum_down = self.alpha * self._sum_down + deviation + self.delta
        self._min_up = min(self._min_up, self._sum_up)
        self._max_down = max(self._max_down, self._sum_down)
        if self._n < self.min_instances:
            return
        up = self.mode != "down" and self._sum_up - self._min_up > self.threshold
        down = self.mode != "up" and self._max_down - self._sum_down > self.threshold
        self._drift = up or down


_KINDS: dict[str, type[CUSUM] | type[EWMA] | type[BernoulliCUSUM] | type[PageHinkley]] = {
    "CUSUM": CUSUM,
    "EWMA": EWMA,
    "BernoulliCUSUM": BernoulliCUSUM,
    "PageHinkley": PageHinkley,
}


def detector_from_state(state: DetectorState) -> DriftDetector:
    """Rebuild any detector from its ``to_state()`` data, by its ``"kind"``.

    Example:
        >>> import json
        >>> chart = CUSUM(mean=0.0, sd=1.0, h=4.0)
        >>> chart.update(1.2)
        >>> saved = json.dumps(chart.to_state())
        >>> restored = detector_from_state(json.loads(saved))
        >>> restored.upper == chart.upper
        True
    """
    kind = state.get("kind")
    home = _KINDS.get(str(kind))
    if home is None:
        raise UsageError(f"unknown detector kind {kind!r}; expected one of {sorted(_KINDS)}")
    return home.from_state(state)
