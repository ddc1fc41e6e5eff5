"""Judging sampled traces with the drift rubric: concurrent, retried, cached, errors counted."""

from __future__ import annotations

from collections.abc import Sequence

import anyio

from evallock.drift._scores import TraceScore
from evallock.errors import EvallockError
from evallock.graders import JudgeClient, VerdictCache, judge_answer
from evallock.records import Message, Trace

__all__ = ["judge_traces", "judged_question"]

_INSTRUCTIONS = ("system", "developer")


def judged_question(trace: Trace) -> tuple[str | list[Message], str | None]:
    """What the judge is asked about a trace: the user's side, and the app's system prompt.

    The question is the conversation without its system and developer messages
    (a single user message is its text); the system prompt is kept apart, for a
    rubric that asks for it, so a long app prompt never drowns the user's words.

    >>> from datetime import UTC, datetime
    >>> trace = Trace(trace_id="0" * 32, timestamp=datetime(2026, 1, 1, tzinfo=UTC),
    ...     input="hi", messages=[{"role": "system", "content": "Be kind."},
    ...                           {"role": "user", "content": "hi"}])
    >>> judged_question(trace)
    ('hi', 'Be kind.')
    """
    messages = trace.messages or []
    system = [m for m in messages if m.get("role") in _INSTRUCTIONS]
    rest = [m for m in messages if m.get("role") not in _INSTRUCTIONS]
    prompt = "\n\n".join(_text(m) for m in system) or None
    if len(rest) > 1:
        return rest, prompt
    if len(rest) == 1 and isinstance(rest[0].get("content"), str):
        return str(rest[0]["content"]), prompt
    return trace.input or "", prompt


def _text(message: Message) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return "\n".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return str(content or "")


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
        question, system_prompt = judged_question(trace)
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
                    system_prompt=system_prompt,
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
