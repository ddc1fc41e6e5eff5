"""Judging sampled traces with the drift rubric: concurrent, retried, cached, errors counted."""

from __future__ import annotations

from collections.abc import Sequence

import anyio

from evallock.drift._scores import TraceScore
from evallock.errors import EvallockError
from evallock.graders import JudgeClient, VerdictCache, judge_answer
from evallock.records import Trace

__all__ = ["judge_traces"]


async def judge_traces(
    traces: Sequence[Trace],
    *,
    client: JudgeClient,
    rubric: str,
    cache: VerdictCache | None,
    concurrency: int,
    strata: dict[str, str] | None = None,
    params: dict[str, object] | None = None,
) -> list[TraceScore]:
    """Score each trace's answer to its input, 1–5; an unparseable reply is an error, kept.

    Raises:
        JudgeError: the judge stayed unreachable after retries (exit 3).
    """
    limiter = anyio.CapacityLimiter(concurrency)
    results: list[TraceScore | None] = [None] * len(traces)
    fatal: list[EvallockError] = []

    async def one(index: int, scope: anyio.CancelScope) -> None:
        trace = traces[index]
        question = trace.messages if trace.messages else (trace.input or "")
        async with limiter:
            try:
                grade = await judge_answer(
                    rubric=rubric,
                    question=question,
                    answer=trace.output or "",
                    client=client,
                    reference=None,
                    pass_score=3,
                    cache=cache,
                    params=dict(params or {}),
                    name="drift",
                )
            except EvallockError as exc:  # the judge is down: stop, and say so plainly
                fatal.append(exc)
                scope.cancel()
                return
        results[index] = TraceScore(
            trace_id=trace.trace_id,
            timestamp=trace.timestamp,
            score=grade.judge_score if grade.error is None else None,
            reason=grade.error or grade.reason,
            error=grade.error,
            stratum=(strata or {}).get(trace.trace_id, ""),
            keys=dict(trace.keys),
            input=trace.input or "",
        )

    async with anyio.create_task_group() as group:
        for index in range(len(traces)):
            group.start_soon(one, index, group.cancel_scope)
    if fatal:
        raise fatal[0]
    return [r for r in results if r is not None]
