"""A session's page, ``GET /sessions/{id}``: the conversation its traces make, turn by turn.

The traces of the session (oldest first, the newest 256 when there are more) are put
back together as one conversation (:func:`evallock.traces.session_transcript`), shown
with the ratings of the session and a row per trace linking to its page. Every text is
escaped by the template; nothing here is HTML.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from evallock.limits import MAX_KEY_VALUE
from evallock.records import Feedback, Trace
from evallock.server._dashboard import is_signed_in, reader, render_page
from evallock.server._state import server_state
from evallock.traces import session_transcript

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/sessions/{session_id:path}", response_class=HTMLResponse)
async def session_page(request: Request, session_id: str) -> Response:
    """One session: its conversation, its ratings and its traces."""
    state = server_state(request)
    caller, refused = await reader(request)
    if refused is not None:
        return refused
    shown: dict[str, Any] = {"signed_in": is_signed_in(caller), "wanted": session_id[:64]}
    if len(session_id) > MAX_KEY_VALUE:
        return render_page(
            "session.html", status=400, traces=None, error="a session id is at most 256 characters",
            **shown,
        )  # fmt: skip

    def read() -> tuple[list[Trace], list[Feedback]]:
        store = state.store
        return store.traces.session(session_id), store.feedback.find(session_id=session_id)

    traces, rated = await anyio.to_thread.run_sync(read)
    if not traces:
        return render_page(
            "session.html", status=404, traces=None, error="no trace of this session has arrived",
            **shown,
        )  # fmt: skip
    return render_page(
        "session.html",
        traces=traces,
        transcript=session_transcript(traces),
        session_ratings=rated,
        session_id=session_id,
        error=None,
        **shown,
    )
