"""Health routes: ``/healthz`` (the process answers) and ``/readyz`` (it can take writes).

Neither needs a key: orchestrators and load balancers call them. They show
counters, never content.
"""

from __future__ import annotations

import anyio.to_thread
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from evallock.server._errors import json_response
from evallock.server._state import server_state

__all__ = ["router"]

router = APIRouter(tags=["health"])
_PROBE_TRACE_ID = "0" * 32  # never stored: an all-zero trace id is invalid


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz(request: Request) -> Response:
    """Always 200 while the process runs, with the service's counters.

    ``recording_failures`` counts proxy traces the store did not take (the answers
    still went out): a rising number means traces are being lost.
    """
    state = server_state(request)
    return json_response(
        {
            "status": "ok",
            "writer_pending_rows": state.writer.pending_rows,
            "metrics": state.metrics.snapshot(),
        }
    )


@router.get(
    "/readyz",
    summary="Readiness: the store answers and the writer runs",
    responses={503: {"description": "Not ready: the reason is in `detail`."}},
)
async def readyz(request: Request) -> Response:
    """200 when a write would be accepted now; 503 with the reason otherwise."""
    state = server_state(request)
    if not state.writer.running:
        return json_response({"status": "not ready", "detail": "the writer is stopped"}, 503)
    try:
        await anyio.to_thread.run_sync(state.store.traces.get, _PROBE_TRACE_ID)
    except Exception as exc:
        return json_response({"status": "not ready", "detail": f"store: {exc}"}, 503)
    return json_response(
        {
            "status": "ready",
            "store": state.store.url,
            "upstream": state.settings.upstream,
            "auth": not state.settings.no_auth,
        }
    )
