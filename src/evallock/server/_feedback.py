"""Feedback: ``POST /v1/feedback`` in our shape, Langfuse's score shape or Phoenix's annotations.

Accepted bodies (one JSON document, ``application/json``):

- ours: ``{"trace_id", "rating": "up"|"down"|number, "comment"?, "id"?}``;
- a Langfuse score: ``{"traceId", "name", "value", "dataType"?, "comment"?, "id"?}``;
- Phoenix annotations: ``{"data": [{"trace_id"|"span_id", "name", "result": {…}, …}]}``;
- a JSON array of any of these.

Phoenix's client posts its trace annotations to ``POST /v1/trace_annotations``, its
span annotations to ``POST /v1/span_annotations`` and its session annotations to
``POST /v1/session_annotations`` (``sync`` or not): the same route, answering
``{"data": [{"id"}, …]}`` as Phoenix does. A span annotation rates the trace its span
arrived in (span ids are filed at ingest); one naming a span that has not arrived is a
404 naming it, as in Phoenix.

A rating of a whole session names ``session_id`` (Langfuse: ``sessionId``) and no trace:
it is filed on the session's newest trace, marked as the session's (a thumbs-down on it
proposes the whole conversation as a multi-turn case). A session none of whose traces
has arrived is a 404 naming it.

The whole body is validated before anything is stored: one bad item answers
400 naming the item and field (422 for a value past its limit in
``evallock.limits``: a 10 MB id, a body nested deeper than 32 levels), and
nothing of the body is written. The body's bytes come from the decode budget
(``_budget.py``): 429 with ``Retry-After`` when other requests hold it. Items are
idempotent on their ``id`` (Phoenix: ``identifier``): sending one twice stores it
once. Feedback may name a trace that has not arrived yet; it is kept and shows
up with the trace when the trace comes.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
import orjson
from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from evallock.limits import FieldLimitError, check_depth
from evallock.records import Feedback
from evallock.server._auth import require
from evallock.server._budget import read_within_budget
from evallock.server._errors import (
    BODY_ERRORS,
    ApiError,
    json_response,
    limit_error,
    store_failure,
    undecodable,
)
from evallock.server._limits import accepted_media_type
from evallock.server._state import ServerState, server_state
from evallock.server._writer import WriterBusy, WriterClosed
from evallock.traces import (
    UnknownTargetError,
    annotated_spans,
    parse_feedback_items,
    rated_sessions,
)

__all__ = ["JSON_BODY_ERRORS", "commit_feedback", "rated_traces", "router"]

_MAX_ITEMS = 10_000
router = APIRouter(tags=["feedback"])
JSON_BODY_ERRORS: dict[int | str, dict[str, Any]] = {
    415: {"description": "Not JSON."},
    422: {"description": "A value past its documented limit; `field` names it."},
    429: {"description": "Other requests are decoding; retry after `Retry-After`."},
}
"""The refusals every JSON-bodied feedback route documents."""
_UNKNOWN_SPAN: dict[str, Any] = {
    "description": "A span annotation names a span (or a session rating a session) that has"
    " not arrived. Nothing stored."
}


@router.post(
    "/v1/feedback",
    summary="Rate traces (thumbs, scores, annotations)",
    dependencies=[Depends(require("ingest"))],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"type": "object"},
                    "examples": {
                        "evallock": {
                            "value": {
                                "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
                                "rating": "down",
                                "comment": "It quoted the old refund window.",
                                "id": "fb-7781",
                            }
                        },
                        "langfuse": {
                            "value": {
                                "traceId": "4bf92f3577b34da6a3ce929d0e0e4736",
                                "name": "user_feedback",
                                "value": 0,
                                "dataType": "BOOLEAN",
                            }
                        },
                    },
                }
            },
        }
    },
    responses={
        200: {"description": "Committed: the ids stored (or already stored)."},
        400: {"description": "Invalid feedback; `field` names what is wrong. Nothing stored."},
        404: _UNKNOWN_SPAN,
        **JSON_BODY_ERRORS,
    },
)
@router.post(
    "/v1/trace_annotations",
    summary="Phoenix's trace annotations (as its client posts them): stored as feedback",
    dependencies=[Depends(require("ingest"))],
    responses={
        200: {"description": "Committed: `data` lists the ids (Phoenix's `sync=true` answer)."},
        400: {"description": "Invalid annotation; `field` names what is wrong. Nothing stored."},
        404: _UNKNOWN_SPAN,
        **JSON_BODY_ERRORS,
    },
)
@router.post(
    "/v1/span_annotations",
    summary="Phoenix's span annotations: stored as feedback on the span's trace",
    dependencies=[Depends(require("ingest"))],
    responses={
        200: {"description": "Committed: `data` lists the ids (Phoenix's `sync=true` answer)."},
        400: {"description": "Invalid annotation; `field` names what is wrong. Nothing stored."},
        404: _UNKNOWN_SPAN,
        **JSON_BODY_ERRORS,
    },
)
@router.post(
    "/v1/session_annotations",
    summary="Phoenix's session annotations: stored as feedback on the session",
    dependencies=[Depends(require("ingest"))],
    responses={
        200: {"description": "Committed: `data` lists the ids (Phoenix's `sync=true` answer)."},
        400: {"description": "Invalid annotation; `field` names what is wrong. Nothing stored."},
        404: _UNKNOWN_SPAN,
        **JSON_BODY_ERRORS,
    },
)
async def post_feedback(request: Request) -> Response:
    """Store one or more ratings; answers once they are committed."""
    state = server_state(request)
    accepted_media_type(request, "application/json")
    with state.budget.reserve() as held:
        body = await read_within_budget(request, held, limit=state.settings.max_body_bytes)
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ApiError(400, f"body is not JSON: {exc}") from None
        del body
        spans, sessions = await rated_traces(state, payload)
        items = _checked(payload, spans, sessions)
        del payload
        await commit_feedback(state, items, "the feedback")
    data = [{"id": item.feedback_id, "trace_id": item.trace_id} for item in items]
    answer: dict[str, Any] = {"data": data}
    if len(items) == 1:
        answer["id"] = items[0].feedback_id
    return json_response(answer)


PHOENIX_API_LEVEL = "12.0.0"
"""What ``GET /arize_phoenix_version`` answers: the Phoenix server version whose annotation
routes these are (session annotations came in 12.0.0). The Phoenix client checks it before
a gated call, so one evallock does not answer says so as the client's own version error."""


