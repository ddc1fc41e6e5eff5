"""The review API: list, show, accept and reject candidate eval cases.

Reading needs scope ``read``; reviewing needs ``admin`` (a person's decision that
changes the golden set). The actor recorded in the audit trail is the caller's
key (``key:<key_id>``). Candidate text is returned as JSON string data.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from evallock.errors import UsageError
from evallock.server._auth import Caller, require
from evallock.server._state import ServerState

__all__ = ["router"]

router = APIRouter(prefix="/api/candidates", tags=["api"])


class AcceptBody(BaseModel):
    """What a reviewer fills in when accepting a candidate."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    expected: str | None = Field(default=None, max_length=20_000)
    asserts: list[dict[str, Any]] = Field(default_factory=list, alias="assert")
    vars: dict[str, Any] = Field(default_factory=dict)
    note: str | None = Field(default=None, max_length=2_000)


class RejectBody(BaseModel):
    """Why a candidate is not a case."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2_000)


def _store(request: Request) -> Any:
    state: ServerState = request.app.state.evallock
    return state.store


def _actor(caller: Caller) -> str:
    return f"key:{caller.key_id}" if caller.key_id else "no-auth"


async def _call(function: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a feedback-library call in a thread; map its errors to 404 / 409 / 400."""
    from evallock.feedback import CandidateNotFoundError, CandidateStateError

    try:
        return await anyio.to_thread.run_sync(lambda: function(*args, **kwargs))
    except CandidateNotFoundError as exc:
        raise HTTPException(404, str(exc)) from None
    except CandidateStateError as exc:
        raise HTTPException(409, str(exc)) from None
    except UsageError as exc:
        raise HTTPException(400, str(exc)) from None


@router.get("", summary="List candidates", dependencies=[Depends(require("read"))])
async def list_candidates(
    request: Request,
    state: str | None = Query(None, description="pending, accepted, rejected or promoted"),
    limit: int = Query(50, ge=1, le=1000),
    offset: int = Query(0, ge=0),
) -> dict[str, Any]:
    """Candidates, newest first, optionally in one state."""
    from evallock.feedback import candidate_to_dict
    from evallock.feedback import list_candidates as list_all

    found = await _call(list_all, _store(request), state=state, limit=limit, offset=offset)
    return {"candidates": [candidate_to_dict(c) for c in found]}


@router.get(
    "/{candidate_id}",
    summary="One candidate with its audit trail",
    dependencies=[Depends(require("read"))],
)
async def show_candidate(request: Request, candidate_id: str) -> dict[str, Any]:
    """The candidate (by id or unique prefix) and who did what to it."""
    from evallock.feedback import candidate_to_dict, event_to_dict
    from evallock.feedback import show_candidate as show

    detail = await _call(show, _store(request), candidate_id)
    return {
        **candidate_to_dict(detail.candidate),
        "events": [event_to_dict(e) for e in detail.events],
    }


@router.post("/{candidate_id}/accept", summary="Accept a candidate with its expected answer")
async def accept_candidate(
    request: Request,
    candidate_id: str,
    body: AcceptBody,
    caller: Caller = Depends(require("admin")),
) -> dict[str, Any]:
    """Record the reviewer's expected answer and checks; the candidate is ready to promote."""
    from evallock.feedback import accept_candidate as accept
    from evallock.feedback import candidate_to_dict

    accepted = await _call(
        accept,
        _store(request),
        candidate_id,
        expected=body.expected,
        asserts=body.asserts,
        variables=body.vars,
        note=body.note,
        actor=_actor(caller),
    )
    return candidate_to_dict(accepted)


@router.post("/{candidate_id}/reject", summary="Reject a candidate, with the reason")
async def reject_candidate(
    request: Request,
    candidate_id: str,
    body: RejectBody,
    caller: Caller = Depends(require("admin")),
) -> dict[str, Any]:
    """Record why the candidate is not a case."""
    from evallock.feedback import candidate_to_dict
    from evallock.feedback import reject_candidate as reject

    rejected = await _call(
        reject, _store(request), candidate_id, reason=body.reason, actor=_actor(caller)
    )
    return candidate_to_dict(rejected)
