"""Langfuse's scores API, ``POST /api/public/scores``: a Langfuse SDK's scores become feedback.

Older SDKs send scores as ``score-create`` events to the batch ingestion API,
``POST /api/public/ingestion``; those are taken too (207 with ``successes`` and
``errors`` per event, as Langfuse answers), and every other event is answered with
a 400 naming OTLP as the way traces come in.

The SDK (v3 and later) sends a JSON list of score bodies (``traceId``, ``name``,
``value``, ``dataType``, ``comment`` …) with Basic auth whose secret key is an
evallock key. Each score is read as ``POST /v1/feedback`` reads a Langfuse score
(the same decoder, the same limits). Like Langfuse, the answer is 202
``{"message": "Accepted"}`` when every score was stored, and 207 with
``accepted``, ``rejected`` and one error per rejected score (its index and why)
otherwise: a score that names only an observation has no trace to rate here, and says
so. A score naming a session (``sessionId``, no ``traceId``) rates the whole session:
it is filed on the session's newest trace, and refused when none has arrived. The
stored ones are committed before the answer.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from evallock.limits import FieldLimitError, check_depth
from evallock.records import Feedback
from evallock.server._auth import require
from evallock.server._budget import read_within_budget
from evallock.server._errors import ApiError, json_response, limit_error
from evallock.server._feedback import JSON_BODY_ERRORS, commit_feedback, rated_traces
from evallock.server._limits import accepted_media_type
from evallock.server._state import server_state
from evallock.traces import parse_feedback_items

__all__ = ["router"]

MAX_SCORES = 1000
"""Most scores in one request."""

router = APIRouter(tags=["feedback"])


@router.post(
    "/api/public/scores",
    summary="Langfuse scores API: scores become feedback (Basic auth; secret key: an evallock key)",
    dependencies=[Depends(require("ingest"))],
    status_code=202,
    responses={
        202: {"description": 'Every score stored: `{"message": "Accepted"}`.'},
        207: {"description": "Some stored: `accepted`, `rejected`, `errors` (index, message)."},
        400: {"description": "Not a JSON list (or object) of scores."},
        **JSON_BODY_ERRORS,
    },
)
async def create_scores(request: Request) -> Response:
    """Store each Langfuse score as feedback; say which were rejected and why."""
    state = server_state(request)
    accepted_media_type(request, "application/json")
    with state.budget.reserve() as held:
        payload = await _json_body(request, held, state.settings.max_body_bytes)
        scores = payload if isinstance(payload, list) else [payload]
        if not scores or len(scores) > MAX_SCORES or not all(isinstance(s, dict) for s in scores):
            raise ApiError(400, f"body: a list of 1 to {MAX_SCORES} score objects", field="body")
        _, sessions = await rated_traces(state, scores)
        items, errors = _read(scores, sessions)
        if items:
            await commit_feedback(state, items, "the scores")
    if not errors:
        return json_response({"message": "Accepted"}, status=202)
    return json_response(
        {"accepted": len(items), "rejected": len(errors), "errors": errors}, status=207
    )


@router.post(
    "/api/public/ingestion",
    summary="Langfuse's batch ingestion: its score-create events become feedback",
    dependencies=[Depends(require("ingest"))],
    status_code=207,
    responses={
        207: {"description": "`successes` (id, 201) and `errors` (id, status, message) per event."},
        400: {"description": 'Not `{"batch": [...]}` of at most 1,000 events.'},
        **JSON_BODY_ERRORS,
    },
)
async def ingest_batch(request: Request) -> Response:
    """Store each ``score-create`` event's score as feedback, as Langfuse's ingestion API
    takes them (older SDKs send scores this way). Other events are answered one by one
    with a 400 saying where evallock takes traces: OTLP."""
    state = server_state(request)
    accepted_media_type(request, "application/json")
    with state.budget.reserve() as held:
        payload = await _json_body(request, held, state.settings.max_body_bytes)
        events = payload.get("batch") if isinstance(payload, dict) else None
        if not isinstance(events, list) or not 0 < len(events) <= MAX_SCORES:
            raise ApiError(400, f"batch: a list of 1 to {MAX_SCORES} events", field="batch")
        scores: list[dict[str, Any]] = []
        ids: list[Any] = []
        places: list[int] = []
        errors: list[dict[str, Any]] = []
        for index, event in enumerate(events):
            event_id = event.get("id", index) if isinstance(event, dict) else index
            kind = event.get("type") if isinstance(event, dict) else None
            score = event.get("body") if isinstance(event, dict) else None
            if kind == "score-create" and isinstance(score, dict):
                scores.append(score)
                ids.append(event_id)
                places.append(index)
                continue
            message = (
                f"batch[{index}]: a {kind} event is not taken; evallock reads traces over"
                " OTLP (/api/public/otel/v1/traces, the Langfuse SDK v3+ default)"
                if isinstance(kind, str)
                else f"batch[{index}]: expected an event with a type and a body"
            )
            errors.append({"id": event_id, "status": 400, "message": message})
        _, sessions = await rated_traces(state, scores)
        items, refused = _read(scores, sessions)
        if items:
            await commit_feedback(state, items, "the scores")
    wrong = {error["index"] for error in refused}
    for error in refused:
        at = error["index"]
        message = error["message"].replace(f"[{at}].", f"batch[{places[at]}].body.", 1)
        errors.append({"id": ids[at], "status": 400, "message": message})
    successes = [{"id": ids[i], "status": 201} for i in range(len(ids)) if i not in wrong]
    return json_response({"successes": successes, "errors": errors}, status=207)


async def _json_body(request: Request, held: Any, limit: int) -> Any:
    """The body as JSON (within the decode budget ``held``), nested at most 32 deep.

    Raises:
        ApiError: 400 when it is not JSON, 422 when it is nested too deep.
    """
    body = await read_within_budget(request, held, limit=limit)
    try:
        payload = orjson.loads(body)
        check_depth("body", payload)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, f"body is not JSON: {exc}") from None
    except FieldLimitError as exc:
        raise limit_error(exc) from None
    return payload


def _read(
    scores: list[dict[str, Any]], sessions: dict[str, str]
) -> tuple[list[Feedback], list[dict[str, Any]]]:
    """The scores as feedback, and an error (index, message) for each that is not."""
    items: list[Feedback] = []
    errors: list[dict[str, Any]] = []
    for index, score in enumerate(scores):
        if not score.get("traceId") and not score.get("sessionId"):
            what = "an observation" if score.get("observationId") else "no trace"
            message = f"[{index}].traceId: missing ({what}); evallock rates traces and sessions"
            errors.append({"index": index, "message": message})
            continue
        try:
            items.extend(parse_feedback_items(score, sessions=sessions))
        except (ValueError, FieldLimitError) as exc:
            errors.append({"index": index, "message": f"[{index}].{exc}"})
    return items, errors
