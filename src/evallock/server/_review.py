"""The review queue in the browser: ``GET /queue`` and its forms (accept, reject, promote).

A candidate (a complained-about trace put forward as an eval case) is accepted with
its expected answer written in place, rejected with a reason, or, once accepted,
promoted into one of the case files ``serve --cases FILE`` names (a lock case,
pinned to its trace). Each candidate shows its audit trail.

The forms post with the browser's session cookie and its form token
(``_auth.form_caller``); reviewing needs a key of scope ``admin``. A read key sees
the queue and no forms. Every answer to a form is a redirect back to the queue
(303, so a reload does not post again) with what happened in the URL; a refused
form answers the queue page with the reason (4xx), and nothing is written. The
decisions go through the same library calls as ``evallock candidates`` and
``/api/candidates`` (``evallock.feedback``), so the audit trail is one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import anyio.to_thread
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from evallock.errors import UsageError
from evallock.limits import MAX_ID, MAX_SHORT_TEXT, MAX_TEXT, FieldLimitError
from evallock.server._auth import Caller, form_caller, session_csrf
from evallock.server._bodylimit import SMALL_LIMIT
from evallock.server._errors import ApiError
from evallock.server._state import server_state

__all__ = ["QUEUE_SHOWN", "actor_of", "read_form", "router"]

router = APIRouter(include_in_schema=False)

QUEUE_SHOWN = 200
"""Candidates of each state shown."""
_DONE = {"accept": "accepted", "reject": "rejected", "promote": "promoted"}


async def read_form(request: Request) -> dict[str, str]:
    """A posted form's fields (the first value of each), within the form limit (413 past it)."""
    body = await request.body()
    if len(body) > SMALL_LIMIT:  # the body-limit middleware stops larger forms first
        raise ApiError(413, f"the form is larger than {SMALL_LIMIT:,} bytes")
    fields = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items() if values}


async def _reviewer(request: Request) -> tuple[dict[str, str], Caller | None, Response | None]:
    """The posted form and its admitted caller (an admin session with the form's token, or
    an admin key), or the queue page saying why not."""
    fields = await read_form(request)
    try:
        caller = await form_caller(request, fields.get("csrf", ""), "admin")
    except ApiError as exc:
        page = await _queue(request, None, done="", error=exc.message, status=exc.status)
        return fields, None, page
    return fields, caller, None


def actor_of(caller: Caller) -> str:
    """Who did it, for an audit trail: the key's id (``key:…``), or ``no-auth``."""
    return f"key:{caller.key_id}" if caller.key_id else "no-auth"


@router.get("/queue", response_class=HTMLResponse)
async def queue_page(request: Request) -> Response:
    """Pending and accepted candidates with their audit trails; forms for an admin."""
    from evallock.server._dashboard import reader

    caller, refused = await reader(request)
    if refused is not None:
        return refused
    params = request.query_params
    return await _queue(
        request,
        caller,
        done=str(params.get("done", ""))[:200],
        error=None,
        status=200,
    )


async def _queue(
    request: Request, caller: Caller | None, *, done: str, error: str | None, status: int
) -> Response:
    from evallock.server._dashboard import is_signed_in, render_page

    state = server_state(request)

    def read() -> dict[str, Any]:
        store = state.store
        pending = store.candidates.find(states=["pending"], limit=QUEUE_SHOWN)
        accepted = store.candidates.find(states=["accepted"], limit=QUEUE_SHOWN)
        events = {
            c.candidate_id: store.candidates.events(c.candidate_id) for c in pending + accepted
        }
        return {"pending": pending, "accepted": accepted, "events": events}

    data = await anyio.to_thread.run_sync(read)
    admin = caller is not None and caller.scope == "admin"
    return render_page(
        "queue.html",
        status=status,
        signed_in=is_signed_in(caller),
        admin=admin,
        csrf=session_csrf(request) if admin else "",
        case_files=[(path, Path(path).name) for path in state.settings.case_files],
        done=done,
        error=error,
        **data,
    )


