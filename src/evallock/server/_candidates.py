"""The review API: list, show, accept and reject candidate eval cases.

Reading needs scope ``read``; reviewing needs ``admin`` (a person's decision that
changes the golden set). The actor recorded in the audit trail is the caller's
key (``key:<key_id>``). Candidate text is returned as JSON string data.

Every field is bounded by :mod:`evallock.limits`: the expected answer as a trace's
output, a note or reason as short text, ``assert`` and ``vars`` in count and
nesting; a list pages by ``cursor`` (each answer's ``next_cursor``), ``offset``
skips at most :data:`~evallock.server._query.MAX_OFFSET`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

import anyio.to_thread
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from evallock.errors import UsageError
from evallock.limits import (
    MAX_ID,
    MAX_KEYS,
    MAX_SHORT_TEXT,
    MAX_TEXT,
    FieldLimitError,
    check_depth,
)
from evallock.server._auth import Caller, require
from evallock.server._errors import ApiError
from evallock.server._query import MAX_CURSOR, MAX_OFFSET, decode_cursor, encode_cursor
from evallock.server._state import ServerState
from evallock.store import CandidatePosition

if TYPE_CHECKING:
    from evallock.store import Store

__all__ = ["MAX_ASSERTS", "router"]

router = APIRouter(prefix="/api/candidates", tags=["api"])

MAX_ASSERTS = 100
"""Most assertions one accepted candidate may carry."""
_CURSOR_KIND = "candidates"


class AcceptBody(BaseModel):
    """What a reviewer fills in when accepting a candidate."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    expected: str | None = Field(default=None, max_length=MAX_TEXT)
    asserts: list[dict[str, Any]] = Field(
        default_factory=list, alias="assert", max_length=MAX_ASSERTS
    )
    vars: dict[str, Any] = Field(default_factory=dict, max_length=MAX_KEYS)
    note: str | None = Field(default=None, max_length=MAX_SHORT_TEXT)


class RejectBody(BaseModel):
    """Why a candidate is not a case."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=MAX_SHORT_TEXT)


def _store(request: Request) -> Store:
    state: ServerState = request.app.state.evallock
    return state.store


def _actor(caller: Caller) -> str:
    return f"key:{caller.key_id}" if caller.key_id else "no-auth"


def _checked_id(candidate_id: str) -> str:
    # No candidate id is this long: refused before it reaches the store or a message.
    if len(candidate_id) > MAX_ID:
        raise ApiError(
            400,
            f"candidate_id: {len(candidate_id):,} characters, more than the limit of {MAX_ID}",
            field="candidate_id",
        )
    return candidate_id


_P = ParamSpec("_P")
_T = TypeVar("_T")


async def _call(function: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """Run a feedback-library call in a thread; map its errors to 404 / 409 / 422 / 400."""
    from evallock.feedback import CandidateNotFoundError, CandidateStateError

    try:
        return await anyio.to_thread.run_sync(lambda: function(*args, **kwargs))
    except CandidateNotFoundError as exc:
        raise HTTPException(404, str(exc)) from None
    except CandidateStateError as exc:
        raise HTTPException(409, str(exc)) from None
    except FieldLimitError as exc:
        raise ApiError(422, str(exc), field=exc.field) from None
    except UsageError as exc:
        raise HTTPException(400, str(exc)) from None


def _position(cursor: str) -> CandidatePosition:
    try:
        count, created, candidate_id = decode_cursor(cursor, _CURSOR_KIND, 3)
    except ValueError as exc:
        raise ApiError(400, f"cursor: {exc}", field="cursor") from None
    refused = ApiError(
        400,
        "cursor: not a cursor this listing made; pass a next_cursor back unchanged",
        field="cursor",
    )
    if not (
        type(count) is int
        and 0 <= count < 2**31
        and isinstance(created, str)
        and isinstance(candidate_id, str)
        and len(candidate_id) <= MAX_ID
        and "\x00" not in candidate_id
    ):
        raise refused
    try:
        moment = datetime.fromisoformat(created)
    except ValueError:
        raise refused from None
    if moment.utcoffset() is None:
        raise refused
    return CandidatePosition(trace_count=count, created_at=moment, candidate_id=candidate_id)


@router.get("", summary="List candidates", dependencies=[Depends(require("read"))])
async def list_candidates(
    request: Request,
    state: str | None = Query(None, description="pending, accepted, rejected or promoted"),
    limit: int = Query(50, ge=1, le=1000),
    offset: int = Query(
        0, ge=0, le=MAX_OFFSET, description=f"At most {MAX_OFFSET:,}; page with `cursor`."
    ),
    cursor: Annotated[
        str | None,
        Query(max_length=MAX_CURSOR, description="The previous page's `next_cursor`, unchanged."),
    ] = None,
) -> dict[str, Any]:
    """Candidates, the most traces behind them first, optionally in one state.

    ``next_cursor`` (null on the last page) passed back as ``cursor`` reads the next page.
    """
    from evallock.feedback import candidate_to_dict
    from evallock.feedback import list_candidates as list_all

    after = None if cursor is None else _position(cursor)
    found = await _call(
        list_all, _store(request), state=state, limit=limit + 1, offset=offset, after=after
    )
    next_cursor = None
    if len(found) > limit:
        found = found[:limit]
        last = found[-1]
        next_cursor = encode_cursor(
            _CURSOR_KIND, last.trace_count, last.created_at.isoformat(), last.candidate_id
        )
    return {"candidates": [candidate_to_dict(c) for c in found], "next_cursor": next_cursor}


@router.get(
    "/{candidate_id}",
    summary="One candidate with its audit trail",
    dependencies=[Depends(require("read"))],
)
async def show_candidate(request: Request, candidate_id: str) -> dict[str, Any]:
    """The candidate (by id or unique prefix) and who did what to it."""
    from evallock.feedback import candidate_to_dict, event_to_dict
    from evallock.feedback import show_candidate as show

    detail = await _call(show, _store(request), _checked_id(candidate_id))
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

    _checked_id(candidate_id)
    for field, value in (("assert", body.asserts), ("vars", body.vars)):
        try:
            check_depth(field, value)
        except FieldLimitError as exc:
            raise ApiError(422, str(exc), field=exc.field) from None
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
        reject, _store(request), _checked_id(candidate_id), reason=body.reason, actor=_actor(caller)
    )
    return candidate_to_dict(rejected)
