"""Trace rows: summaries merged by trace id, and queries by time window and keys.

Spans of one trace can arrive in several requests (and the recording proxy and
an app's own spans can share a trace id), so a trace id seen before is *merged*:

* content (input, output, tokens, model, error, messages, tool calls, shared keys …)
  is first-write-wins: a column that is still empty is filled, a stored value is
  never overwritten (except a bare ``error``, :data:`~evallock.records.UNDESCRIBED_ERROR`,
  which the first error that says what went wrong replaces); ``extra`` keys are
  added, stored ones kept;
* the two timing fields converge instead: ``timestamp`` keeps the earliest
  start and ``latency_ms`` the longest duration, so the root span fixes them
  whichever batch it comes in.

Both backends hold the same rows and refuse the same rows. A value past its limit
in :mod:`evallock.limits` (a 9 KB key value PostgreSQL's index would refuse, a
non-finite latency …) is refused by the store before this module sees it. Text that
PostgreSQL cannot store is made storable the same way on both: NUL characters
become U+FFFD, lone surrogates ``?`` (and lookups by id or key are cleaned alike,
so they find what was stored). Token counts past ``2**31 - 1`` are refused as
well: the column is 32-bit on PostgreSQL.

Race safety: new rows go in with one insert-or-ignore (``RETURNING`` says which
were new; on PostgreSQL one ``INSERT … SELECT unnest(…)`` of a column array each, as
psycopg would otherwise re-parse a multi-row ``VALUES`` of thousands of parameters on
every batch); the rows that were already there are read with ``FOR UPDATE``
(PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already holds the write lock), merged in
Python and written back, all in the caller's one transaction. Rows are handled in
trace-id order so two writers lock them in the same order and cannot deadlock.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, overload

from sqlalchemy import ColumnElement, Text, bindparam, cast, func, or_, select, tuple_, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.sql import Select
from sqlalchemy.sql.dml import ReturningInsert

from evallock.keys import normalise_key, split_keys
from evallock.limits import FieldLimitError
from evallock.records import UNDESCRIBED_ERROR, ToolCall, Trace
from evallock.store._engine import insert_or_ignore
from evallock.store._schema import (
    TRACE_KEY_COLUMNS,
    drift_samples,
    feedback,
    trace_spans,
    traces,
)
from evallock.store._types import JSONText, dumps

__all__ = [
    "TracePosition",
    "TraceSearch",
    "add_traces",
    "clean_number",
    "clean_text",
    "count_traces",
    "get_trace",
    "latest_of_sessions",
    "list_traces",
    "merge_trace_rows",
    "session_traces",
    "traces_of_spans",
]

_IN_CHUNK: Final = 500
_KEY_COLUMNS = frozenset(TRACE_KEY_COLUMNS)
_FIRST_WINS: Final = (
    "input",
    "output",
    "ttft_ms",
    "tokens_in",
    "tokens_out",
    "cost",
    "model",
    "error",
    "messages",
    "vars",
    "tool_calls",
    "tools",
    *TRACE_KEY_COLUMNS,
)
_EXTRA_NAME = re.compile(r"^[a-z0-9_.]{1,64}$")
_GET = select(traces).where(traces.c.trace_id == bindparam("trace_id"))
_JSON_COLUMNS = frozenset(c.name for c in traces.columns if isinstance(c.type, JSONText))
_UPDATE = update(traces).where(traces.c.trace_id == bindparam("_trace_id"))


_NAMES: dict[str, str] = {}
_MAX_COUNT: Final = 2**31 - 1


@dataclass(frozen=True, kw_only=True, slots=True)
class TraceSearch:
    """What a trace must match besides its time window and keys (each None: anything)."""

    text: str | None = None
    """A substring of its input or output, case-insensitive (``%`` and ``_`` are literal)."""
    failed: bool | None = None
    """True: only traces with an error; False: only traces without one."""
    rating: str | None = None
    """Only traces with a piece of feedback of this rating (``down``, ``up``)."""
    max_judge_score: int | None = None
    """Only traces a drift judge scored at most this (1–5)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class TracePosition:
    """Where a page of traces ended: the last trace's start time and id (a keyset cursor)."""

    timestamp: datetime
    """The last trace's ``timestamp`` (timezone-aware)."""
    trace_id: str
    """The last trace's id, which breaks ties between traces started at the same time."""


