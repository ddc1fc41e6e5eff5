"""The run store: the parts of :class:`evallock.store.Store` the runner uses, as Protocols.

The batch writer appends records and cache entries (:class:`RecordSink`), the
caches read entries (:class:`CacheStore`), results are read back a block of
cases at a time (:class:`ResultStore`), and a run needs all of it plus what a
resume looks up (:class:`RunStore`). The store satisfies each of them; a test
can hand in anything with the same methods.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from evallock.records import EvalRecord

__all__ = [
    "CacheReader",
    "CacheStore",
    "CacheWriter",
    "RecordReader",
    "RecordSink",
    "RecordWriter",
    "ResultStore",
    "RunCache",
    "RunRecords",
    "RunStore",
]


class RecordWriter(Protocol):
    """``store.runs`` as the batch writer uses it."""

    def add_records(self, records: Sequence[EvalRecord]) -> None: ...


class CacheWriter(Protocol):
    """``store.cache`` as the batch writer uses it."""

    def put(self, namespace: str, items: Sequence[tuple[str, dict[str, Any]]]) -> None: ...


class CacheReader(Protocol):
    """``store.cache`` as the judge and target caches read it."""

    def get(self, namespace: str, key: str) -> dict[str, Any] | None: ...


class RecordReader(Protocol):
    """``store.runs`` as results are read back."""

    def records_of_cases(self, run_id: str, case_ids: Sequence[str]) -> list[EvalRecord]: ...


class RunRecords(RecordWriter, Protocol):
    """``store.runs`` as a run uses it: records written, and counted on a resume."""

    def count_records(self, run_id: str) -> int: ...

    def completed_trials(
        self, run_id: str, case_ids: Sequence[str] | None = ...
    ) -> set[tuple[str, int]]: ...


class RunCache(CacheReader, CacheWriter, Protocol):
    """``store.cache`` as a run uses it: read and written."""


class RecordSink(Protocol):
    """What the batch writer writes to."""

    @property
    def runs(self) -> RecordWriter:
        """Where records go."""
        ...

    @property
    def cache(self) -> CacheWriter:
        """Where cache entries go."""
        ...


class CacheStore(Protocol):
    """What the judge and target caches read."""

    @property
    def cache(self) -> CacheReader:
        """The cache."""
        ...


class ResultStore(Protocol):
    """What a run's results are read back from."""

    @property
    def runs(self) -> RecordReader:
        """The runs and their records."""
        ...


class RunStore(Protocol):
    """What a run writes to and resumes from."""

    @property
    def runs(self) -> RunRecords:
        """The runs and their records."""
        ...

    @property
    def cache(self) -> RunCache:
        """The judge and target cache."""
        ...


if TYPE_CHECKING:
    from evallock.store import Store

    def _store_conforms(store: Store) -> tuple[RunStore, ResultStore]:
        """Checked by mypy only: the store has every method this package calls."""
        return store, store
