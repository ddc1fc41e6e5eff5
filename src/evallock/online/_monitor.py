"""An evaluator's drift chart, fed its scores as they arrive and kept in the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from evallock.online._rules import DriftWatch
from evallock.records import OnlineScore
from evallock.stats import CUSUM

__all__ = ["StreamAlert", "StreamMonitor"]


@dataclass(frozen=True, kw_only=True, slots=True)
class StreamAlert:
    """The chart alarmed: the batch that did it, against the baseline."""

    evaluator: str
    at: datetime
    batch_mean: float
    baseline_mean: float
    baseline_sd: float
    batches: int
    """Batch means fed so far (the alarm's one included)."""
    arl0: float

    def text(self) -> str:
        """One line for the log, the webhook and the dashboard."""
        return (
            f"evallock: {self.evaluator} drifted down: batch mean {self.batch_mean:.3f} vs"
            f" baseline {self.baseline_mean:.3f} (SD {self.baseline_sd:.3f}), CUSUM alarm"
            f" after {self.batches} batches (false alarms: about 1 in {self.arl0:.0f} batches)"
        )

    def as_json(self) -> dict[str, Any]:
        """The alert as stored and listed by ``GET /api/evaluators``."""
        return {
            "evaluator": self.evaluator,
            "at": self.at.isoformat(),
            "batch_mean": self.batch_mean,
            "baseline_mean": self.baseline_mean,
            "baseline_sd": self.baseline_sd,
            "batches": self.batches,
            "arl0": self.arl0,
            "text": self.text(),
        }


class StreamMonitor:
    """A one-sided CUSUM on batch means of an evaluator's scores, with its partial batch."""

    def __init__(self, name: str, watch: DriftWatch, state: dict[str, Any] | None = None) -> None:
        self.name = name
        self.watch = watch
        if state is None:
            self.chart = CUSUM(
                mean=watch.baseline_mean,
                sd=watch.baseline_sd,
                arl0=watch.arl0,
                mode="down",
                warmup=watch.warmup,
                warmup_guarantee=None if watch.baseline_mean is not None else 0.9,
            )
            self.pending_sum, self.pending_n, self.batches = 0.0, 0, 0
        else:
            self.chart = CUSUM.from_state(state["chart"])
            self.pending_sum = float(state["pending_sum"])
            self.pending_n = int(state["pending_n"])
            self.batches = int(state["batches"])

    def state(self) -> dict[str, Any]:
        """Everything to continue exactly here after a restart (plain JSON)."""
        return {
            "chart": self.chart.to_state(),
            "pending_sum": self.pending_sum,
            "pending_n": self.pending_n,
            "batches": self.batches,
        }

    def feed(self, scores: list[OnlineScore], at: datetime) -> list[StreamAlert]:
        """Add scored verdicts (in arrival order); the alarms they raise."""
        alerts = []
        for score in scores:
            if score.status != "scored" or score.score is None:
                continue
            self.pending_sum += score.score
            self.pending_n += 1
            if self.pending_n < self.watch.batch:
                continue
            mean = self.pending_sum / self.pending_n
            self.pending_sum, self.pending_n = 0.0, 0
            self.batches += 1
            self.chart.update(mean)
            base = self.chart.baseline
            if self.chart.drift_detected and base is not None:
                alerts.append(
                    StreamAlert(
                        evaluator=self.name,
                        at=at,
                        batch_mean=mean,
                        baseline_mean=base.mean,
                        baseline_sd=base.sd,
                        batches=self.batches,
                        arl0=self.watch.arl0,
                    )
                )
        return alerts
