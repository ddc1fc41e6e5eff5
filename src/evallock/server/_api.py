"""The read API: ``GET /api/traces``, ``/api/traces/{id}``, ``/api/sessions/{id}``,
``/api/feedback``, ``/api/stats``.

JSON only, scope ``read``. Trace text is returned as JSON string data, exactly
as stored; nothing here is HTML. Store reads run on a worker thread so a slow
query never stalls ingest or the proxy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

import anyio.to_thread
from fastapi import APIRouter, Depends, Query
from starlette.requests import Request
from starlette.responses import Response

from evallock.limits import MAX_ID, MAX_KEY_VALUE
from evallock.server._auth import require
from evallock.server._errors import ApiError, json_response
from evallock.server._query import (
    MAX_CURSOR,
    MAX_LIMIT,
    MAX_OFFSET,
    TraceQuery,
    key_filters,
    parse_time,
    trace_position,
)
from evallock.server._state import server_state
from evallock.store import TraceSearch
from evallock.traces import normalise_trace_id

if TYPE_CHECKING:
    from evallock.records import Feedback, OnlineScore, Trace, TraceJudgement
    from evallock.store import Store

__all__ = ["read_trace", "router"]

router = APIRouter(prefix="/api", tags=["api"], dependencies=[Depends(require("read"))])

_TIME_HELP = "ISO 8601 (2026-10-04T09:00:00Z) or a duration back from now (30m, 12h, 7d)."
_CURSOR_HELP = "The `next_cursor` of the previous page, unchanged: the page that follows it."
_OFFSET_HELP = f"Traces to skip (at most {MAX_OFFSET:,}; page further with `cursor`)."


@router.get(
    "/traces",
    summary="List trace summaries",
    description=(
        "Newest first (ties by trace id). Filter by time with `since`/`until` and by keys "
        "with any number of `key.<name>=value` parameters (e.g. "
        "`key.prompt_version=refund-v4`), all of which must match; by text in the input or "
        "answer with `q`, by failure with `error`, by feedback with `rating` and by the drift "
        "judge with `max_judge_score`. Read page after page "
        "by passing each answer's `next_cursor` as `cursor` (null on the last page); "
        f"`offset` skips at most {MAX_OFFSET:,} traces."
    ),
)
async def list_traces(
    request: Request,
    since: Annotated[str | None, Query(description=_TIME_HELP)] = None,
    until: Annotated[str | None, Query(description=_TIME_HELP)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description=_OFFSET_HELP)] = 0,
    oldest_first: Annotated[bool, Query()] = False,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR, description=_CURSOR_HELP)] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=MAX_KEY_VALUE,
            description="Text the input or the answer contains (case-insensitive).",
        ),
    ] = None,
    error: Annotated[
        bool | None, Query(description="true: only failed traces; false: only the others.")
    ] = None,
    rating: Annotated[
        Literal["up", "down"] | None, Query(description="Only traces with feedback so rated.")
    ] = None,
    max_judge_score: Annotated[
        int | None,
        Query(ge=1, le=5, description="Only traces a drift judge scored at most this."),
    ] = None,
) -> Response:
    """A page of traces in a time window whose keys match, the total count, the next cursor."""
    state = server_state(request)
    after = None
    if cursor is not None:
        try:
            after = trace_position(cursor, newest_first=not oldest_first)
        except ValueError as exc:
            raise ApiError(400, f"cursor: {exc}", field="cursor") from None
    query = TraceQuery(
        since=_time("since", since),
        until=_time("until", until),
        keys=_keys(request),
        limit=limit,
        offset=offset,
        newest_first=not oldest_first,
        after=after,
        search=TraceSearch(
            text=q or None, failed=error, rating=rating, max_judge_score=max_judge_score
        ),
    )

    def read() -> tuple[Any, int]:
        return query.page(state.store), query.count(state.store)

    page, total = await anyio.to_thread.run_sync(read)
    return json_response(
        {
            "traces": page.traces,
            "total": total,
            "limit": limit,
            "offset": offset,
            "next_cursor": page.next_cursor,
        }
    )


@router.get(
    "/traces/{trace_id}",
    summary="One trace summary with its feedback and drift judge scores",
    responses={404: {"description": "No trace with this id."}},
)
async def get_trace(request: Request, trace_id: str) -> Response:
    """The trace, every piece of feedback on it (including feedback that came first), the
    drift judge's verdicts on it (``judge``: score, reason, judge version, report) and the
    online evaluators' (``evaluators``: status, score, judge score, version, reason)."""
    state = server_state(request)
    wanted = _trace_id(trace_id)
    trace, feedback, judged, online = await read_trace(state.store, wanted)
    if trace is None:
        raise ApiError(404, f"no trace {wanted}", field="trace_id")
    return json_response(
        {"trace": trace, "feedback": feedback, "judge": judged, "evaluators": online}
    )


