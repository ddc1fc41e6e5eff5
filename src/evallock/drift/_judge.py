"""Judging sampled traces with the drift rubric: concurrent, retried, cached, errors counted."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import anyio

from evallock.drift._scores import TraceScore
from evallock.errors import EvallockError
from evallock.graders import JudgeClient, VerdictCache, judge_answer
from evallock.records import Message, Trace
from evallock.traces import session_transcript

__all__ = ["judge_traces", "judged_question", "judged_session", "session_histories"]

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


def judged_session(session: Sequence[Trace]) -> tuple[list[Message], str, str | None]:
    """What the judge is asked about a whole session: the conversation before its last
    answer, that answer, and the app's system prompt (its newest trace's).

    The conversation is :func:`evallock.traces.session_transcript` of the traces.
    """
    transcript = session_transcript(session)
    last = session[-1]
    if transcript and transcript[-1].get("role") == "assistant":
        transcript = transcript[:-1]
    system = [m for m in last.messages or [] if m.get("role") in _INSTRUCTIONS]
    prompt = "\n\n".join(_text(m) for m in system) or None
    return transcript, last.output or "", prompt


def session_histories(
    read_session: Callable[[str], Sequence[Trace]], traces: Iterable[Trace]
) -> dict[str, list[Trace]]:
    """Each trace's session up to it (trace id → its session's traces, oldest first), each
    session read once with ``read_session``; traces without a session are left out."""
    sessions: dict[str, Sequence[Trace]] = {}
    found: dict[str, list[Trace]] = {}
    for trace in traces:
        session_id = trace.session_id
        if session_id is None:
            continue
        if session_id not in sessions:
            sessions[session_id] = read_session(session_id)
        upto = (trace.timestamp, trace.trace_id)
        found[trace.trace_id] = [
            t for t in sessions[session_id] if (t.timestamp, t.trace_id) <= upto
        ]
    return found


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
    sessions: Mapping[str, Sequence[Trace]] | None = None,
) -> list[TraceScore]:
    """Score each trace's answer to its input, 1–5; an unparseable reply is an error, kept.

    A trace in ``sessions`` (trace id → its session's traces up to it) is scored as its
    whole session: the judge sees the conversation and grades its last answer.

    Raises:
        JudgeError: the judge stayed unreachable after retries (exit 3).
    """
    limiter = anyio.CapacityLimiter(concurrency)
    results: list[TraceScore | None] = [None] * len(traces)
    fatal: list[EvallockError] = []

    async def one(index: int, scope: anyio.CancelScope) -> None:
        trace = traces[index]
        session = (sessions or {}).get(trace.trace_id)
        question: str | list[Message]
        if session and len(session) > 1:
            question, answer, system_prompt = judged_session(session)
        else:
            question, system_prompt = judged_question(trace)
            answer = trace.output or ""
        async with limiter:
            try:
                grade = await judge_answer(
                    rubric=rubric,
                    question=question,
                    answer=answer,
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