@overload
def clean_text(value: str) -> str: ...
@overload
def clean_text(value: None) -> None: ...
def clean_text(value: str | None) -> str | None:
    """Text both backends store alike: NUL as U+FFFD, lone surrogates as ``?``."""
    if value is None:
        return None
    if "\x00" in value:
        value = value.replace("\x00", "\ufffd")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            value = value.encode("utf-8", "replace").decode("utf-8")
    return value


def clean_number(value: float | None) -> float | None:
    """A finite float, or None: SQLite would store NaN as NULL and PostgreSQL as NaN."""
    return None if value is None or not math.isfinite(value) else value


def _count(value: int | None, field: str) -> int | None:
    if value is not None and not 0 <= value <= _MAX_COUNT:
        raise FieldLimitError(
            field, f"{value} is not a count in [0, {_MAX_COUNT:,}] (the column is 32-bit)"
        )
    return value


def _key_columns(keys: Mapping[str, Any]) -> dict[str, Any]:
    """The shared-key columns and ``extra`` of a trace: :func:`split_keys`, made cheaper.

    Ingest writes thousands of rows a second whose key names repeat, so normalised
    names are memoised; plain string values (nearly all) skip the general path.
    """
    row: dict[str, Any] = dict.fromkeys(TRACE_KEY_COLUMNS)
    extra: dict[str, str] = {}
    for raw, value in keys.items():
        if value.__class__ is not str or raw.__class__ is not str:
            split = split_keys({raw: value})  # the general rules, for the odd value
            row.update(split.shared)
            extra.update(split.extra)
            continue
        if not value:
            continue
        value = clean_text(value)
        name = _NAMES.get(raw)
        if name is None:
            name = normalise_key(raw)
            if len(_NAMES) < 4096:
                _NAMES[raw] = name
        if name in _KEY_COLUMNS:
            row[name] = value
        else:
            extra[clean_text(name)] = value
    row["extra"] = extra
    return row


def _trace_to_row(trace: Trace, received_at: datetime) -> dict[str, Any]:
    if trace.timestamp.utcoffset() is None:
        raise ValueError(
            f"trace {trace.trace_id!r}: timestamp is a naive datetime; pass a timezone-aware time"
        )
    row = _key_columns(trace.keys)
    row.update(
        trace_id=clean_text(trace.trace_id),
        timestamp=trace.timestamp,
        input=clean_text(trace.input),
        output=clean_text(trace.output),
        latency_ms=clean_number(trace.latency_ms),
        ttft_ms=clean_number(trace.ttft_ms),
        tokens_in=_count(trace.tokens_in, "tokens_in"),
        tokens_out=_count(trace.tokens_out, "tokens_out"),
        cost=clean_number(trace.cost),
        model=clean_text(trace.model),
        error=clean_text(trace.error),
        source=clean_text(trace.source),
        messages=trace.messages,
        vars=trace.vars or None,
        tool_calls=[_call_json(call) for call in trace.tool_calls] or None,
        tools=trace.tools or None,
        received_at=received_at,
    )
    return row


def _trace_from_row(row: Row[Any]) -> Trace:
    m = row._mapping
    keys = {name: m[name] for name in TRACE_KEY_COLUMNS if m[name] is not None}
    keys.update(m["extra"] or {})
    return Trace(
        trace_id=m["trace_id"],
        timestamp=m["timestamp"],
        input=m["input"],
        output=m["output"],
        latency_ms=m["latency_ms"],
        ttft_ms=m["ttft_ms"],
        tokens_in=m["tokens_in"],
        tokens_out=m["tokens_out"],
        cost=m["cost"],
        model=m["model"],
        error=m["error"],
        keys=keys,
        source=m["source"],
        messages=m["messages"],
        vars=m["vars"] or {},
        tool_calls=[_call_of(item) for item in m["tool_calls"] or ()],
        tools=m["tools"] or [],
    )


