"""An evaluator's state: what it scored, its mean with an interval, its spend and budget."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from evallock.calibration import Calibration, CalibrationFloor, LabelReader, calibration_of
from evallock.online._rules import EvaluatorRule
from evallock.records import JudgeLabel, OnlineScore
from evallock.stats import Estimate, t_mean_interval

__all__ = ["EvaluatorStatus", "evaluator_status"]


class _Counts(Protocol):
    def counts(self, evaluator: str, *, since: datetime | None = None) -> dict[str, Any]: ...

    def spent(self, evaluator: str, day: str) -> tuple[int, int, float]: ...

    def scores(
        self,
        *,
        evaluator: str | None = ...,
        trace_id: str | None = ...,
        since: datetime | None = ...,
        limit: int = ...,
    ) -> list[OnlineScore]: ...


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
    judge_version: str | None = None
    """The judge version of its newest verdict (a judged evaluator)."""
    calibration: Calibration | None = None
    """That judge version against people's labels."""
    ppi: Estimate | None = None
    """The mean corrected for the judge's error with people's labels (prediction-powered
    inference), for an evaluator whose score is the judge's alone."""

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
            "judge_version": self.judge_version,
            "calibration": None if self.calibration is None else self.calibration.as_json(),
            "mean_ppi": None if self.ppi is None else self.ppi.estimate,
            "mean_ppi_ci": None if self.ppi is None else self.ppi.interval.to_json(),
            "ppi_labels": None if self.ppi is None else self.ppi.n,
        }


def evaluator_status(
    online: _Counts,
    rule: EvaluatorRule,
    *,
    since: datetime | None = None,
    labels: LabelReader | None = None,
    floor: CalibrationFloor | None = None,
) -> EvaluatorStatus:
    """The rule's verdicts since ``since`` (default: the last 24 hours) and today's spend;
    with ``labels``, its judge's calibration and the PPI-corrected mean."""
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
    version = calibration = ppi = None
    if rule.judged and labels is not None:
        scores = online.scores(evaluator=rule.name, since=start, limit=200_000)
        newest = next((s for s in scores if s.status != "skipped"), None)
        if newest is not None:
            version = newest.version.split("+rules@")[0]
            found = labels.of_version(version)
            calibration = calibration_of(version, found, floor)
            if not rule.asserts:
                ppi = _ppi(found, [s for s in scores if s.version == newest.version])
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
        judge_version=version,
        calibration=calibration,
        ppi=ppi,
    )


def _ppi(labels: list[JudgeLabel], scores: list[OnlineScore]) -> Estimate | None:
    """PPI++ mean of the judge-only score (0–1): people's labels correct the judge's bias.

    Labelled answers pair the median human label with the judge's score (both mapped to
    0–1 as (s − 1)/4); every other scored trace of the window is an unlabelled judge score.
    Valid when the labelled answers are a uniform sample of the same traffic
    (``evallock labels sample`` draws one).
    """
    from evallock.stats import ppi_mean

    by_subject: dict[str, list[JudgeLabel]] = {}
    for label in labels:
        by_subject.setdefault(label.subject, []).append(label)
    labelled: dict[str, tuple[float, float]] = {}
    for subject, group in by_subject.items():
        judge = next((g.judge_score for g in group if g.judge_score is not None), None)
        if judge is None:
            continue
        humans = sorted(g.human_score for g in group)
        labelled[subject.removeprefix("trace:")] = (
            (humans[(len(humans) - 1) // 2] - 1) / 4,
            (judge - 1) / 4,
        )
    unlabelled = [
        s.score for s in scores if s.status == "scored" and s.score is not None
        and s.trace_id not in labelled
    ]  # fmt: skip
    if len(labelled) < 2 or len(unlabelled) < 2:
        return None
    pairs = list(labelled.values())
    return ppi_mean([h for h, _ in pairs], [j for _, j in pairs], unlabelled, lam=None)
