"""An online A/B between experiment buckets, monitored with always-valid inference.

Live traffic split by a key (``experiment=A`` / ``experiment=B`` on each trace)
is compared on an online outcome: the share of traces a user rated down, the
share that errored, or the mean judge score of the sampled traces. The
comparison is a two-sample mixture SPRT (:class:`evallock.stats.TwoSampleMixtureSPRT`)
at the current totals: its confidence sequence and p-value hold at every look, so
the monitor may be run every day and the experiment stopped the first time it
says so, and the chance of ever declaring a false winner stays below ``alpha``
(a fixed-n test looked at daily would not: :data:`evallock.stats.PEEKING_PROBLEM`).

Each observation's variance is taken from the data pooled over both buckets (a
plug-in, as Johari et al. do in practice); the mixture's τ is the smallest
difference that matters (``effect``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from evallock.errors import UsageError
from evallock.keys import normalise_key
from evallock.stats import (
    PEEKING_PROBLEM,
    Interval,
    SequentialState,
    TwoSampleMixtureSPRT,
    t_mean_interval,
    wilson_interval,
)
from evallock.store import SliceCounts

__all__ = [
    "EXPERIMENT_METRICS",
    "ArmOutcome",
    "ExperimentMonitor",
    "experiment_to_dict",
    "monitor_experiment",
]

ExperimentMetric = Literal["thumbs-down", "errors", "judge"]
EXPERIMENT_METRICS: tuple[ExperimentMetric, ...] = ("thumbs-down", "errors", "judge")
"""What an experiment can be compared on (the first two: lower is better)."""
DEFAULT_EFFECT: dict[ExperimentMetric, float] = {
    "thumbs-down": 0.02,
    "errors": 0.01,
    "judge": 0.2,
}
"""The smallest difference that matters, per metric, when none is given."""
_MIN_VARIANCE = {"thumbs-down": 0.0025, "errors": 0.0025, "judge": 0.01}


class ExperimentStore(Protocol):
    """What the monitor reads: outcome counts per value of a key (``Store.traces``)."""

    def slices(
        self, by: Sequence[str], *, since: datetime | None = ..., until: datetime | None = ...
    ) -> list[SliceCounts]: ...


@dataclass(frozen=True, kw_only=True, slots=True)
class ArmOutcome:
    """One bucket: its traffic and its outcome, with a fixed-n interval for reading."""

    value: str
    """The key's value of this bucket, e.g. ``B``."""
    n: int
    """Observations: traces (thumbs-down, errors) or judged traces (judge)."""
    mean: float | None
    """The share (thumbs-down, errors) or the mean judge score (1–5); None with none."""
    ci: Interval | None
    """Its 95 % interval (Wilson for shares, t for scores) at this n; not always-valid."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ExperimentMonitor:
    """Where the experiment stands at this look."""

    key: str
    """The key that splits the traffic."""
    metric: ExperimentMetric
    """What is compared."""
    since: datetime | None
    """Window start (None: all traffic)."""
    until: datetime | None
    """Window end (None: now)."""
    a: ArmOutcome
    """Bucket A."""
    b: ArmOutcome
    """Bucket B."""
    state: SequentialState | None
    """The mSPRT at this look: difference B − A, confidence sequence, always-valid p
    (None until both buckets have data)."""
    alpha: float
    """Level of the test and of the confidence sequence."""
    effect: float
    """The smallest difference that matters (the mixture's τ)."""
    verdict: str
    """``B better``, ``B worse`` or ``keep running``."""
    explanation: str = PEEKING_PROBLEM
    """Why this may be looked at every day, where a fixed-n test may not."""


def monitor_experiment(
    store: ExperimentStore,
    *,
    key: str = "experiment",
    a: str = "A",
    b: str = "B",
    metric: ExperimentMetric = "thumbs-down",
    since: datetime | None = None,
    until: datetime | None = None,
    alpha: float = 0.05,
    effect: float | None = None,
) -> ExperimentMonitor:
    """Compare buckets ``a`` and ``b`` of ``key`` on ``metric`` at the current totals.

    Raises:
        UsageError: an unknown metric or key, equal buckets, an alpha outside (0, 0.5),
            or a non-positive effect.
    """
    if metric not in EXPERIMENT_METRICS:
        raise UsageError(f"--metric {metric!r}: expected one of {', '.join(EXPERIMENT_METRICS)}")
    if a == b:
        raise UsageError(f"--a and --b are both {a!r}: give two buckets")
    if not 0.0 < alpha < 0.5:
        raise UsageError(f"--alpha {alpha}: must lie strictly between 0 and 0.5")
    size = DEFAULT_EFFECT[metric] if effect is None else effect
    if not size > 0.0:
        raise UsageError(f"--effect {effect}: must be positive")
    name = normalise_key(key)
    try:
        counts = store.slices([name], since=since, until=until)
    except ValueError as exc:
        raise UsageError(f"--key: {exc}") from None
    found = {c.slice.values[0]: c for c in counts}
    arm_a, arm_b = (_arm(value, found.get(value), metric) for value in (a, b))
    state = _look(found.get(a), found.get(b), metric, alpha, size)
    return ExperimentMonitor(
        key=name,
        metric=metric,
        since=since,
        until=until,
        a=arm_a,
        b=arm_b,
        state=state,
        alpha=alpha,
        effect=size,
        verdict=_verdict(state, metric),
    )


def _totals(counts: SliceCounts | None, metric: ExperimentMetric) -> tuple[int, float, float]:
    """``(n, sum, sum of squares)`` of one bucket's observations."""
    if counts is None:
        return 0, 0.0, 0.0
    if metric == "judge":
        return counts.judge_n, counts.judge_sum, counts.judge_sumsq
    events = counts.thumbs_down if metric == "thumbs-down" else counts.errors
    return counts.n, float(events), float(events)  # 0/1 outcomes: x² = x


def _arm(value: str, counts: SliceCounts | None, metric: ExperimentMetric) -> ArmOutcome:
    n, total, squares = _totals(counts, metric)
    if n == 0:
        return ArmOutcome(value=value, n=0, mean=None, ci=None)
    if metric == "judge":
        return ArmOutcome(value=value, n=n, mean=total / n, ci=t_mean_interval(n, total, squares))
    return ArmOutcome(value=value, n=n, mean=total / n, ci=wilson_interval(int(total), n))


def _look(
    a: SliceCounts | None,
    b: SliceCounts | None,
    metric: ExperimentMetric,
    alpha: float,
    effect: float,
) -> SequentialState | None:
    (n_a, sum_a, sq_a), (n_b, sum_b, sq_b) = _totals(a, metric), _totals(b, metric)
    if n_a == 0 or n_b == 0:
        return None
    n = n_a + n_b
    mean = (sum_a + sum_b) / n
    variance = max((sq_a + sq_b) / n - mean * mean, _MIN_VARIANCE[metric])
    test = TwoSampleMixtureSPRT.at(
        n_a=n_a,
        total_a=sum_a,
        n_b=n_b,
        total_b=sum_b,
        sigma2_a=variance,
        sigma2_b=variance,
        tau2=effect * effect,
        alpha=alpha,
    )
    return test.state


def _verdict(state: SequentialState | None, metric: ExperimentMetric) -> str:
    """``B better`` / ``B worse`` once the confidence sequence excludes 0."""
    if state is None or state.interval is None:
        return "keep running"
    lower_is_better = metric != "judge"
    if state.interval.hi < 0:
        return "B better" if lower_is_better else "B worse"
    if state.interval.lo > 0:
        return "B worse" if lower_is_better else "B better"
    return "keep running"


def experiment_to_dict(found: ExperimentMonitor) -> dict[str, object]:
    """The monitor as JSON-ready data (``evallock experiment --json``)."""
    state = found.state

    def arm(outcome: ArmOutcome) -> dict[str, object]:
        return {
            "value": outcome.value,
            "n": outcome.n,
            "mean": outcome.mean,
            "ci": outcome.ci.to_json() if outcome.ci else None,
        }

    return {
        "key": found.key,
        "metric": found.metric,
        "since": found.since.isoformat() if found.since else None,
        "until": found.until.isoformat() if found.until else None,
        "a": arm(found.a),
        "b": arm(found.b),
        "delta": state.estimate if state else None,
        "confidence_sequence": state.interval.to_json() if state and state.interval else None,
        "always_valid_p": state.p_value if state else None,
        "e_value": state.e_value if state else None,
        "test": state.method if state else None,
        "alpha": found.alpha,
        "effect": found.effect,
        "verdict": found.verdict,
        "explanation": found.explanation,
    }
