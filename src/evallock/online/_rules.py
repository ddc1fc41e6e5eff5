"""Evaluator rules: which live traces an evaluator scores, how, and what it may spend."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

from evallock.errors import ConfigError
from evallock.records import Trace

__all__ = ["Budget", "DriftWatch", "EvaluatorRule", "rule_from_json"]

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


@dataclass(frozen=True, kw_only=True, slots=True)
class Budget:
    """What one evaluator may spend per UTC day; None: no limit. Checked before each judge
    call, so concurrent calls may pass a limit by at most the judge's concurrency."""

    calls_per_day: int | None = None
    """Judge requests (retries count; answers from the verdict cache do not)."""
    tokens_per_day: int | None = None
    """Judge tokens, in and out, as the judge service reports them."""
    cost_per_day: float | None = None
    """Judge USD, as the judge service reports it (``usage.cost``)."""

    def __post_init__(self) -> None:
        for name in ("calls_per_day", "tokens_per_day", "cost_per_day"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or value < 0):
                raise ConfigError(f"budget.{name} must be a number ≥ 0, got {value!r}")

    def spent(self, calls: int, tokens: int, cost: float) -> str | None:
        """Which limit ``calls``, ``tokens`` and ``cost`` have reached, or None."""
        for name, used, limit in (
            ("calls_per_day", calls, self.calls_per_day),
            ("tokens_per_day", tokens, self.tokens_per_day),
            ("cost_per_day", cost, self.cost_per_day),
        ):
            if limit is not None and used >= limit:
                return f"budget {name} {limit:g} spent"
        return None


@dataclass(frozen=True, kw_only=True, slots=True)
class DriftWatch:
    """A drift chart on an evaluator's scores as they arrive (``drift:`` of an evaluator).

    Scores are taken in batches of ``batch`` (their mean is near normal); the first
    ``warmup`` batch means estimate the baseline (mean and SD), or ``baseline_mean`` and
    ``baseline_sd`` give it; then a one-sided CUSUM on the batch means alarms on a drop,
    with its limit set so that nine warm-ups in ten keep ``arl0`` batches between false
    alarms. Its state is stored with the scores, so a restart continues the chart.
    """

    batch: int = 50
    """Scores per batch mean."""
    warmup: int = 20
    """Batch means that estimate the baseline (when none is given)."""
    arl0: float = 370.0
    """Expected batches between false alarms with no drift."""
    baseline_mean: float | None = None
    """The baseline's batch-mean score (0–1), e.g. from a release's first days."""
    baseline_sd: float | None = None
    """The SD of batch means at the baseline."""
    webhook: str | None = None
    """POST a Slack-compatible alert here when the chart alarms."""

    def __post_init__(self) -> None:
        if self.batch < 1 or self.warmup < 2:
            raise ConfigError("drift.batch must be at least 1 and drift.warmup at least 2")
        if self.arl0 < 10:
            raise ConfigError(f"drift.arl0 must be at least 10 batches, got {self.arl0}")
        if (self.baseline_mean is None) != (self.baseline_sd is None):
            raise ConfigError("drift: give baseline_mean and baseline_sd together, or neither")
        if self.webhook is not None and not self.webhook.startswith(("http://", "https://")):
            raise ConfigError(f"drift.webhook {self.webhook!r}: expected an http(s) URL")