def _call_json(call: ToolCall) -> dict[str, Any]:
    """A tool call as stored: the fields that are set, text cleaned as every column is."""
    stored: dict[str, Any] = {
        "name": clean_text(call.name),
        "arguments": clean_text(call.arguments),
    }
    if call.id is not None:
        stored["id"] = clean_text(call.id)
    if call.result is not None:
        stored["result"] = clean_text(call.result)
    return stored


def _call_of(item: dict[str, Any]) -> ToolCall:
    return ToolCall(
        name=item["name"],
        arguments=item.get("arguments", ""),
        id=item.get("id"),
        result=item.get("result"),
    )


def merge_trace_rows(stored: dict[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """``stored`` filled in from ``new``: empty content filled, timing converged, extra added.

    ``stored`` is changed in place and returned.
    """
    for name in _FIRST_WINS:
        if stored[name] is None and new[name] is not None:
            stored[name] = new[name]
    if stored["error"] == UNDESCRIBED_ERROR and new["error"] not in (None, UNDESCRIBED_ERROR):
        stored["error"] = new["error"]  # a bare failure, now described
    if new["timestamp"] < stored["timestamp"]:
        stored["timestamp"] = new["timestamp"]
    latency = new["latency_ms"]
    if latency is not None and (stored["latency_ms"] is None or latency > stored["latency_ms"]):
        stored["latency_ms"] = latency
    if new["extra"]:
        stored["extra"] = {**new["extra"], **(stored["extra"] or {})}
    return stored


def add_traces(
    conn: Connection,
    items: Sequence[Trace],
    received_at: datetime,
    spans: Mapping[str, str] | None = None,
) -> set[str]:
    """Insert or merge trace summaries inside the caller's transaction; returns the new ids.

    ``spans`` (span id → trace id) are filed so :func:`traces_of_spans` finds their trace;
    a span id filed before keeps its first trace.

    Raises:
        FieldLimitError: a token count past 32 bits.
        ValueError: a naive ``timestamp``.
    """
    batch: dict[str, dict[str, Any]] = {}
    for trace in items:
        row = _trace_to_row(trace, received_at)
        seen = batch.get(row["trace_id"])
        batch[row["trace_id"]] = row if seen is None else merge_trace_rows(seen, row)
    if not batch:
        return set()
    rows = [batch[trace_id] for trace_id in sorted(batch)]
    if spans:
        _file_spans(conn, spans)
    new = _insert_new(conn, rows)
    clashes = [row for row in rows if row["trace_id"] not in new]
    if clashes:
        _merge_into_stored(conn, clashes)
    return new


@functools.cache
def _pg_insert_new() -> ReturningInsert[str]:
    # Built on first use: SQLite stores never import the PostgreSQL dialect.
    from sqlalchemy.dialects.postgresql import ARRAY
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    def column_array(name: str, type_: Any) -> Any:
        item = Text if name in _JSON_COLUMNS else type_
        return func.unnest(bindparam(f"all_{name}", type_=ARRAY(item)))

    unnested = select(*(column_array(c.name, c.type) for c in traces.columns))
    return (
        pg_insert(traces)
        .from_select([c.name for c in traces.columns], unnested)
        .on_conflict_do_nothing()
        .returning(traces.c.trace_id)
    )


@functools.cache
def _pg_file_spans() -> Any:
    from sqlalchemy.dialects.postgresql import ARRAY
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    unnested = select(
        func.unnest(bindparam("span_ids", type_=ARRAY(Text))),
        func.unnest(bindparam("trace_ids", type_=ARRAY(Text))),
    )
    return (
        pg_insert(trace_spans)
        .from_select(["span_id", "trace_id"], unnested)
        .on_conflict_do_nothing()
    )


def _file_spans(conn: Connection, spans: Mapping[str, str]) -> None:
    """File span id → trace id, first trace wins (one statement; sorted, so writers agree)."""
    ordered = sorted((clean_text(s), clean_text(t)) for s, t in spans.items())
    if conn.dialect.name == "postgresql":
        span_ids = [s for s, _ in ordered]
        trace_ids = [t for _, t in ordered]
        conn.execute(_pg_file_spans(), {"span_ids": span_ids, "trace_ids": trace_ids})
        return
    insert = insert_or_ignore(conn.dialect.name, trace_spans)
    conn.execute(insert, [{"span_id": s, "trace_id": t} for s, t in ordered])


def _insert_new(conn: Connection, rows: list[dict[str, Any]]) -> set[str]:
    """Insert the rows whose trace id is not stored yet; the ids that were new."""
    if conn.dialect.name == "postgresql":
        columns: dict[str, list[Any]] = {}
        for column in traces.columns:
            name = column.name
            if name in _JSON_COLUMNS:  # serialised here: an array would take a list apart
                columns[f"all_{name}"] = [
                    None if row[name] is None else dumps(row[name]) for row in rows
                ]
            else:
                columns[f"all_{name}"] = [row[name] for row in rows]
        return {r[0] for r in conn.execute(_pg_insert_new(), columns)}
    insert = insert_or_ignore(conn.dialect.name, traces).returning(traces.c.trace_id)
    return {r[0] for r in conn.execute(insert, rows)}


def _merge_into_stored(conn: Connection, rows: list[dict[str, Any]]) -> None:
    updates: list[dict[str, Any]] = []
    for start in range(0, len(rows), _IN_CHUNK):
        chunk = {row["trace_id"]: row for row in rows[start : start + _IN_CHUNK]}
        locked = (
            select(traces)
            .where(traces.c.trace_id.in_(list(chunk)))
            .order_by(traces.c.trace_id)
            .with_for_update()
        )
        for stored_row in conn.execute(locked):
            stored = dict(stored_row._mapping)
            before = dict(stored)
            merged = merge_trace_rows(stored, chunk[stored["trace_id"]])
            if merged != before:
                trace_id = merged.pop("trace_id")
                merged.pop("received_at")
                merged["_trace_id"] = trace_id
                updates.append(merged)
    if updates:
        conn.execute(_UPDATE, updates)


def traces_of_spans(conn: Connection, span_ids: Sequence[str]) -> dict[str, str]:
    """The trace each stored span arrived in (span id → trace id); unknown spans left out."""
    found: dict[str, str] = {}
    wanted = sorted({clean_text(span_id) for span_id in span_ids})
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start : start + _IN_CHUNK]
        query = select(trace_spans).where(trace_spans.c.span_id.in_(chunk))
        found.update((row.span_id, row.trace_id) for row in conn.execute(query))
    return found


def session_traces(conn: Connection, session_id: str, limit: int) -> list[Trace]:
    """The traces of one session, oldest first (``ix_traces_session_id_timestamp``): the
    newest ``limit`` of them when it has more."""
    newest = (
        select(traces)
        .where(traces.c.session_id == clean_text(session_id))
        .order_by(traces.c.timestamp.desc(), traces.c.trace_id.desc())
        .limit(limit)
    )
    found = [_trace_from_row(row) for row in conn.execute(newest)]
    found.reverse()
    return found


def latest_of_sessions(conn: Connection, session_ids: Sequence[str]) -> dict[str, str]:
    """Each stored session's newest trace (session id → trace id); unknown sessions left out."""
    found: dict[str, str] = {}
    for session_id in sorted(set(session_ids)):
        query = (
            select(traces.c.trace_id)
            .where(traces.c.session_id == clean_text(session_id))
            .order_by(traces.c.timestamp.desc(), traces.c.trace_id.desc())
            .limit(1)
        )
        trace_id = conn.execute(query).scalar()
        if trace_id is not None:
            found[session_id] = trace_id
    return found


def get_trace(conn: Connection, trace_id: str) -> Trace | None:
    """The stored summary of one trace, or None."""
    row = conn.execute(_GET, {"trace_id": clean_text(trace_id)}).first()
    return None if row is None else _trace_from_row(row)


def _filters(
    dialect: str,
    since: datetime | None,
    until: datetime | None,
    keys: Mapping[str, str] | None,
    search: TraceSearch | None = None,
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = _searched(search) if search is not None else []
    if since is not None:
        where.append(traces.c.timestamp >= since)
    if until is not None:
        where.append(traces.c.timestamp < until)
    for raw, wanted in (keys or {}).items():
        name = normalise_key(raw)
        value = clean_text(wanted)  # as stored: a NUL matches the U+FFFD it was stored as
        if name in _KEY_COLUMNS:
            where.append(traces.c[name] == value)
        elif _EXTRA_NAME.match(name):
            where.append(_extra_value(dialect, name) == value)
        else:
            raise ValueError(f"key {raw!r}: use letters, digits, '_' and '.' in key names")
    return where


def _searched(search: TraceSearch) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if search.text:
        text = clean_text(search.text)
        where.append(
            or_(
                traces.c.input.icontains(text, autoescape=True),
                traces.c.output.icontains(text, autoescape=True),
            )
        )
    if search.failed is not None:
        where.append(traces.c.error.is_not(None) if search.failed else traces.c.error.is_(None))
    if search.rating is not None:
        rated = select(feedback.c.trace_id).where(
            feedback.c.trace_id == traces.c.trace_id, feedback.c.rating == search.rating
        )
        where.append(rated.exists())
    if search.max_judge_score is not None:
        judged = select(drift_samples.c.trace_id).where(
            drift_samples.c.trace_id == traces.c.trace_id,
            drift_samples.c.score <= search.max_judge_score,
        )
        where.append(judged.exists())
    return where


def _extra_value(dialect: str, name: str) -> ColumnElement[Any]:
    # extra is JSON text; each backend reads one member of it its own way.
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import JSONB

        return cast(traces.c.extra, JSONB).op("->>")(name)
    return func.json_extract(traces.c.extra, f'$."{name}"')


def list_traces(
    conn: Connection,
    *,
    since: datetime | None,
    until: datetime | None,
    keys: Mapping[str, str] | None,
    limit: int,
    offset: int,
    newest_first: bool,
    after: TracePosition | None = None,
    search: TraceSearch | None = None,
) -> list[Trace]:
    """Summaries in a time window ``[since, until)`` whose keys all match, ordered by time.

    The order is ``(timestamp, trace_id)``, which ``ix_traces_timestamp_trace_id``
    indexes; ``after`` starts the page past that position (a row-value comparison
    both backends answer with a range scan of the index).
    """
    where = _filters(conn.dialect.name, since, until, keys, search)
    position = tuple_(traces.c.timestamp, traces.c.trace_id)
    if after is not None:
        bound = tuple_(
            bindparam("after_timestamp", after.timestamp, type_=traces.c.timestamp.type),
            bindparam("after_trace_id", clean_text(after.trace_id), type_=traces.c.trace_id.type),
        )
        where.append(position < bound if newest_first else position > bound)
    stmt: Select[Any] = select(traces).where(*where)
    if newest_first:
        stmt = stmt.order_by(traces.c.timestamp.desc(), traces.c.trace_id.desc())
    else:
        stmt = stmt.order_by(traces.c.timestamp, traces.c.trace_id)
    stmt = stmt.limit(limit)
    if offset:
        stmt = stmt.offset(offset)
    return [_trace_from_row(row) for row in conn.execute(stmt)]


def count_traces(
    conn: Connection,
    *,
    since: datetime | None,
    until: datetime | None,
    keys: Mapping[str, str] | None,
    search: TraceSearch | None = None,
) -> int:
    """How many summaries :func:`list_traces` would find without a limit."""
    where = _filters(conn.dialect.name, since, until, keys, search)
    stmt = select(func.count()).select_from(traces).where(*where)
    return int(conn.execute(stmt).scalar_one())