@router.post("/queue/propose", response_class=HTMLResponse)
async def propose(request: Request) -> Response:
    """Put the trace a reviewer chose (its page's form: ``trace_id``, ``reason``) forward as
    a candidate; it joins a pending candidate that asks the same."""
    from evallock.feedback import propose_trace
    from evallock.traces import normalise_trace_id

    state = server_state(request)
    fields, caller, refused = await _reviewer(request)
    if refused is not None:
        return refused
    assert caller is not None  # admitted
    reason = fields.get("reason", "").strip()[:MAX_SHORT_TEXT] or "chosen by a reviewer"
    try:
        trace_id = normalise_trace_id(fields.get("trace_id", "")[:MAX_ID])
    except ValueError as exc:
        return await _queue(request, caller, done="", error=f"trace_id: {exc}", status=400)

    def run() -> Any:
        trace = state.store.traces.get(trace_id)
        if trace is None:
            return None
        return propose_trace(state.store, trace, reason=reason, actor=actor_of(caller))

    try:
        plan = await anyio.to_thread.run_sync(run)
    except UsageError as exc:
        return await _queue(request, caller, done="", error=str(exc), status=400)
    if plan is None:
        return await _queue(request, caller, done="", error=f"no trace {trace_id}", status=404)
    if plan.new:
        done = f"proposed {plan.new[0].candidate_id} from trace {trace_id}"
    elif plan.merges:
        done = f"trace {trace_id} joined candidate {next(iter(plan.merges))}"
    else:
        done = f"trace {trace_id} is behind a candidate already"
    return RedirectResponse(f"/queue?{urlencode({'done': done})}", status_code=303)


@router.post("/queue/{candidate_id}/{action}", response_class=HTMLResponse)
async def review(request: Request, candidate_id: str, action: str) -> Response:
    """Accept (``expected``, ``note``), reject (``reason``) or promote (``to``) a candidate."""
    from evallock.feedback import (
        CandidateNotFoundError,
        CandidateStateError,
        accept_candidate,
        promote_candidates,
        reject_candidate,
    )

    state = server_state(request)
    fields, caller, refused = await _reviewer(request)
    if refused is not None:
        return refused
    assert caller is not None  # admitted
    store = state.store
    actor = actor_of(caller)
    try:
        if len(candidate_id) > MAX_ID or action not in ("accept", "reject", "promote"):
            raise ApiError(404, "no such review action")
        if action == "accept":
            expected = fields.get("expected", "").strip() or None
            if expected is not None and len(expected) > MAX_TEXT:
                raise FieldLimitError("expected", f"more than {MAX_TEXT:,} characters")
            note = fields.get("note", "").strip()[:MAX_SHORT_TEXT] or None

            def run() -> Any:
                return accept_candidate(
                    store, candidate_id, expected=expected, note=note, actor=actor
                )
        elif action == "reject":
            reason = fields.get("reason", "").strip()
            if not reason:
                raise ApiError(400, "reason: say why the candidate is not a case")

            def run() -> Any:
                return reject_candidate(
                    store, candidate_id, reason=reason[:MAX_SHORT_TEXT], actor=actor
                )
        else:
            target = fields.get("to", "")
            if target not in state.settings.case_files:
                raise ApiError(
                    400,
                    "to: promote into one of the case files `serve --cases` names"
                    + ("" if state.settings.case_files else " (it names none)"),
                )

            def run() -> Any:
                return promote_candidates(store, target, actor=actor, candidate_ids=[candidate_id])

        await anyio.to_thread.run_sync(run)
    except ApiError as exc:
        return await _queue(request, caller, done="", error=exc.message, status=exc.status)
    except CandidateNotFoundError as exc:
        return await _queue(request, caller, done="", error=str(exc), status=404)
    except CandidateStateError as exc:
        return await _queue(request, caller, done="", error=str(exc), status=409)
    except (FieldLimitError, UsageError) as exc:
        status = 422 if isinstance(exc, FieldLimitError) else 400
        return await _queue(request, caller, done="", error=str(exc), status=status)
    done = urlencode({"done": f"{_DONE[action]} {candidate_id}"})
    return RedirectResponse(f"/queue?{done}", status_code=303)
