"""The read API: ``GET /api/traces``, ``GET /api/traces/{id}``, ``/api/feedback``, ``/api/stats``.

JSON only, scope ``read``. Trace text is returned as JSON string data, exactly
as stored; nothing here is HTML. Store reads run on a worker thread so a slow
query never stalls ingest or the proxy.
"""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Query
from starlette.requests import Request
from starlette.responses import Response

from evallock.server._auth import require
from evallock.server._errors import ApiError, json_response
from evallock.server._query import MAX_LIMIT, TraceQuery, key_filters, parse_time
from evallock.server._state import server_state
from evallock.traces import normalise_trace_id

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["api"], dependencies=[Depends(require("read"))])

_TIME_HELP = "ISO 8601 (2026-10-04T09:00:00Z) or a duration back from now (30m, 12h, 7d)."


@router.get(
    "/traces",
    summary="List trace summaries",
    description=(
        "Newest first. Filter by time with `since`/`until` and by keys with any number of "
        "`key.<name>=value` parameters (e.g. `key.prompt_version=refund-v4`), all of which "
        "must match."
    ),
)
async def list_traces(
    request: Request,
    since: Annotated[str | None, Query(description=_TIME_HELP)] = None,
    until: Annotated[str | None, Query(description=_TIME_HELP)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    oldest_first: Annotated[bool, Query()] = False,
) -> Response:
    """A page of traces in a time window whose keys match, with the total count."""
    state = server_state(request)
    query = TraceQuery(
        since=_time("since", since),
        until=_time("until", until),
        keys=_keys(request),
        limit=limit,
        offset=offset,
        newest_first=not oldest_first,
    )

    def read() -> tuple[list[Any], int]:
        return query.run(state.store), query.count(state.store)

    traces, total = await anyio.to_thread.run_sync(read)
    return json_response({"traces": traces, "total": total, "limit": limit, "offset": offset})


@router.get(
    "/traces/{trace_id}",
    summary="One trace summary with its feedback",
    responses={404: {"description": "No trace with this id."}},
)
async def get_trace(request: Request, trace_id: str) -> Response:
    """The trace and every piece of feedback on it (including feedback that came first)."""
    state = server_state(request)
    try:
        wanted = normalise_trace_id(trace_id)
    except ValueError as exc:
        raise ApiError(400, f"trace_id: {exc}", field="trace_id") from None

    def read() -> tuple[Any, list[Any]]:
        return state.store.get_trace(wanted), state.store.list_feedback(trace_id=wanted)

    trace, feedback = await anyio.to_thread.run_sync(read)
    if trace is None:
        raise ApiError(404, f"no trace {wanted}", field="trace_id")
    return json_response({"trace": trace, "feedback": feedback})


@router.get("/feedback", summary="List feedback, newest first")
async def list_feedback(
    request: Request,
    trace_id: Annotated[str | None, Query()] = None,
    since: Annotated[str | None, Query(description=_TIME_HELP)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> Response:
    """Feedback on one trace, or all feedback since a time."""
    state = server_state(request)
    wanted = None
    if trace_id is not None:
        try:
            wanted = normalise_trace_id(trace_id)
        except ValueError as exc:
            raise ApiError(400, f"trace_id: {exc}", field="trace_id") from None
    after = _time("since", since)
    items = await anyio.to_thread.run_sync(
        lambda: state.store.list_feedback(trace_id=wanted, since=after, limit=limit)
    )
    return json_response({"feedback": items})


@router.get("/stats", summary="Counters of the running service")
async def stats(request: Request) -> Response:
    """What the service has done since it started (spans, traces, failures …)."""
    state = server_state(request)
    return json_response(
        {**state.metrics.snapshot(), "writer_pending_rows": state.writer.pending_rows}
    )


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
