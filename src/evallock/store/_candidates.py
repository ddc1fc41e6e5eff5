"""Candidate rows: candidates, their audit trail, and promotion (signals: ``_signals.py``).

A trace is behind at most one candidate (``candidate_traces`` has the trace id as
its primary key), so proposing twice never adds a trace twice. A review is a
compare-and-set on the candidate's state plus an event, in one transaction; the
events table is append-only and is the audit trail.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import and_, bindparam, or_, select, tuple_, update
from sqlalchemy.engine import Connection, Row

from evallock.errors import CandidateStateError, UsageError
from evallock.limits import (
    MAX_DEPTH,
    MAX_ID,
    MAX_KEY_VALUE,
    MAX_SHORT_TEXT,
    MAX_TEXT,
    check_depth,
    check_text,
)
from evallock.records import Candidate, CandidateEvent, Conversation
from evallock.store._schema import candidate_events, candidate_traces, candidates, traces
from evallock.store._traces import clean_text

__all__ = [
    "CandidatePosition",
    "add_candidates",
    "candidate_events_of",
    "check_review",
    "find_candidate",
    "list_candidates",
    "mark_promoted",
    "transition_candidate",
]

_IN_CHUNK: Final = 500
_HEX = re.compile(r"^[0-9a-f]{1,32}$")


@dataclass(frozen=True, kw_only=True, slots=True)
class CandidatePosition:
    """Where a page of candidates ended: the last one's place in the list order."""

    trace_count: int
    """The last candidate's ``trace_count`` (the list is most traces first)."""
    created_at: datetime
    """The last candidate's ``created_at`` (then oldest first)."""
    candidate_id: str
    """The last candidate's id (the final tie-break)."""


def _to_row(candidate: Candidate) -> dict[str, Any]:
    return {
        "candidate_id": candidate.candidate_id,
        "created_at": candidate.created_at,
        "updated_at": candidate.updated_at,
        "state": candidate.state,
        "trace_ids": list(candidate.trace_ids),
        "trace_count": candidate.trace_count,
        "input": clean_text(candidate.input),
        "output": clean_text(candidate.output),
        "keys": candidate.keys,
        "reason": clean_text(candidate.reason),
        "signature": candidate.signature,
        "duplicate_of": candidate.duplicate_of,
        "expected": clean_text(candidate.expected),
        "asserts": list(candidate.asserts),
        "vars": candidate.vars,
        "note": clean_text(candidate.note),
        "case_id": candidate.case_id,
        "promoted_to": candidate.promoted_to,
        "dataset_id": candidate.dataset_id,
        "conversation": _conversation_json(candidate.conversation),
    }


def _conversation_json(conversation: Conversation | None) -> dict[str, Any] | None:
    if conversation is None:
        return None
    return {
        "session_id": clean_text(conversation.session_id),
        "turns": [clean_text(turn) for turn in conversation.turns],
        "tool_results": {
            clean_text(name): clean_text(result)
            for name, result in conversation.tool_results.items()
        },
        "tools": list(conversation.tools),
        "trace_ids": list(conversation.trace_ids),
    }


def _conversation_of(stored: dict[str, Any] | None) -> Conversation | None:
    if not stored:
        return None
    return Conversation(
        session_id=stored["session_id"],
        turns=tuple(stored.get("turns", ())),
        tool_results=dict(stored.get("tool_results", {})),
        tools=tuple(stored.get("tools", ())),
        trace_ids=tuple(stored.get("trace_ids", ())),
    )


