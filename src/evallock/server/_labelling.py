"""Labelling in the browser: ``GET /labels`` shows a judged answer to score, blind, and its
form (``POST /queue/labels``, a review form) stores the reviewer's 1–5 score beside the
judge's.

The answers come from an online evaluator's verdicts, in a random order of the
reviewer's own (a uniform sample without replacement, which is what κ and the corrected
means need), skipping those the reviewer labelled already; the judge's score is never
shown. The form posts with the session cookie and its form token (``_auth.form_caller``)
and needs a key of scope ``admin`` (pages are read, labels written: an ``ingest`` key
labels through ``POST /v1/labels``); the label goes through the same
library call as ``evallock labels import`` and ``POST /v1/labels``.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import anyio.to_thread
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from evallock.errors import UsageError
from evallock.limits import MAX_ID, MAX_SHORT_TEXT
from evallock.server._auth import Caller, form_caller, session_csrf
from evallock.server._errors import ApiError
from evallock.server._review import actor_of, read_form
from evallock.server._state import server_state

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
_WINDOW = timedelta(days=30)


def _reviewer_of(caller: Caller | None) -> str:
    return "anonymous" if caller is None else actor_of(caller)


@router.get("/labels", response_class=HTMLResponse)
async def labels_page(request: Request) -> Response:
    """The next answer of an evaluator for this reviewer to score (``?evaluator=NAME``)."""
    from evallock.server._dashboard import reader

    caller, refused = await reader(request)
    if refused is not None:
        return refused
    params = request.query_params
    return await _page(
        request,
        caller,
        evaluator=str(params.get("evaluator", ""))[:MAX_ID],
        done=str(params.get("done", ""))[:200],
        error=None,
        status=200,
    )


async def _page(
    request: Request,
    caller: Caller | None,
    *,
    evaluator: str,
    done: str,
    error: str | None,
    status: int,
) -> Response:
    from evallock.server._dashboard import is_signed_in, render_page

    state = server_state(request)
    reviewer = _reviewer_of(caller)

    def read() -> dict[str, Any]:
        rules = (
            state.online.current_rules() if state.online is not None else state.settings.evaluators
        )
        judged = [rule.name for rule in rules if rule.judged]
        chosen = evaluator if evaluator in judged else (judged[0] if judged else "")
        found: dict[str, Any] = {"evaluators": judged, "evaluator": chosen}
        if not chosen:
            return {**found, "trace": None, "left": 0, "labelled": 0}
        since = datetime.now(UTC) - _WINDOW
        verdicts = [
            s
            for s in state.store.online.scores(evaluator=chosen, since=since, limit=200_000)
            if s.status == "scored" and s.judge_score is not None
        ]
        versions = {s.version.split("+rules@")[0] for s in verdicts}
        mine = {
            label.subject
            for version in versions
            for label in state.store.labels.of_version(version)
            if label.reviewer == reviewer
        }
        todo = [s for s in verdicts if f"trace:{s.trace_id}" not in mine]
        todo.sort(key=lambda s: hashlib.sha256(f"{reviewer}\0{s.trace_id}".encode()).digest())
        trace = state.store.traces.get(todo[0].trace_id) if todo else None
        return {
            **found,
            "trace": trace,
            "left": len(todo),
            "labelled": len(verdicts) - len(todo),
        }

    data = await anyio.to_thread.run_sync(read)
    may_label = caller is not None and caller.scope == "admin"
    return render_page(
        "labels.html",
        status=status,
        signed_in=is_signed_in(caller),
        may_label=may_label,
        csrf=session_csrf(request) if may_label else "",
        done=done,
        error=error,
        **data,
    )


@router.post("/queue/labels", response_class=HTMLResponse)
async def post_label(request: Request) -> Response:
    """Store one label from the page's form (``evaluator``, ``trace_id``, ``score``, ``note``)."""
    from evallock.labels import LabelRow, resolve_labels

    state = server_state(request)
    fields = await read_form(request)
    evaluator = fields.get("evaluator", "")[:MAX_ID]
    try:
        caller = await form_caller(request, fields.get("csrf", ""), "admin")
    except ApiError as exc:
        return await _page(
            request, None, evaluator=evaluator, done="", error=exc.message, status=exc.status
        )
    score_text = fields.get("score", "")
    row = LabelRow(
        line=0,
        subject=f"trace:{fields.get('trace_id', '')[:MAX_ID]}",
        score=int(score_text) if score_text.isdigit() else score_text,
        evaluator=evaluator,
        note=fields.get("note", "").strip()[:MAX_SHORT_TEXT] or None,
    )

    def store_it() -> None:
        labels = resolve_labels(
            state.store, [row], file="label", reviewer=_reviewer_of(caller), place="{file}"
        )
        state.store.labels.add(labels)

    try:
        await anyio.to_thread.run_sync(store_it)
    except (UsageError, ValueError) as exc:
        return await _page(
            request, caller, evaluator=evaluator, done="", error=str(exc), status=400
        )
    done = f"labelled {row.subject.removeprefix('trace:')[:12]}… {row.score}"
    query = urlencode({"evaluator": evaluator, "done": done})
    return RedirectResponse(f"/labels?{query}", status_code=303)
