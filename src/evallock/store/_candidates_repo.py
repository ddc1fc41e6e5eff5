"""The candidate repository (``store.candidates``): proposed eval cases and their review.

What a signal puts forward (``_signals.py``), the candidates made of it, their
compare-and-set reviews and promotion, and the append-only audit trail
(``_candidates.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from evallock.records import Candidate, CandidateEvent, Signal, SignalKind
from evallock.store import _candidates, _signals
from evallock.store._candidates import CandidatePosition
from evallock.store._database import Database, check_aware, check_page, check_window
from evallock.times import utc_now

__all__ = ["CandidateRepository"]


class CandidateRepository:
    """Candidates for the golden set, from signal to promotion."""

    def __init__(self, db: Database) -> None:
        """Work on ``db``."""
        self._db = db

    def signals(
        self,
        kinds: Sequence[SignalKind],
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        max_judge_score: int = 2,
    ) -> list[Signal]:
        """Traces a signal puts forward (thumbs-down …) that no candidate holds yet."""
        check_window(since, until)
        with self._db.read("cannot read candidate signals") as conn:
            return _signals.candidate_signals(
                conn, kinds, since=since, until=until, max_judge_score=max_judge_score
            )

    def add(
        self,
        new: Sequence[Candidate],
        merges: Mapping[str, Sequence[str]],
        events: Sequence[CandidateEvent],
    ) -> None:
        """Store new candidates and traces merged into existing ones, in one transaction.

        Raises:
            StoreError: a trace is behind a candidate already, or the write failed.
        """
        if not new and not merges:
            return
        with self._db.write("cannot store candidates") as conn:
            _candidates.add_candidates(conn, new, merges, events, utc_now())

    def find(
        self,
        *,
        states: Sequence[str] | None = None,
        limit: int | None = 100,
        offset: int = 0,
        after: CandidatePosition | None = None,
    ) -> list[Candidate]:
        """Candidates in these states (all when None), most traces first.

        ``after``, the position of the last candidate of a page, starts the next page.

        Raises:
            ValueError: a limit or offset that is negative or past ``2**31 - 1``, or a
                naive time in ``after``.
        """
        check_page(0 if limit is None else limit, offset)
        if after is not None:
            check_aware("after.created_at", after.created_at)
        with self._db.read("cannot list candidates") as conn:
            return _candidates.list_candidates(
                conn, states=states, limit=limit, offset=offset, after=after
            )

    def get(self, candidate_id: str) -> Candidate | None:
        """The candidate with this id or unique id prefix, or None.

        Raises:
            UsageError: the prefix names more than one candidate.
        """
        with self._db.read(f"cannot read candidate {candidate_id!r}") as conn:
            return _candidates.find_candidate(conn, candidate_id)

    def events(self, candidate_id: str) -> list[CandidateEvent]:
        """A candidate's audit trail, oldest first."""
        with self._db.read(f"cannot read events of candidate {candidate_id!r}") as conn:
            return _candidates.candidate_events_of(conn, candidate_id)

    def transition(
        self,
        candidate_id: str,
        *,
        from_states: Sequence[str],
        changes: Mapping[str, Any],
        event: CandidateEvent,
    ) -> Candidate | None:
        """Change a candidate that is in one of ``from_states`` and log the event; else None.

        Raises:
            FieldLimitError: ``expected``, ``note``, the event's ``reason`` … past its
                limit (see :func:`evallock.store._candidates.check_review`); nothing written.
            StoreError: the write failed.
        """
        _candidates.check_review(changes, event)
        with self._db.write(f"cannot update candidate {candidate_id!r}") as conn:
            return _candidates.transition_candidate(
                conn, candidate_id, from_states=from_states, changes=changes, event=event
            )

    def mark_promoted(
        self,
        promoted: Sequence[tuple[str, str]],
        *,
        promoted_to: str,
        dataset_id: str,
        events: Sequence[CandidateEvent],
    ) -> None:
        """Mark ``(candidate_id, case_id)`` pairs promoted, all or none.

        Raises:
            CandidateStateError: a candidate is no longer accepted.
            StoreError: the write failed.
        """
        with self._db.write("cannot mark candidates promoted") as conn:
            _candidates.mark_promoted(
                conn,
                promoted,
                promoted_to=promoted_to,
                dataset_id=dataset_id,
                events=events,
                at=utc_now(),
            )
