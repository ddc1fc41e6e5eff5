"""Batched store writes: records and cache entries, flushed together in one transaction each."""

from __future__ import annotations

import time
from typing import Any

from evallock.records import EvalRecord
from evallock.runner._run_store import RecordSink

__all__ = ["BatchWriter"]


class BatchWriter:
    """Buffers records and cache entries; flushes every ``batch`` records or ``interval`` s.

    A flush is a synchronous store call on the event loop: one transaction of a few
    hundred rows costs a few milliseconds, less than handing it to a thread would.
    """

    def __init__(self, sink: RecordSink, *, batch: int = 256, interval: float = 0.5) -> None:
        self._sink = sink
        self._batch = batch
        self._interval = interval
        self._records: list[EvalRecord] = []
        self._cache: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        self._last = time.monotonic()
        self.written = 0
        """Records committed so far."""

    def add(self, record: EvalRecord) -> None:
        """Queue a record; flush when the batch is full or old enough."""
        self._records.append(record)
        if len(self._records) >= self._batch or time.monotonic() - self._last >= self._interval:
            self.flush()

    def cache(self, namespace: str, key: str, value: dict[str, Any]) -> None:
        """Queue a cache entry; it is written with the next flush."""
        self._cache.setdefault(namespace, []).append((key, value))

    def flush(self) -> None:
        """Write everything queued. Cache entries go first: a record never points at a lost one."""
        for namespace, items in self._cache.items():
            if items:
                self._sink.cache.put(namespace, items)
        self._cache.clear()
        if self._records:
            records, self._records = self._records, []
            self._sink.runs.add_records(records)
            self.written += len(records)
        self._last = time.monotonic()