@router.get(
    "/arize_phoenix_version",
    summary="The Phoenix server version whose annotation routes evallock answers (no key)",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {"example": PHOENIX_API_LEVEL}}}},
)
async def phoenix_version() -> PlainTextResponse:
    """The Phoenix client asks this before session annotations (it needs 12.0.0 or later)."""
    return PlainTextResponse(PHOENIX_API_LEVEL)


async def commit_feedback(state: ServerState, items: list[Feedback], what: str) -> None:
    """Write ``items`` and wait for the commit: 503 (retryable) when the writer cannot.

    Raises:
        ApiError: 503 with ``Retry-After`` when the writer is full or closing, or the
            store failed (``what`` names the rows in the message).
    """
    try:
        await state.writer.write(feedback=items)
    except (WriterBusy, WriterClosed) as exc:
        raise ApiError(503, f"{exc}; retry shortly", headers={"Retry-After": "1"}) from None
    except Exception as exc:
        raise store_failure(exc, what) from None


async def rated_traces(state: ServerState, payload: Any) -> tuple[dict[str, str], dict[str, str]]:
    """The traces that a body's ratings name by span (span id → trace id) and by session
    (session id → its newest trace id): store reads, on a worker thread."""
    spans: dict[str, str] = {}
    sessions: dict[str, str] = {}
    named = annotated_spans(payload)
    rated = rated_sessions(payload)
    try:
        if 0 < len(named) <= _MAX_ITEMS:
            spans = await anyio.to_thread.run_sync(state.store.traces.traces_of_spans, named)
        if 0 < len(rated) <= _MAX_ITEMS:
            latest = state.store.traces.latest_of_sessions
            sessions = await anyio.to_thread.run_sync(latest, rated)
    except Exception as exc:
        raise store_failure(exc, "the spans and sessions the ratings name") from None
    return spans, sessions


def _checked(payload: Any, spans: dict[str, str], sessions: dict[str, str]) -> list[Feedback]:
    """:func:`_parse` with every item within its limits; 422 naming the field, 400 otherwise
    (404 for a span annotation whose span has not arrived)."""
    try:
        check_depth("body", payload)
        items = _parse(payload, spans, sessions)
    except FieldLimitError as exc:
        raise limit_error(exc) from None
    except BODY_ERRORS as exc:
        # parse_feedback_items names what is wrong; this is the net under it.
        raise undecodable(exc) from None
    return items


def _parse(payload: Any, spans: dict[str, str], sessions: dict[str, str]) -> list[Feedback]:
    """Every feedback item of a body, or a 400 naming the first bad one."""
    if isinstance(payload, dict):
        documents: list[Any] = [payload]
        prefix = False
    elif isinstance(payload, list):
        documents = payload
        prefix = True
    else:
        raise ApiError(400, "body: expected a JSON object or an array of objects", field="body")
    if not documents:
        raise ApiError(400, "body: no feedback items", field="body")
    if len(documents) > _MAX_ITEMS:
        raise ApiError(400, f"body: more than {_MAX_ITEMS} items in one request", field="body")
    items: list[Feedback] = []
    for index, document in enumerate(documents):
        where = f"[{index}]." if prefix else ""
        if not isinstance(document, dict):
            at = where.rstrip(".") or "body"
            raise ApiError(400, f"{at}: expected a JSON object", field=at)
        try:
            # parse_feedback_items checks every item against the limits (check_feedback).
            parsed = parse_feedback_items(document, spans, sessions)
        except FieldLimitError as exc:
            if not where:
                raise
            raise FieldLimitError(where + exc.field, exc.reason) from None
        except UnknownTargetError as exc:
            raise ApiError(404, f"{where}{exc}", field=_field_of(str(exc), where)) from None
        except ValueError as exc:
            raise ApiError(400, f"{where}{exc}", field=_field_of(str(exc), where)) from None
        items.extend(parsed)
    return items


def _field_of(message: str, where: str) -> str | None:
    """The field a validation message starts with (``"rating: expected …"`` → ``rating``)."""
    head, sep, _ = message.partition(":")
    if not sep or " " in head.strip():
        return where.rstrip(".") or None
    return where + head.strip()
