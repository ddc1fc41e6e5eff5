"""Signals: the traces that a thumbs-down, a low judge score, an error or an empty answer
puts forward as candidate eval cases — and that no candidate holds yet.

A person's thumbs-down is a ``feedback`` row named ``user_feedback`` (or unnamed) rated
``down`` or scored at most 0.25; judges' evaluations stored as feedback do not count.
A low judge score is a drift sample at or below the threshold.

A thumbs-down on a whole session (``feedback.session_id``; it is filed on the session's
newest trace) carries the session: its traces, oldest first, come with the signal, read
in the same transaction, so the feedback loop can make one multi-turn case of them. It
stands on the session's newest trace that no candidate holds (its last answer may have
been rated, and proposed, alone).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.engine import Connection, Row

from evallock.limits import MAX_SESSION_TRACES
from evallock.records import Signal, SignalKind
from evallock.store._schema import candidate_traces, drift_samples, feedback, traces
from evallock.store._traces import _trace_from_row, session_traces

__all__ = ["candidate_signals", "user_thumbs_down"]

_REASON_CHARS: Final = 300


def user_thumbs_down() -> Any:
    """The condition on ``feedback`` rows that are a person's thumbs-down."""
    person = or_(feedback.c.name.is_(None), feedback.c.name == "user_feedback")
    down = or_(feedback.c.rating == "down", feedback.c.score <= 0.25)
    return and_(person, down)


def _window(since: datetime | None, until: datetime | None) -> list[Any]:
    where: list[Any] = []
    if since is not None:
        where.append(traces.c.timestamp >= since)
    if until is not None:
        where.append(traces.c.timestamp < until)
    return where


_SCORE_PREFIX = re.compile(r"^score \d/5(?::\s*|$)")
"""The judge grader's own "score N/5: " at the head of a stored reason (said once, not twice)."""


def _short(text: str | None) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= _REASON_CHARS else flat[: _REASON_CHARS - 1] + "…"


def candidate_signals(
    conn: Connection,
    kinds: Sequence[SignalKind],
    *,
    since: datetime | None,
    until: datetime | None,
    max_judge_score: int,
) -> list[Signal]:
    """Traces that a signal puts forward and that no candidate holds yet, oldest first."""
    free = ~exists().where(candidate_traces.c.trace_id == traces.c.trace_id)
    found: dict[str, tuple[Row[Any], list[SignalKind], list[str]]] = {}
    signals: list[Signal] = []

    def note(row: Row[Any], kind: SignalKind, reason: str) -> None:
        entry = found.setdefault(row.trace_id, (row, [], []))
        if kind not in entry[1]:
            entry[1].append(kind)
            entry[2].append(reason)

    where = [free, *_window(since, until)]
    for kind in kinds:
        if kind == "thumbs-down":
            query = (
                select(traces, feedback.c.comment.label("fb_comment"))
                .join(feedback, feedback.c.trace_id == traces.c.trace_id)
                .where(user_thumbs_down(), feedback.c.session_id.is_(None), *where)
                .order_by(feedback.c.created_at, feedback.c.feedback_id)
            )
            for row in conn.execute(query):
                comment = _short(row.fb_comment)
                note(row, kind, f"thumbs-down: {comment}" if comment else "thumbs-down")
            signals += _session_signals(conn, since, until)
        elif kind == "low-judge-score":
            query = (
                select(
                    traces,
                    drift_samples.c.score.label("js_score"),
                    drift_samples.c.reason.label("js_reason"),
                )
                .join(drift_samples, drift_samples.c.trace_id == traces.c.trace_id)
                .where(drift_samples.c.score <= max_judge_score, *where)
                .order_by(drift_samples.c.score, drift_samples.c.report_id)
            )
            for row in conn.execute(query):
                reason = _SCORE_PREFIX.sub("", row.js_reason or "", count=1)
                note(row, kind, f"judge score {row.js_score}/5: {_short(reason)}")
        elif kind == "error":
            query = select(traces).where(traces.c.error.is_not(None), *where)
            for row in conn.execute(query):
                note(row, kind, f"error: {_short(row.error)}")
        elif kind == "empty-output":
            empty = or_(traces.c.output.is_(None), func.trim(traces.c.output) == "")
            # an answer that is only tool calls is not empty
            no_calls = traces.c.tool_calls.is_(None)
            query = select(traces).where(empty, no_calls, traces.c.error.is_(None), *where)
            for row in conn.execute(query):
                note(row, kind, "empty output")
        else:  # pragma: no cover - the CLI checks the names
            raise ValueError(f"unknown signal {kind!r}")
    for row, row_kinds, reasons in found.values():
        trace = _trace_from_row(row)
        text = trace.input or _last_user(trace.messages)
        if not text or not text.strip():
            continue  # nothing to make a case of
        signals.append(
            Signal(
                trace_id=trace.trace_id,
                timestamp=trace.timestamp,
                kinds=tuple(row_kinds),
                reason=reasons[0],
                input=text,
                output=trace.output,
                keys=trace.keys,
                vars=trace.vars,
            )
        )
    signals.sort(key=lambda s: (s.timestamp, s.trace_id))
    return signals


def _session_signals(
    conn: Connection, since: datetime | None, until: datetime | None
) -> list[Signal]:
    """One signal per session a person rated down (the rating's trace in the window).

    The signal stands on the session's newest trace that no candidate holds yet, so a
    session is put forward even when its last trace is behind a candidate of its own;
    a session whose every trace is held (its candidate made, and no turn since) is not.
    """
    query = (
        select(feedback.c.session_id, feedback.c.comment)
        .join(traces, feedback.c.trace_id == traces.c.trace_id)
        .where(user_thumbs_down(), feedback.c.session_id.is_not(None), *_window(since, until))
        .order_by(feedback.c.created_at, feedback.c.feedback_id)
    )
    comments: dict[str, str] = {}
    for session_id, comment in conn.execute(query):
        comments.setdefault(session_id, _short(comment))
    signals = []
    for session_id, comment in comments.items():
        session = session_traces(conn, session_id, MAX_SESSION_TRACES)
        ids = [trace.trace_id for trace in session]
        held = set(
            conn.execute(
                select(candidate_traces.c.trace_id).where(candidate_traces.c.trace_id.in_(ids))
            ).scalars()
        )
        free = [trace for trace in session if trace.trace_id not in held]
        if not free:
            continue
        stand = free[-1]
        reason = "thumbs-down on the session"
        signals.append(
            Signal(
                trace_id=stand.trace_id,
                timestamp=stand.timestamp,
                kinds=("thumbs-down",),
                reason=f"{reason}: {comment}" if comment else reason,
                input=stand.input or _last_user(stand.messages) or "",
                output=stand.output,
                keys=stand.keys,
                vars=stand.vars,
                session_id=session_id,
                session=tuple(session),
            )
        )
    return signals


def _last_user(messages: Any) -> str | None:
    for message in reversed(messages or []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
    return None
