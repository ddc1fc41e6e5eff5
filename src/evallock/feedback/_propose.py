"""Proposal: turn signalled traces into candidates, merging near-duplicates.

Signals come from the store (thumbs-downs, low judge scores, errors, empty
answers) for traces that no candidate holds yet, so proposing twice adds
nothing. Each signalled trace joins the first candidate — existing or new — that
has the same task keys and a near-duplicate input; otherwise it starts a new
one. A candidate whose input is a near-duplicate of a golden case is marked
``duplicate_of`` that case: the golden set already asks the question (check why
it did not catch the bug before promoting another copy).

A thumbs-down on a whole session (feedback with ``session_id``) proposes the
conversation as a multi-turn candidate (``_session.py``): its first user turn is the
input, the follow-up turns, tool results and tool definitions come with it. Such a
candidate is one per session: a second rating of the session joins it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from evallock.errors import UsageError
from evallock.feedback._candidate_store import CandidateStore
from evallock.feedback._caseline import CASE_KEYS
from evallock.feedback._dedupe import JACCARD_THRESHOLD, Embedder, NearDuplicateIndex, signature_of
from evallock.feedback._session import session_case
from evallock.records import BAD_SCORE, Candidate, CandidateEvent, Case, Signal, SignalKind, Trace

__all__ = ["ProposalPlan", "case_text", "plan_proposals", "propose_candidates", "task_keys"]


def task_keys(keys: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """The task keys of a trace or case (intent, customer_tier …), as a hashable group."""
    return tuple((k, keys[k]) for k in CASE_KEYS if keys.get(k))


def case_text(case: Case) -> str:
    """A case's input as text: the string, or its last user message."""
    if isinstance(case.input, str):
        return case.input
    for message in reversed(case.input):
        if message.get("role") == "user" and isinstance(message.get("content"), str):
            return str(message["content"])
    return ""


@dataclass(frozen=True, kw_only=True, slots=True)
class ProposalPlan:
    """What a proposal changes: new candidates and traces merged into existing ones."""

    new: tuple[Candidate, ...] = ()
    """Candidates to create."""
    merges: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Existing candidate id → trace ids to add to it."""
    signals: int = 0
    """How many signalled traces were considered."""

    @property
    def traces_added(self) -> int:
        """Traces behind new candidates plus traces merged into existing ones."""
        return sum(c.trace_count for c in self.new) + sum(len(t) for t in self.merges.values())


def _subsets(group: tuple[tuple[str, str], ...]) -> list[tuple[tuple[str, str], ...]]:
    """Every sub-tuple of the task keys, largest first: a golden case covers a trace
    when each task key the case has equals the trace's (one without keys covers all)."""
    found = [
        tuple(item for bit, item in enumerate(group) if mask >> bit & 1)
        for mask in range(2 ** len(group))
    ]
    return sorted(found, key=len, reverse=True)


def _new_id(trace_id: str, taken: set[str]) -> str:
    for width in (8, 12, 16, 32):
        ident = trace_id[:width]
        if ident not in taken:
            return ident
    n = 2
    while f"{trace_id}-{n}" in taken:
        n += 1
    return f"{trace_id}-{n}"


def plan_proposals(
    signals: Sequence[Signal],
    existing: Sequence[Candidate],
    golden: Sequence[Case] = (),
    *,
    threshold: float = JACCARD_THRESHOLD,
    embedder: Embedder | None = None,
    now: datetime | None = None,
) -> ProposalPlan:
    """Cluster signalled traces into new candidates or merges into existing ones (pure).

    Args:
        signals: traces put forward, oldest first; none of them is behind a candidate.
        existing: every stored candidate (any state: a rejected one absorbs its repeats).
        golden: the golden set's cases, to mark near-duplicates of them.
        threshold: Jaccard threshold for near-duplicates.
        embedder: compare embeddings too, when given.
        now: the creation time of new candidates.
    """
    now = now or datetime.now(UTC)
    index = NearDuplicateIndex(threshold=threshold, embedder=embedder)
    golden_index = NearDuplicateIndex(threshold=threshold, embedder=embedder)
    index.prepare([c.input for c in existing] + [s.input for s in signals])
    golden_index.prepare([case_text(c) for c in golden])
    for candidate in existing:
        if candidate.conversation is None:  # a conversation is not one question
            index.add(candidate.candidate_id, candidate.input, task_keys(candidate.keys))
    for case in golden:
        golden_index.add(case.id, case_text(case), task_keys(case.keys))
    taken = {c.candidate_id for c in existing}
    existing_ids = set(taken)
    fresh: dict[str, dict[str, Any]] = {}
    merges: dict[str, list[str]] = {}
    by_session = {
        c.conversation.session_id: c.candidate_id for c in existing if c.conversation is not None
    }
    for signal in signals:
        made = session_case(signal.session_id, signal.session) if signal.session_id else None
        if signal.session_id and made is None:
            continue  # a session with no user turn in it: nothing to make a case of
        if made is not None:
            owner = by_session.get(made.conversation.session_id)
            if owner in existing_ids:
                merges.setdefault(owner, []).append(signal.trace_id)
            elif owner is not None:
                fresh[owner]["trace_ids"].append(signal.trace_id)
                fresh[owner]["signals"].append(signal)
            else:
                ident = _new_id(signal.trace_id, taken)
                taken.add(ident)
                by_session[made.conversation.session_id] = ident
                fresh[ident] = {
                    "signals": [signal],
                    "trace_ids": [signal.trace_id],
                    "dup": None,
                    "session": made,
                }
            continue
        group = task_keys(signal.keys)
        match = index.find(signal.input, group)
        if match is not None and match in existing_ids:
            merges.setdefault(match, []).append(signal.trace_id)
            continue
        if match is not None:
            fresh[match]["trace_ids"].append(signal.trace_id)
            fresh[match]["signals"].append(signal)
            continue
        ident = _new_id(signal.trace_id, taken)
        taken.add(ident)
        index.add(ident, signal.input, group)
        duplicate_of = next(
            (
                found
                for subset in _subsets(group)
                if (found := golden_index.find(signal.input, subset)) is not None
            ),
            None,
        )
        fresh[ident] = {
            "signals": [signal],
            "trace_ids": [signal.trace_id],
            "dup": duplicate_of,
        }
    new = tuple(_candidate(ident, item, now) for ident, item in _newest_first(fresh, taken))
    return ProposalPlan(
        new=new, merges={k: tuple(v) for k, v in merges.items()}, signals=len(signals)
    )