async def read_trace(
    store: Store, trace_id: str
) -> tuple[Trace | None, list[Feedback], list[TraceJudgement], list[OnlineScore]]:
    """A trace, the feedback on it, the drift judge's verdicts and the online evaluators'
    (read on a worker thread)."""

    def read() -> tuple[Trace | None, list[Feedback], list[TraceJudgement], list[OnlineScore]]:
        return (
            store.traces.get(trace_id),
            store.feedback.find(trace_id=trace_id),
            store.reports.judgements(trace_id),
            store.online.scores(trace_id=trace_id),
        )

    return await anyio.to_thread.run_sync(read)


@router.get(
    "/sessions/{session_id:path}",
    summary="One session (conversation): its traces, oldest first",
    responses={
        400: {"description": "A session id past its limit."},
        404: {"description": "No trace of this session has arrived."},
    },
)
async def get_session(request: Request, session_id: str) -> Response:
    """The traces of a session (``session.id``, ``gen_ai.conversation.id``,
    ``langfuse.session.id``, ``Helicone-Session-Id``), oldest first: the newest
    256 when it has more."""
    state = server_state(request)
    if len(session_id) > MAX_KEY_VALUE:
        raise ApiError(
            400,
            f"session_id: {len(session_id):,} characters; at most {MAX_KEY_VALUE}",
            field="session_id",
        )
    traces = await anyio.to_thread.run_sync(state.store.traces.session, session_id)
    if not traces:
        raise ApiError(404, "no trace of this session has arrived", field="session_id")
    return json_response({"session_id": session_id, "traces": traces})


@router.get("/feedback", summary="List feedback, newest first")
async def list_feedback(
    request: Request,
    trace_id: Annotated[str | None, Query()] = None,
    since: Annotated[str | None, Query(description=_TIME_HELP)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> Response:
    """Feedback on one trace, or all feedback since a time."""
    state = server_state(request)
    wanted = None if trace_id is None else _trace_id(trace_id)
    after = _time("since", since)
    items = await anyio.to_thread.run_sync(
        lambda: state.store.feedback.find(trace_id=wanted, since=after, limit=limit)
    )
    return json_response({"feedback": items})


@router.get("/stats", summary="Counters of the running service")
async def stats(request: Request) -> Response:
    """What the service has done since it started (spans, traces, failures …)."""
    state = server_state(request)
    return json_response(
        {**state.metrics.snapshot(), "writer_pending_rows": state.writer.pending_rows}
    )


def _trace_id(value: str) -> str:
    if len(value) > MAX_ID:  # refused without echoing it back
        raise ApiError(
            400,
            f"trace_id: {len(value):,} characters; a trace id is 32 hex digits",
            field="trace_id",
        )
    try:
        return normalise_trace_id(value)
    except ValueError as exc:
        raise ApiError(400, f"trace_id: {exc}", field="trace_id") from None


def _time(name: str, value: str | None) -> Any:
    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueError as exc:
        raise ApiError(400, f"{name}: {exc}", field=name) from None


def _keys(request: Request) -> dict[str, str]:
    try:
        return key_filters(request.query_params.multi_items())
    except ValueError as exc:
        raise ApiError(400, str(exc), field=str(exc).split(":", 1)[0]) from None
