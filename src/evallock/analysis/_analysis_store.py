"""The analysis store: the parts of :class:`evallock.store.Store` the analyses read, as Protocols.

History reads runs and their records; coverage reads trace slices and
complaints; compare reads both. The store satisfies each of them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from evallock.records import EvalRecord, Run

if TYPE_CHECKING:
    from evallock.store import Complaint, SliceCounts

__all__ = [
    "CoverageStore",
    "HistoryStore",
    "OfflineOnlineStore",
    "RunReader",
    "TraceSlicer",
]


class RunReader(Protocol):
    """``store.runs`` as the analyses read it."""

    def find(
        self,
        *,
        dataset_name: str | None = ...,
        status: str | None = ...,
        limit: int | None = ...,
    ) -> list[Run]: ...

    def iter_records(self, run_id: str) -> Iterator[EvalRecord]: ...

    def get(self, run_id: str) -> Run | None: ...


class TraceSlicer(Protocol):
    """``store.traces`` as the analyses read it: outcomes per slice, and complaints."""

    def slices(
        self, by: Sequence[str], *, since: datetime | None = ..., until: datetime | None = ...
    ) -> list[SliceCounts]: ...

    def complaints(
        self,
        *,
        since: datetime | None = ...,
        until: datetime | None = ...,
        max_judge_score: float = ...,
    ) -> list[Complaint]: ...


class HistoryStore(Protocol):
    """What run history reads: runs and their records."""

    @property
    def runs(self) -> RunReader:
        """The runs."""
        ...


class CoverageStore(Protocol):
    """What coverage reads: traces per slice and complaints."""

    @property
    def traces(self) -> TraceSlicer:
        """The traces."""
        ...


class OfflineOnlineStore(HistoryStore, CoverageStore, Protocol):
    """What offline ⋈ online reads: runs with their records, and traces per slice."""


if TYPE_CHECKING:
    from evallock.store import Store

    def _store_conforms(store: Store) -> OfflineOnlineStore:
        """Checked by mypy only: the store has every method this package calls."""
        return store