def _newest_first(
    fresh: dict[str, dict[str, Any]], taken: set[str]
) -> list[tuple[str, dict[str, Any]]]:
    """Make each new cluster's newest trace its representative (and name it after it).

    Signals come oldest first; after a deploy the newest complaint shows what the
    service does *now*, while the oldest may be noise from the version before.
    """
    done: list[tuple[str, dict[str, Any]]] = []
    for ident, item in fresh.items():
        trace_ids = item["trace_ids"]
        newest = item["signals"][-1]
        if newest.trace_id != trace_ids[0]:
            taken.discard(ident)
            ident = _new_id(newest.trace_id, taken)
            taken.add(ident)
            trace_ids = [newest.trace_id, *(t for t in trace_ids if t != newest.trace_id)]
        done.append((ident, {**item, "signal": newest, "trace_ids": trace_ids}))
    return done


def _candidate(ident: str, item: dict[str, Any], now: datetime) -> Candidate:
    signal, made = item["signal"], item.get("session")
    text = made.input if made is not None else signal.input
    return Candidate(
        candidate_id=ident,
        created_at=now,
        updated_at=now,
        state="pending",
        trace_ids=tuple(item["trace_ids"]),
        input=text,
        output=made.output if made is not None else signal.output,
        keys=dict(signal.keys),
        vars=dict(signal.vars),
        reason=signal.reason,
        signature=signature_of(text),
        duplicate_of=item["dup"],
        conversation=made.conversation if made is not None else None,
    )


def propose_candidates(
    store: CandidateStore,
    *,
    kinds: Sequence[SignalKind] = ("thumbs-down",),
    since: datetime | None = None,
    until: datetime | None = None,
    golden: Sequence[Case] = (),
    max_judge_score: int = BAD_SCORE,
    threshold: float = JACCARD_THRESHOLD,
    embedder: Embedder | None = None,
    actor: str,
) -> ProposalPlan:
    """Create and merge candidates from the store's signals; returns what was done.

    Idempotent: a trace already behind a candidate is not read again.
    """
    signals = store.candidates.signals(
        kinds, since=since, until=until, max_judge_score=max_judge_score
    )
    existing = store.candidates.find(limit=None)
    now = datetime.now(UTC)
    plan = plan_proposals(
        signals, existing, golden, threshold=threshold, embedder=embedder, now=now
    )
    _record(store, plan, now, actor)
    return plan


def propose_trace(store: CandidateStore, trace: Trace, *, reason: str, actor: str) -> ProposalPlan:
    """Put one trace forward as a candidate because a person chose it (``reviewer``).

    It joins a pending candidate that asks the same (as proposals from signals do), and
    a trace already behind a candidate is left where it is (an empty plan).

    Raises:
        UsageError: the trace has no input to make a case of.
    """
    existing = store.candidates.find(limit=None)
    if any(trace.trace_id in c.trace_ids for c in existing):
        return ProposalPlan()
    text = trace.input or next(
        (m.get("content") for m in reversed(trace.messages or []) if m.get("role") == "user"),
        None,
    )
    if not isinstance(text, str) or not text.strip():
        raise UsageError(f"trace {trace.trace_id} has no input to make a case of")
    signal = Signal(
        trace_id=trace.trace_id,
        timestamp=trace.timestamp,
        kinds=("reviewer",),
        reason=reason,
        input=text,
        output=trace.output,
        keys=dict(trace.keys),
        vars=dict(trace.vars),
    )
    now = datetime.now(UTC)
    plan = plan_proposals([signal], existing, now=now)
    _record(store, plan, now, actor)
    return plan


def _record(store: CandidateStore, plan: ProposalPlan, now: datetime, actor: str) -> None:
    """Store a plan's new and merged candidates with their audit events."""
    events = [
        CandidateEvent(
            candidate_id=c.candidate_id,
            at=now,
            actor=actor,
            action="proposed",
            detail={
                "reason": c.reason,
                "trace_ids": list(c.trace_ids),
                **({"duplicate_of": c.duplicate_of} if c.duplicate_of else {}),
            },
        )
        for c in plan.new
    ]
    events += [
        CandidateEvent(
            candidate_id=candidate_id,
            at=now,
            actor=actor,
            action="merged",
            detail={"trace_ids": list(trace_ids)},
        )
        for candidate_id, trace_ids in sorted(plan.merges.items())
    ]
    store.candidates.add(plan.new, plan.merges, events)
