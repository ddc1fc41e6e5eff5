"""Candidate records: a proposed eval case, its review events, and the signals behind it.

A *candidate* is a production trace (or a cluster of near-identical traces) that a
signal — a thumbs-down, a low judge score, an error, an empty answer — put forward
as a new eval case. A person reviews it: accepts it with the expected answer, or
rejects it with a reason; an accepted candidate is then promoted into the golden
set as a *lock*. Every change is an append-only :class:`CandidateEvent`::

    pending ──accept──► accepted ──promote──► promoted
       │  ▲                │ ▲
       │  └─────accept─────┘ │ accept (amend)
       └──reject──► rejected ┘
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

__all__ = [
    "CASE_KEYS",
    "SIGNAL_KINDS",
    "Candidate",
    "CandidateEvent",
    "CandidateState",
    "Signal",
    "SignalKind",
]

CandidateState = Literal["pending", "accepted", "rejected", "promoted"]
SignalKind = Literal["thumbs-down", "low-judge-score", "error", "empty-output"]

SIGNAL_KINDS: tuple[SignalKind, ...] = ("thumbs-down", "low-judge-score", "error", "empty-output")
"""Every signal that can propose a candidate, in the order their reasons are preferred."""

CASE_KEYS: tuple[str, ...] = ("intent", "customer_tier", "feature", "language")
"""The shared keys that describe the *task*, copied from a trace to the case it becomes.

Version keys (prompt_version, model_version …) come from the run a case is run in;
a case that carried them would override the run's own (the case's keys win).
"""


@dataclass(frozen=True, kw_only=True, slots=True)
class Signal:
    """One trace that a signal put forward, with what is needed to make a case of it."""

    trace_id: str
    """The trace."""
    timestamp: datetime
    """When the request was made."""
    kinds: tuple[SignalKind, ...]
    """Every signal that fired on this trace."""
    reason: str
    """Why it was proposed, in one line (the first signal's reason)."""
    input: str
    """The user's message."""
    output: str | None = None
    """What the service answered."""
    keys: dict[str, str] = field(default_factory=dict)
    """The trace's keys."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Candidate:
    """A proposed eval case made from one or more near-identical production traces."""

    candidate_id: str
    """Short hex id (a prefix of the first trace's id, longer when that is taken)."""
    created_at: datetime
    """When it was proposed."""
    updated_at: datetime
    """When it last changed (a merge or a review)."""
    state: CandidateState
    """``pending``, ``accepted``, ``rejected`` or ``promoted``."""
    trace_ids: tuple[str, ...]
    """Every trace merged into it, the representative first."""
    input: str
    """The representative trace's input: the case's input."""
    output: str | None
    """What the service answered to it (the bad answer)."""
    keys: dict[str, str]
    """The representative trace's keys, version keys included."""
    reason: str
    """Why it was proposed."""
    signature: str
    """Normalised-text key of the input, for near-duplicate merging."""
    duplicate_of: str | None = None
    """The id of a golden case whose input is a near-duplicate of this one, if any."""
    expected: str | None = None
    """The reviewer's expected answer."""
    asserts: tuple[dict[str, Any], ...] = ()
    """The reviewer's assertion items, as a case file spells them."""
    vars: dict[str, Any] = field(default_factory=dict)
    """Template variables for the case (``plan: enterprise``)."""
    note: str | None = None
    """The reviewer's note (the bug the case guards), or the reason it was rejected."""
    case_id: str | None = None
    """The case id it was promoted as."""
    promoted_to: str | None = None
    """The case file it was promoted into."""
    dataset_id: str | None = None
    """The case file's dataset id after promotion."""

    @property
    def trace_id(self) -> str:
        """The representative trace."""
        return self.trace_ids[0]

    @property
    def trace_count(self) -> int:
        """How many traces are behind it."""
        return len(self.trace_ids)


@dataclass(frozen=True, kw_only=True, slots=True)
class CandidateEvent:
    """One entry of a candidate's audit trail: who did what, when."""

    candidate_id: str
    """The candidate."""
    at: datetime
    """When."""
    actor: str
    """Who: ``--actor``, ``$EVALLOCK_ACTOR`` or the OS user."""
    action: str
    """``proposed``, ``merged``, ``accepted``, ``rejected`` or ``promoted``."""
    detail: dict[str, Any] = field(default_factory=dict)
    """What changed (expected answer, reason, traces added, file …)."""