def _from_row(row: Row[Any]) -> Candidate:
    m = row._mapping
    return Candidate(
        candidate_id=m["candidate_id"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        state=m["state"],
        trace_ids=tuple(m["trace_ids"]),
        input=m["input"],
        output=m["output"],
        keys=dict(m["keys"]),
        reason=m["reason"],
        signature=m["signature"],
        duplicate_of=m["duplicate_of"],
        expected=m["expected"],
        asserts=tuple(m["asserts"]),
        vars=dict(m["vars"]),
        note=m["note"],
        case_id=m["case_id"],
        promoted_to=m["promoted_to"],
        dataset_id=m["dataset_id"],
        conversation=_conversation_of(m["conversation"]),
    )


def _event_row(event: CandidateEvent) -> dict[str, Any]:
    return {
        "candidate_id": event.candidate_id,
        "at": event.at,
        "actor": clean_text(event.actor),
        "action": event.action,
        "detail": event.detail,
    }


def add_candidates(
    conn: Connection,
    new: Sequence[Candidate],
    merges: Mapping[str, Sequence[str]],
    events: Sequence[CandidateEvent],
    at: datetime,
) -> None:
    """Insert new candidates, append traces to existing ones, and write the events.

    Raises:
        UsageError: a merge names a candidate that does not exist.
    """
    if new:
        conn.execute(candidates.insert(), [_to_row(c) for c in new])
    links = [
        {"trace_id": t, "candidate_id": c.candidate_id, "added_at": at}
        for c in new
        for t in c.trace_ids
    ]
    for candidate_id in sorted(merges):
        added = list(merges[candidate_id])
        locked = select(candidates.c.trace_ids).where(candidates.c.candidate_id == candidate_id)
        stored = conn.execute(locked.with_for_update()).scalar_one_or_none()
        if stored is None:
            raise UsageError(f"candidate {candidate_id!r} does not exist")
        merged = [*stored, *added]
        conn.execute(
            update(candidates)
            .where(candidates.c.candidate_id == candidate_id)
            .values(trace_ids=merged, trace_count=len(merged), updated_at=at)
        )
        links += [{"trace_id": t, "candidate_id": candidate_id, "added_at": at} for t in added]
    if links:
        conn.execute(candidate_traces.insert(), links)
    if events:
        conn.execute(candidate_events.insert(), [_event_row(e) for e in events])


def list_candidates(
    conn: Connection,
    *,
    states: Collection[str] | None,
    limit: int | None,
    offset: int,
    after: CandidatePosition | None = None,
) -> list[Candidate]:
    """Candidates with the most traces behind them first (then oldest first).

    ``after`` starts the page past that position. A candidate that gains traces
    while someone pages moves up the order, as it would with an offset.
    """
    query = select(candidates).order_by(
        candidates.c.trace_count.desc(), candidates.c.created_at, candidates.c.candidate_id
    )
    if states is not None:
        query = query.where(candidates.c.state.in_(list(states)))
    if after is not None:
        count = bindparam(
            "after_trace_count", after.trace_count, type_=candidates.c.trace_count.type
        )
        tail = tuple_(candidates.c.created_at, candidates.c.candidate_id) > tuple_(
            bindparam("after_created_at", after.created_at, type_=candidates.c.created_at.type),
            bindparam(
                "after_candidate_id", after.candidate_id, type_=candidates.c.candidate_id.type
            ),
        )
        query = query.where(
            or_(candidates.c.trace_count < count, and_(candidates.c.trace_count == count, tail))
        )
    if limit is not None:
        query = query.limit(limit)
    if offset:
        query = query.offset(offset)
    return [_from_row(row) for row in conn.execute(query)]


def find_candidate(conn: Connection, candidate_id: str) -> Candidate | None:
    """The candidate with this id, or the only one whose id starts with it.

    Raises:
        UsageError: the prefix names more than one candidate.
    """
    if len(candidate_id) > MAX_ID:
        return None  # no id is this long: answered without sending it to the database
    candidate_id = clean_text(candidate_id)  # PostgreSQL refuses NUL even in a comparison
    row = conn.execute(select(candidates).where(candidates.c.candidate_id == candidate_id)).first()
    if row is not None:
        return _from_row(row)
    prefix = candidate_id.lower()
    if not _HEX.match(prefix):
        return None
    rows = conn.execute(
        select(candidates).where(candidates.c.candidate_id.startswith(prefix)).limit(2)
    ).all()
    if len(rows) > 1:
        raise UsageError(f"candidate {candidate_id!r} is ambiguous; give more of its id")
    return _from_row(rows[0]) if rows else None


def candidate_events_of(conn: Connection, candidate_id: str) -> list[CandidateEvent]:
    """A candidate's audit trail, oldest first."""
    query = (
        select(candidate_events)
        .where(candidate_events.c.candidate_id == clean_text(candidate_id))
        .order_by(candidate_events.c.id)
    )
    return [
        CandidateEvent(
            candidate_id=row.candidate_id,
            at=row.at,
            actor=row.actor,
            action=row.action,
            detail=dict(row.detail),
        )
        for row in conn.execute(query)
    ]


def check_review(changes: Mapping[str, Any], event: CandidateEvent) -> None:
    """Refuse a review whose text or nesting is past its limit, naming the field.

    ``expected`` may be as long as a trace's output (:data:`~evallock.limits.MAX_TEXT`);
    a note and a rejection's reason are short text; ``assert`` and ``vars`` are JSON
    nested at most :data:`~evallock.limits.MAX_DEPTH` levels.

    Raises:
        FieldLimitError: the first field past its limit.
    """
    reason = event.detail.get("reason")
    if isinstance(reason, str):
        check_text("reason", reason, MAX_SHORT_TEXT)
    check_text("expected", changes.get("expected"), MAX_TEXT)
    check_text("note", changes.get("note"), MAX_SHORT_TEXT)
    check_text("actor", event.actor, MAX_KEY_VALUE)
    for name, field in (("asserts", "assert"), ("vars", "vars")):
        if name in changes:
            check_depth(field, changes[name])
    # the event's detail holds those values one level down
    check_depth("detail", event.detail, MAX_DEPTH + 1)


def transition_candidate(
    conn: Connection,
    candidate_id: str,
    *,
    from_states: Collection[str],
    changes: Mapping[str, Any],
    event: CandidateEvent,
) -> Candidate | None:
    """Apply ``changes`` when the candidate is in one of ``from_states``; None when not.

    The state check and the write are one statement, so two reviewers cannot both
    move the same candidate out of the same state.
    """
    values = dict(changes)
    for name in ("expected", "note"):
        if name in values:
            values[name] = clean_text(values[name])
    values["updated_at"] = event.at
    result = conn.execute(
        update(candidates)
        .where(
            candidates.c.candidate_id == candidate_id,
            candidates.c.state.in_(list(from_states)),
        )
        .values(**values)
    )
    if result.rowcount != 1:
        return None
    conn.execute(candidate_events.insert(), [_event_row(event)])
    row = conn.execute(select(candidates).where(candidates.c.candidate_id == candidate_id)).one()
    return _from_row(row)


def mark_promoted(
    conn: Connection,
    promoted: Sequence[tuple[str, str]],
    *,
    promoted_to: str,
    dataset_id: str,
    events: Sequence[CandidateEvent],
    at: datetime,
) -> None:
    """Move accepted candidates to ``promoted`` and tag their traces with the dataset id.

    A trace's ``dataset_id`` is only filled when empty (stored content is never
    overwritten): it names the lock the trace was promoted into.

    Raises:
        CandidateStateError: a candidate is no longer accepted (someone else changed it).
    """
    trace_ids: list[str] = []
    for candidate_id, case_id in promoted:
        result = conn.execute(
            update(candidates)
            .where(candidates.c.candidate_id == candidate_id, candidates.c.state == "accepted")
            .values(
                state="promoted",
                case_id=case_id,
                promoted_to=promoted_to,
                dataset_id=dataset_id,
                updated_at=at,
            )
        )
        if result.rowcount != 1:
            raise CandidateStateError(
                f"candidate {candidate_id!r} is no longer accepted; nothing promoted"
            )
        stored = conn.execute(
            select(candidates.c.trace_ids).where(candidates.c.candidate_id == candidate_id)
        ).scalar_one()
        trace_ids.extend(stored)
    for start in range(0, len(trace_ids), _IN_CHUNK):
        chunk = trace_ids[start : start + _IN_CHUNK]
        conn.execute(
            update(traces)
            .where(traces.c.trace_id.in_(chunk), traces.c.dataset_id.is_(None))
            .values(dataset_id=dataset_id)
        )
    if events:
        conn.execute(candidate_events.insert(), [_event_row(e) for e in events])
