"""An evaluator's state: what it scored, its mean with an interval, its spend and budget."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from evallock.online._rules import EvaluatorRule
from evallock.stats import t_mean_interval

__all__ = ["EvaluatorStatus", "evaluator_status"]


class _Counts(Protocol):
    def counts(self, evaluator: str, *, since: datetime | None = None) -> dict[str, Any]: ...

    def spent(self, evaluator: str, day: str) -> tuple[int, int, float]: ...


@dataclass(frozen=True, kw_only=True, slots=True)
class EvaluatorStatus:
    """One evaluator over a period: its verdicts, mean score ± interval, today's spend."""

    name: str
    since: datetime
    scored: int
    errors: int
    skipped: int
    mean: float | None
    """Mean score (0–1) of the scored traces."""
    ci: tuple[float, float] | None
    """Its 95 % t interval, within [0, 1] (None under two scores)."""
    se: float | None
    """Its standard error."""
    spent: tuple[int, int, float]
    """Today's (calls, tokens, cost)."""
    budget: dict[str, float | None]

    def as_json(self) -> dict[str, Any]:
        """The status as ``GET /api/evaluators`` and ``evaluate --json`` give it."""
        calls, tokens, cost = self.spent
        return {
            "name": self.name,
            "since": self.since.isoformat(),
            "scored": self.scored,
            "errors": self.errors,
            "skipped": self.skipped,
            "mean": self.mean,
            "mean_ci": list(self.ci) if self.ci else None,
            "se": self.se,
            "spent_today": {"calls": calls, "tokens": tokens, "cost": cost},
            "budget": self.budget,
        }


def evaluator_status(
    online: _Counts, rule: EvaluatorRule, *, since: datetime | None = None
) -> EvaluatorStatus:
    """The rule's verdicts since ``since`` (default: the last 24 hours) and today's spend."""
    now = datetime.now(UTC)
    start = since or now - timedelta(days=1)
    counts = online.counts(rule.name, since=start)
    n = counts["scored"]
    interval = t_mean_interval(n, counts["sum"], counts["sum_sq"]) if n else None
    mean = counts["sum"] / n if n else None
    se = None
    if n >= 2 and mean is not None:
        variance = max(0.0, (counts["sum_sq"] - n * mean * mean) / (n - 1))
        se = math.sqrt(variance / n)
    return EvaluatorStatus(
        name=rule.name,
        since=start,
        scored=n,
        errors=counts["error"],
        skipped=counts["skipped"],
        mean=mean,
        # scores live in [0, 1]: so does every mean the interval could hold
        ci=(max(0.0, interval.lo), min(1.0, interval.hi)) if interval else None,
        se=se,
        spent=online.spent(rule.name, now.date().isoformat()),
        budget={
            "calls_per_day": rule.budget.calls_per_day,
            "tokens_per_day": rule.budget.tokens_per_day,
            "cost_per_day": rule.budget.cost_per_day,
        },
    )
