"""Evaluating traces with evaluator rules: checks and the judge, under each rule's budget."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import anyio

from evallock.drift import judged_question, judged_session
from evallock.errors import EvallockError
from evallock.graders import (
    DRIFT_RUBRIC,
    GradeContext,
    Grader,
    JudgeClient,
    VerdictCache,
    build_grader,
    combine,
    judge_answer,
    judge_version,
    parse_assertion,
    run_graders,
)
from evallock.online._rules import EvaluatorRule
from evallock.records import Case, Completion, Grade, Message, OnlineScore, Trace

__all__ = ["Meter", "Spent", "evaluate_traces", "rule_version"]

Spent = Callable[[str, str], tuple[int, int, float]]
"""``(evaluator, day) → (calls, tokens, cost)`` already spent (the store's figures)."""


@dataclass(slots=True)
class Meter:
    """What the judge cost while a batch was evaluated: read off its provider's answers."""

    calls: int = 0
    tokens: int = 0
    cost: float = 0.0
    by_rule: dict[str, tuple[int, int, float]] = field(default_factory=dict)
    """Each rule's part, from the calls made while it was the one asking."""


def rule_version(rule: EvaluatorRule, judge_model: str, params: dict[str, object]) -> str:
    """The version stamped on a rule's scores: its judge's and its checks'."""
    parts = []
    if rule.judged:
        parts.append(judge_version(judge_model, rule.rubric or DRIFT_RUBRIC, params))
        if rule.scope == "conversation":  # shown more, it may score otherwise
            parts.append("conversation")
    if rule.asserts:
        parts.append(rule.rules_version())
    return "+".join(parts)


async def evaluate_traces(
    traces: Sequence[Trace],
    rules: Sequence[EvaluatorRule],
    *,
    judge: JudgeClient | None,
    meter: Meter,
    cache: VerdictCache | None,
    spent: Spent,
    now: Callable[[], datetime],
    judge_params: dict[str, object] | None = None,
    concurrency: int = 16,
    extra: dict[str, set[str]] | None = None,
    judges: Mapping[str, JudgeClient] | None = None,
    histories: Mapping[str, Sequence[Trace]] | None = None,
) -> list[OnlineScore]:
    """Each rule's verdict on each trace it takes: scored, error (kept) or skipped (budget).

    A rule that needs the judge skips a trace once its budget for the day is spent (the
    spend stored so far plus this batch's). A judge error on a trace is that trace's
    ``error``; the judge unreachable after retries stops the batch (nothing is stored,
    the traces stay in the inbox). ``extra`` names, per rule, traces its sample left
    out that it takes anyway (its minimum per slice). A rule naming its own judge ``model``
    is judged by ``judges[model]``. A rule of ``scope: conversation`` shows the judge a
    trace's ``histories`` entry (its session's traces up to it, oldest first) when it has
    one.

    Raises:
        JudgeError: the judge stayed unreachable.
    """
    params = dict(judge_params or {})
    limiter = anyio.CapacityLimiter(concurrency)
    scores: list[OnlineScore] = []
    for rule in rules:
        more = (extra or {}).get(rule.name, set())
        taken = [t for t in traces if rule.takes(t) or t.trace_id in more]
        if taken:
            client = (judges or {}).get(rule.model, judge) if rule.model else judge
            job = _RuleJob(rule, taken, client, meter, cache, params, now)
            if rule.scope == "conversation":
                job.histories = histories or {}
            scores.extend(await job.run(spent, limiter))
    return scores


class _RuleJob:
    """One rule's pass over a batch: its traces judged concurrently, its budget watched."""

    def __init__(
        self,
        rule: EvaluatorRule,
        traces: list[Trace],
        judge: JudgeClient | None,
        meter: Meter,
        cache: VerdictCache | None,
        params: dict[str, object],
        now: Callable[[], datetime],
    ) -> None:
        self.rule = rule
        self.traces = traces
        self.judge = judge
        self.meter = meter
        self.cache = cache
        self.params = params
        self.now = now
        self.version = rule_version(rule, judge.model if judge else "", params)
        self.graders: list[Grader] = [build_grader(parse_assertion(a)) for a in rule.asserts]
        self.results: list[OnlineScore | None] = [None] * len(traces)
        self.fatal: list[EvallockError] = []
        self.histories: Mapping[str, Sequence[Trace]] = {}
        self.base = (0, 0, 0.0)
        self.start = (meter.calls, meter.tokens, meter.cost)  # rules run one after another

    async def run(self, spent: Spent, limiter: anyio.CapacityLimiter) -> list[OnlineScore]:
        self.base = spent(self.rule.name, self.now().date().isoformat())
        self.start = (self.meter.calls, self.meter.tokens, self.meter.cost)
        async with anyio.create_task_group() as group:
            for index in range(len(self.traces)):
                group.start_soon(self.one, index, limiter, group.cancel_scope)
        if self.fatal:
            raise self.fatal[0]
        self.meter.by_rule[self.rule.name] = (
            self.meter.calls - self.start[0],
            self.meter.tokens - self.start[1],
            self.meter.cost - self.start[2],
        )
        return [r for r in self.results if r is not None]

    def _reached(self) -> str | None:
        meter, base, start = self.meter, self.base, self.start
        return self.rule.budget.spent(
            base[0] + meter.calls - start[0],
            base[1] + meter.tokens - start[1],
            base[2] + meter.cost - start[2],
        )

    async def one(
        self, index: int, limiter: anyio.CapacityLimiter, scope: anyio.CancelScope
    ) -> None:
        trace = self.traces[index]
        async with limiter:
            reached = self._reached() if self.rule.judged else None
            if reached is not None:
                self.results[index] = _skipped(self.rule, trace, self.version, reached, self.now())
                return
            try:
                grades = await _grades(
                    self.rule,
                    trace,
                    self.graders,
                    self.judge,
                    self.cache,
                    self.params,
                    self.histories.get(trace.trace_id, ()),
                )
            except EvallockError as exc:
                self.fatal.append(exc)
                scope.cancel()
                return
        self.results[index] = _verdict(self.rule, trace, self.version, grades, self.now())


async def _grades(
    rule: EvaluatorRule,
    trace: Trace,
    graders: Sequence[Grader],
    judge: JudgeClient | None,
    cache: VerdictCache | None,
    params: dict[str, object],
    history: Sequence[Trace] = (),
) -> list[Grade]:
    answer = trace.output or ""
    grades: list[Grade] = []
    if graders:
        ctx = GradeContext(
            case=Case(id=trace.trace_id, input=trace.input or ""),
            output=answer,
            completion=Completion(
                text=answer,
                latency_ms=trace.latency_ms or 0.0,
                tokens_in=trace.tokens_in,
                tokens_out=trace.tokens_out,
                cost=trace.cost,
            ),
        )
        grades.extend(await run_graders(graders, ctx))
    if rule.judged:
        question: str | list[Message]
        if len(history) > 1:
            question, answer, system_prompt = judged_session(history)
        else:
            question, system_prompt = judged_question(trace)
        grades.append(
            await judge_answer(
                rubric=rule.rubric or DRIFT_RUBRIC,
                question=question,
                answer=answer,
                client=judge,
                pass_score=rule.pass_score,
                cache=cache,
                params=params,
                name="judge",
                system_prompt=system_prompt,
            )
        )
    return grades


def _verdict(
    rule: EvaluatorRule, trace: Trace, version: str, grades: list[Grade], at: datetime
) -> OnlineScore:
    verdict = combine(grades)
    if verdict.error is not None:
        return OnlineScore(
            evaluator=rule.name,
            trace_id=trace.trace_id,
            scored_at=at,
            status="error",
            version=version,
            reason=verdict.error,
        )
    return OnlineScore(
        evaluator=rule.name,
        trace_id=trace.trace_id,
        scored_at=at,
        status="scored",
        version=version,
        score=verdict.score,
        judge_score=verdict.judge_score,
        passed=verdict.passed,
        reason=verdict.reason,
    )


def _skipped(
    rule: EvaluatorRule, trace: Trace, version: str, reached: str, at: datetime
) -> OnlineScore:
    return OnlineScore(
        evaluator=rule.name,
        trace_id=trace.trace_id,
        scored_at=at,
        status="skipped",
        version=version,
        reason=reached,
    )
