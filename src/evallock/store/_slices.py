"""Online outcomes per slice: traffic, errors, thumbs-downs and judge scores by key values.

The online half of ``evallock compare`` and ``evallock coverage``. Traces are
grouped in SQL by the requested keys (shared keys are columns; other keys are
read from ``extra``), each trace counted once however many ratings or judge
verdicts it has: a trace is *thumbs-down* when any person rated it down, and its
judge score is the mean of its drift samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Float, case, cast, func, or_, select
from sqlalchemy.engine import Connection

from evallock.keys import Slice, normalise_key
from evallock.records import Trace
from evallock.store._schema import TRACE_KEY_COLUMNS, drift_samples, feedback, traces
from evallock.store._signals import user_thumbs_down
from evallock.store._traces import _EXTRA_NAME, _extra_value, _trace_from_row

__all__ = [
    "Complaint",
    "SliceCounts",
    "complaint_traces",
    "trace_key_expression",
    "trace_slices",
]

_KEY_COLUMNS = frozenset(TRACE_KEY_COLUMNS)


@dataclass(frozen=True, kw_only=True, slots=True)
class SliceCounts:
    """The traces of one slice in a window, counted."""

    slice: Slice
    """The slice: its value of each key, in the order asked (None: the key is missing)."""
    n: int
    """Traces."""
    errors: int
    """Traces whose request failed."""
    thumbs_down: int
    """Traces a person rated down."""
    judge_n: int
    """Traces with a judge score."""
    judge_sum: float
    """Sum of their judge scores (1–5)."""
    judge_sumsq: float
    """Sum of their squares (for the variance)."""
    first_seen: datetime | None
    """The slice's earliest trace."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Complaint:
    """A trace with a thumbs-down or a bad judge score."""

    trace: Trace
    """The trace."""
    thumbs_down: bool
    """A person rated it down."""
    judge_score: float | None
    """Its mean judge score, when judged."""


def trace_key_expression(dialect: str, raw: str) -> Any:
    """The SQL expression of trace key ``raw`` (its column, or its member of ``extra``).

    Raises:
        ValueError: a name that is not a key.
    """
    return _key(dialect, raw)


def _key(dialect: str, raw: str) -> Any:
    name = normalise_key(raw)
    if name in _KEY_COLUMNS:
        return traces.c[name]
    if _EXTRA_NAME.match(name):
        return _extra_value(dialect, name)
    raise ValueError(f"key {raw!r}: use letters, digits, '_' and '.' in key names")


def _outcomes() -> tuple[Any, Any]:
    down = select(feedback.c.trace_id).where(user_thumbs_down()).distinct().subquery("td")
    judged = (
        select(
            drift_samples.c.trace_id,
            func.avg(cast(drift_samples.c.score, Float)).label("score"),
        )
        .where(drift_samples.c.score.is_not(None))
        .group_by(drift_samples.c.trace_id)
        .subquery("js")
    )
    return down, judged


def _window(since: datetime | None, until: datetime | None) -> list[Any]:
    where: list[Any] = []
    if since is not None:
        where.append(traces.c.timestamp >= since)
    if until is not None:
        where.append(traces.c.timestamp < until)
    return where


def trace_slices(
    conn: Connection, by: Sequence[str], *, since: datetime | None, until: datetime | None
) -> list[SliceCounts]:
    """Traces in ``[since, until)`` counted per combination of the ``by`` keys' values.

    Raises:
        ValueError: an unusable key name.
    """
    keys = [_key(conn.dialect.name, k) for k in by]
    down, judged = _outcomes()
    query = (
        select(
            *(k.label(f"k{i}") for i, k in enumerate(keys)),
            func.count().label("n"),
            func.sum(case((traces.c.error.is_not(None), 1), else_=0)).label("errors"),
            func.sum(case((down.c.trace_id.is_not(None), 1), else_=0)).label("down"),
            func.count(judged.c.score).label("judge_n"),
            func.sum(judged.c.score).label("judge_sum"),
            func.sum(judged.c.score * judged.c.score).label("judge_sumsq"),
            func.min(traces.c.timestamp).label("first_seen"),
        )
        .select_from(
            traces.outerjoin(down, down.c.trace_id == traces.c.trace_id).outerjoin(
                judged, judged.c.trace_id == traces.c.trace_id
            )
        )
        .where(*_window(since, until))
        .group_by(*keys)
    )
    found = []
    for row in conn.execute(query):
        m = row._mapping
        found.append(
            SliceCounts(
                slice=Slice.of(by, [_text(m[f"k{i}"]) for i in range(len(keys))]),
                n=int(m["n"]),
                errors=int(m["errors"] or 0),
                thumbs_down=int(m["down"] or 0),
                judge_n=int(m["judge_n"] or 0),
                judge_sum=float(m["judge_sum"] or 0.0),
                judge_sumsq=float(m["judge_sumsq"] or 0.0),
                first_seen=m["first_seen"],
            )
        )
    return found


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def complaint_traces(
    conn: Connection,
    *,
    since: datetime | None,
    until: datetime | None,
    max_judge_score: float,
) -> list[Complaint]:
    """Traces in ``[since, until)`` with a thumbs-down or a judge score ≤ ``max_judge_score``."""
    down, judged = _outcomes()
    query = (
        select(
            traces,
            down.c.trace_id.label("down_id"),
            judged.c.score.label("judge_score"),
        )
        .select_from(
            traces.outerjoin(down, down.c.trace_id == traces.c.trace_id).outerjoin(
                judged, judged.c.trace_id == traces.c.trace_id
            )
        )
        .where(
            or_(down.c.trace_id.is_not(None), judged.c.score <= max_judge_score),
            *_window(since, until),
        )
        .order_by(traces.c.timestamp, traces.c.trace_id)
    )
    return [
        Complaint(
            trace=_trace_from_row(row),
            thumbs_down=row.down_id is not None,
            judge_score=None if row.judge_score is None else float(row.judge_score),
        )
        for row in conn.execute(query)
    ]
