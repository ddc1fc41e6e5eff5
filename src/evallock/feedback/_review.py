"""Review: the framework-free API behind ``evallock candidates`` and the review routes.

Accept and reject are state changes checked against the candidate's current
state in the same statement that makes them, each logged as an event with the
actor and time. An accepted candidate must make a valid case line, so promotion
never meets a case the loader would refuse.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from evallock.errors import CandidateNotFoundError, CandidateStateError, UsageError
from evallock.feedback._candidate_store import CandidateStore
from evallock.feedback._caseline import case_line, validate_case_line
from evallock.records import CANDIDATE_STATES, Candidate, CandidateEvent, Conversation

if TYPE_CHECKING:
    from evallock.store import CandidatePosition

__all__ = [
    "CandidateDetail",
    "accept_candidate",
    "candidate_to_dict",
    "event_to_dict",
    "list_candidates",
    "reject_candidate",
    "resolve_actor",
    "show_candidate",
]

ACCEPT_FROM = ("pending", "accepted", "rejected")
"""Accepting again amends an accepted candidate; a rejected one can be reconsidered."""
REJECT_FROM = ("pending", "accepted")
"""A promoted candidate is in the golden set: remove its line there instead."""


@dataclass(frozen=True, kw_only=True, slots=True)
class CandidateDetail:
    """A candidate with its audit trail."""

    candidate: Candidate
    """The candidate."""
    events: tuple[CandidateEvent, ...]
    """Who did what, oldest first."""


def resolve_actor(explicit: str | None = None) -> str:
    """Who is acting: the flag, else ``$EVALLOCK_ACTOR``, else the OS user."""
    for value in (explicit, os.environ.get("EVALLOCK_ACTOR")):
        if value and value.strip():
            return value.strip()[:200]
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container
        return "unknown"


def list_candidates(
    store: CandidateStore,
    *,
    state: str | None = None,
    limit: int = 50,
    offset: int = 0,
    after: CandidatePosition | None = None,
) -> list[Candidate]:
    """Candidates in a state (all when None), the most traces behind them first.

    ``after`` (the position of the last candidate of a page) starts the next page.

    Raises:
        UsageError: an unknown state.
    """
    if state is not None and state not in CANDIDATE_STATES:
        raise UsageError(f"state {state!r}: expected one of {', '.join(CANDIDATE_STATES)}")
    return store.candidates.find(
        states=None if state is None else [state], limit=limit, offset=offset, after=after
    )


def _require(store: CandidateStore, candidate_id: str) -> Candidate:
    found = store.candidates.get(candidate_id)
    if found is None:
        raise CandidateNotFoundError(f"no candidate {candidate_id!r} in {store.url}")
    return found


def show_candidate(store: CandidateStore, candidate_id: str) -> CandidateDetail:
    """One candidate (by id or unique prefix) with its audit trail.

    Raises:
        UsageError: no such candidate, or an ambiguous prefix.
    """
    candidate = _require(store, candidate_id)
    return CandidateDetail(
        candidate=candidate, events=tuple(store.candidates.events(candidate.candidate_id))
    )


def _refused(candidate: Candidate, action: str) -> CandidateStateError:
    if candidate.state == "promoted":
        return CandidateStateError(
            f"candidate {candidate.candidate_id} is already promoted into "
            f"{candidate.promoted_to} as case {candidate.case_id}; edit that file instead"
        )
    return CandidateStateError(
        f"cannot {action} candidate {candidate.candidate_id}: it is {candidate.state}"
    )


def accept_candidate(
    store: CandidateStore,
    candidate_id: str,
    *,
    expected: str | None,
    asserts: Sequence[Mapping[str, Any]] = (),
    variables: Mapping[str, Any] | None = None,
    note: str | None = None,
    actor: str,
) -> Candidate:
    """Accept a candidate with the expected answer and/or assertions.

    Raises:
        UsageError: no such candidate, it cannot be accepted from its state, or the
            case line it would make is not valid (e.g. an unknown assertion type).
    """
    candidate = _require(store, candidate_id)
    expected = expected.strip() if expected else None
    items = tuple(dict(item) for item in asserts)
    if not expected and not items:
        raise UsageError("accept needs --expected TEXT and/or --assert JSON: what must it answer?")
    if candidate.state not in ACCEPT_FROM:
        raise _refused(candidate, "accept")
    chosen_vars = dict(candidate.vars if variables is None else variables)
    # an amended acceptance keeps its note; a rejected candidate's note is the rejection
    note = (note or "").strip() or (candidate.note if candidate.state == "accepted" else None)
    line = case_line(
        candidate,
        "fb-check",
        expected=expected or "",
        asserts=items,
        variables=chosen_vars,
        note=note or "-",
    )
    try:
        validate_case_line(line)
    except ValueError as exc:
        raise UsageError(f"candidate {candidate.candidate_id}: {exc}") from None
    changes = {
        "state": "accepted",
        "expected": expected,
        "asserts": list(items),
        "vars": chosen_vars,
        "note": note,
    }
    event = CandidateEvent(
        candidate_id=candidate.candidate_id,
        at=datetime.now(UTC),
        actor=actor,
        action="accepted",
        detail={k: v for k, v in changes.items() if k != "state" and v not in (None, [], {})},
    )
    done = store.candidates.transition(
        candidate.candidate_id, from_states=ACCEPT_FROM, changes=changes, event=event
    )
    if done is None:
        raise _refused(_require(store, candidate.candidate_id), "accept")
    return done


def reject_candidate(
    store: CandidateStore, candidate_id: str, *, reason: str, actor: str
) -> Candidate:
    """Reject a candidate; the reason is kept as its note and in the audit trail.

    Raises:
        UsageError: no such candidate, no reason, or it cannot be rejected from its state.
    """
    reason = reason.strip()
    if not reason:
        raise UsageError("reject needs --reason: say why it is not a case")
    candidate = _require(store, candidate_id)
    if candidate.state not in REJECT_FROM:
        raise _refused(candidate, "reject")
    event = CandidateEvent(
        candidate_id=candidate.candidate_id,
        at=datetime.now(UTC),
        actor=actor,
        action="rejected",
        detail={"reason": reason},
    )
    done = store.candidates.transition(
        candidate.candidate_id,
        from_states=REJECT_FROM,
        changes={"state": "rejected", "note": reason},
        event=event,
    )
    if done is None:
        raise _refused(_require(store, candidate.candidate_id), "reject")
    return done


def candidate_to_dict(candidate: Candidate) -> dict[str, Any]:
    """A candidate as JSON-ready data (user text stays data; escape it where it is shown)."""
    return {
        "candidate_id": candidate.candidate_id,
        "state": candidate.state,
        "created_at": candidate.created_at.isoformat(),
        "updated_at": candidate.updated_at.isoformat(),
        "trace_id": candidate.trace_id,
        "trace_ids": list(candidate.trace_ids),
        "trace_count": candidate.trace_count,
        "input": candidate.input,
        "output": candidate.output,
        "keys": candidate.keys,
        "reason": candidate.reason,
        "duplicate_of": candidate.duplicate_of,
        "expected": candidate.expected,
        "assert": list(candidate.asserts),
        "vars": candidate.vars,
        "note": candidate.note,
        "case_id": candidate.case_id,
        "promoted_to": candidate.promoted_to,
        "dataset_id": candidate.dataset_id,
        "conversation": _conversation_dict(candidate.conversation),
    }


def _conversation_dict(conversation: Conversation | None) -> dict[str, Any] | None:
    if conversation is None:
        return None
    return {
        "session_id": conversation.session_id,
        "turns": list(conversation.turns),
        "tool_results": dict(conversation.tool_results),
        "tools": [dict(tool) for tool in conversation.tools],
        "trace_ids": list(conversation.trace_ids),
    }


def event_to_dict(event: CandidateEvent) -> dict[str, Any]:
    """An audit event as JSON-ready data."""
    return {
        "at": event.at.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "detail": event.detail,
    }
