"""The candidate store: the part of :class:`evallock.store.Store` the feedback loop uses.

Proposal, review and promotion reach the store only through these Protocols, so
the store never has to know this package (it is the bottom layer) and a test can
hand in anything with the same methods.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from evallock.records import Candidate, CandidateEvent, Signal, SignalKind

if TYPE_CHECKING:
    from evallock.store import CandidatePosition

__all__ = ["CandidateStore", "Candidates"]


class Candidates(Protocol):
    """``store.candidates``: the candidate repository's methods this package calls."""

    def signals(
        self,
        kinds: Sequence[SignalKind],
        *,
        since: datetime | None = ...,
        until: datetime | None = ...,
        max_judge_score: int = ...,
    ) -> list[Signal]: ...

    def add(
        self,
        new: Sequence[Candidate],
        merges: Mapping[str, Sequence[str]],
        events: Sequence[CandidateEvent],
    ) -> None: ...

    def find(
        self,
        *,
        states: Sequence[str] | None = ...,
        limit: int | None = ...,
        offset: int = ...,
        after: CandidatePosition | None = ...,
    ) -> list[Candidate]: ...

    def get(self, candidate_id: str) -> Candidate | None: ...

    def events(self, candidate_id: str) -> list[CandidateEvent]: ...

    def transition(
        self,
        candidate_id: str,
        *,
        from_states: Sequence[str],
        changes: Mapping[str, Any],
        event: CandidateEvent,
    ) -> Candidate | None: ...

    def mark_promoted(
        self,
        promoted: Sequence[tuple[str, str]],
        *,
        promoted_to: str,
        dataset_id: str,
        events: Sequence[CandidateEvent],
    ) -> None: ...


class CandidateStore(Protocol):
    """A store with candidates, named by its URL in errors."""

    @property
    def url(self) -> str:
        """The store's URL, password masked."""
        ...

    @property
    def candidates(self) -> Candidates:
        """Its candidate repository."""
        ...


if TYPE_CHECKING:
    from evallock.store import Store

    def _store_conforms(store: Store) -> CandidateStore:
        """Checked by mypy only: the store has every method this package calls."""
        return store
