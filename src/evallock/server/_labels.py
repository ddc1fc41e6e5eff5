"""People's labels over HTTP: ``POST /v1/labels`` stores them, ``GET /api/calibration`` reads
the judge's agreement with them.

A body is ``{"labels": [{"subject", "score", "reviewer"?, "evaluator"?, "note"?}, …]}`` (or
the list alone). Each label is resolved against the store as ``evallock labels import``
resolves a file's rows (the judge's score and version of the answer it names); one bad
label answers 400 naming ``labels[i]`` and why, and nothing is stored. A label without a
``reviewer`` is the calling key's (``key:<id>``).
"""

from __future__ import annotations

from typing import Any

import anyio
import orjson
from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from evallock.errors import UsageError
from evallock.limits import FieldLimitError, check_depth
from evallock.server._auth import Caller, require
from evallock.server._budget import read_within_budget
from evallock.server._errors import ApiError, json_response, limit_error, store_failure
from evallock.server._feedback import JSON_BODY_ERRORS
from evallock.server._limits import accepted_media_type
from evallock.server._review import actor_of
from evallock.server._state import server_state

__all__ = ["router"]

_MAX_LABELS = 10_000
router = APIRouter()


@router.post(
    "/v1/labels",
    tags=["feedback"],
    summary="People's 1-5 labels of judged answers (the judge's calibration)",
    responses={
        200: {"description": "Committed: how many labels, and the judge versions they check."},
        400: {"description": "A label that cannot be stored; `labels[i]: why`. Nothing stored."},
        **JSON_BODY_ERRORS,
    },
)
async def post_labels(request: Request, caller: Caller = Depends(require("ingest"))) -> Response:
    """Store labels, each beside the judge's score of the answer it names."""
    from evallock.labels import LabelRow, resolve_labels

    state = server_state(request)
    accepted_media_type(request, "application/json")
    with state.budget.reserve() as held:
        body = await read_within_budget(request, held, limit=state.settings.max_body_bytes)
    try:
        payload = orjson.loads(body)
        check_depth("body", payload)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, f"body is not JSON: {exc}") from None
    except FieldLimitError as exc:
        raise limit_error(exc) from None
    items = payload.get("labels") if isinstance(payload, dict) else payload
    if not isinstance(items, list) or not items:
        raise ApiError(400, 'body: expected {"labels": [ … ]} with at least one', field="labels")
    if len(items) > _MAX_LABELS:
        raise ApiError(400, f"labels: at most {_MAX_LABELS:,} per request", field="labels")
    rows = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("subject"), str):
            raise ApiError(400, f"labels[{index}]: a label needs a subject", field="labels")
        texts = {k: item.get(k) for k in ("reviewer", "evaluator", "note")}
        for key, value in texts.items():
            if value is not None and not isinstance(value, str):
                raise ApiError(400, f"labels[{index}].{key}: expected text", field="labels")
        rows.append(LabelRow(line=index, subject=item["subject"], score=item.get("score"), **texts))
    reviewer = actor_of(caller)

    def store_them() -> list[str]:
        labels = resolve_labels(
            state.store, rows, file="labels", reviewer=reviewer, place="{file}[{line}]"
        )
        state.store.labels.add(labels)
        return sorted({label.judge_version for label in labels})

    try:
        versions = await anyio.to_thread.run_sync(store_them)
    except UsageError as exc:
        raise ApiError(400, str(exc).splitlines()[0], field="labels") from None
    except FieldLimitError as exc:
        raise limit_error(exc) from None
    except ValueError as exc:
        raise ApiError(400, str(exc), field="labels") from None
    except Exception as exc:
        raise store_failure(exc, "the labels") from None
    return json_response({"stored": len(rows), "judge_versions": versions})


@router.get(
    "/api/calibration",
    tags=["api"],
    summary="The judge's agreement with people, per labelled judge version",
    dependencies=[Depends(require("read"))],
)
async def get_calibration(request: Request) -> dict[str, Any]:
    """Each judge version with labels: kappa with its interval, alpha, bias, the confusion
    table, the reviewers' agreement, and whether it is calibrated."""
    from evallock.calibration import judge_calibration

    state = server_state(request)

    def read() -> list[dict[str, Any]]:
        versions = [v for v, _ in state.store.labels.versions()]
        return [
            judge_calibration(state.store.labels, v, state.settings.calibration).as_json()
            for v in versions
        ]

    return {"judges": await anyio.to_thread.run_sync(read)}