@dataclass(frozen=True, kw_only=True, slots=True)
class EvaluatorRule:
    """One online evaluator (``evaluators:`` in evallock.yaml).

    A trace is the evaluator's when its keys match ``where`` and it falls in the
    ``sample`` (decided by a hash of the evaluator's name and the trace id: the same
    trace is always in or out, across restarts and backfills). It is graded by the
    ``assert`` checks and, when ``rubric`` is given (or there are no checks), by the
    judge with that rubric (default: the drift rubric), passing at ``pass_score``.
    """

    name: str
    """Names its scores; lower-case letters, digits, ``_.-``."""
    where: dict[str, str] = field(default_factory=dict)
    """Shared keys a trace must carry, e.g. ``{intent: refund, environment: prod}``."""
    sample: float = 1.0
    """The share of matching traces evaluated, 0–1."""
    slice_by: str | None = None
    """A key whose every value gets at least ``min_per_slice`` evaluations per window."""
    min_per_slice: int = 0
    """Per value of ``slice_by`` and window, matching traces the sample left out are taken
    (as they arrive) until this many were evaluated: a rare slice is never unwatched."""
    slice_window_s: float = 3600.0
    """The window of that minimum, in seconds (UTC-aligned, default an hour)."""
    rubric: str | None = None
    """The judge's rubric; None: the drift rubric when there are no checks, else no judge."""
    model: str | None = None
    """The judge model for this evaluator (the configured judge's endpoint and key);
    None: the configured judge's model."""
    pass_score: int = 3
    """The lowest judge score (1–5) that passes."""
    asserts: tuple[dict[str, Any], ...] = ()
    """Checks on the answer, as a case's ``assert`` (``assert`` in the file)."""
    budget: Budget = field(default_factory=Budget)
    """Daily spend limits."""
    drift: DriftWatch | None = None
    """A drift chart on its scores as they arrive, alerting at once."""
    scope: Literal["trace", "conversation"] = "trace"
    """What the judge is shown: the trace alone, or (``conversation``) its session's
    conversation up to it, so a follow-up ("what about it?") is judged on what it follows."""

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ConfigError(
                f"evaluator name {self.name!r}: lower-case letters, digits and _.- (≤ 64)"
            )
        if isinstance(self.sample, bool) or not 0.0 <= self.sample <= 1.0:
            raise ConfigError(f"evaluator {self.name}: sample must be in [0, 1], got {self.sample}")
        if not 1 <= self.pass_score <= 5:
            raise ConfigError(f"evaluator {self.name}: pass_score must be 1-5")
        if self.min_per_slice < 0 or (self.min_per_slice and not self.slice_by):
            raise ConfigError(
                f"evaluator {self.name}: min_per_slice needs slice_by (the key of the slices)"
            )
        if self.slice_window_s < 1:
            raise ConfigError(f"evaluator {self.name}: slice_window_s must be at least 1")
        from evallock.graders import parse_assertion

        for index, item in enumerate(self.asserts):
            try:
                parse_assertion(item)
            except ValueError as exc:
                raise ConfigError(f"evaluator {self.name}: assert[{index}]: {exc}") from None

    @property
    def judged(self) -> bool:
        """Whether the judge is asked (a rubric, or no checks at all)."""
        return self.rubric is not None or not self.asserts

    def rules_version(self) -> str:
        """``rules@hash`` of the checks: a change of checks is a new version."""
        canonical = orjson.dumps(list(self.asserts), option=orjson.OPT_SORT_KEYS)
        return f"rules@{hashlib.sha256(canonical).hexdigest()[:12]}"

    def matches(self, trace: Trace) -> bool:
        """Whether the trace carries every key of ``where``."""
        return all(trace.keys.get(key) == value for key, value in self.where.items())

    def samples(self, trace_id: str) -> bool:
        """Whether the trace falls in the sample (the same answer every time)."""
        if self.sample >= 1.0:
            return True
        digest = hashlib.blake2b(f"{self.name}\0{trace_id}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") < self.sample * 2**64

    def takes(self, trace: Trace) -> bool:
        """Whether this evaluator scores the trace (by its sample alone)."""
        return self.matches(trace) and self.samples(trace.trace_id)

    def window_start(self, at: datetime) -> datetime:
        """The start of the per-slice window ``at`` falls in."""
        seconds = at.timestamp()
        return datetime.fromtimestamp(seconds - seconds % self.slice_window_s, tz=UTC)

    def topped_up(self, traces: list[Trace], counted: dict[str, int]) -> set[str]:
        """The matching traces the sample left out that the per-slice minimum takes, given
        ``counted`` evaluations per slice value this window (in arrival order)."""
        if not self.min_per_slice or self.slice_by is None:
            return set()
        have = dict(counted)
        extra: set[str] = set()
        for trace in traces:
            if not self.matches(trace) or self.samples(trace.trace_id):
                if self.matches(trace):
                    value = trace.keys.get(self.slice_by, "")
                    have[value] = have.get(value, 0) + 1
                continue
            value = trace.keys.get(self.slice_by, "")
            if have.get(value, 0) < self.min_per_slice:
                extra.add(trace.trace_id)
                have[value] = have.get(value, 0) + 1
        return extra


def rule_from_json(data: Any) -> EvaluatorRule:
    """An evaluator from its JSON form (as written under ``evaluators:``, ``assert`` and all).

    Raises:
        ConfigError: what is wrong with it, in a line.
    """
    from pydantic import BaseModel, ConfigDict, ValidationError

    class _One(BaseModel):  # as evallock.yaml's evaluators are read: unknown fields refused
        model_config = ConfigDict(extra="forbid")
        rule: EvaluatorRule

    if not isinstance(data, dict):
        raise ConfigError("an evaluator is an object: {name, where, sample, rubric, assert …}")
    fields = {("asserts" if k == "assert" else k): v for k, v in data.items()}
    try:
        return _One.model_validate({"rule": fields}).rule
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:]) or "evaluator"
        message = (
            "unknown field" if first["type"] == "unexpected_keyword_argument" else first["msg"]
        )
        raise ConfigError(f"{where}: {message}") from None
