"""The writer: one thread commits every trace and feedback row, in group commits.

A request hands its rows to :meth:`GroupCommitWriter.write` and waits; the
writer takes everything queued (up to ``max_rows``), commits it in one
transaction on its own thread, and only then wakes the requests whose rows were
in it. So a 2xx still means *committed*, while under load one transaction
carries the rows of many requests. When the writer was idle it lingers a couple
of milliseconds for company; when a commit was running, the next batch has
formed by the time it ends and goes at once.

A failed batch is retried one request at a time, so one bad request fails
alone. Past ``max_pending_rows`` waiting rows the writer refuses more
(:class:`WriterBusy`, answered 503 with ``Retry-After``) instead of growing
without bound. The recording proxy uses :meth:`GroupCommitWriter.submit` and
does not wait: its answer never depends on the store.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from evallock.records import Feedback, Trace
from evallock.server._metrics import Metrics

if TYPE_CHECKING:
    from evallock.store import Store

__all__ = ["GroupCommitWriter", "StoreSink", "TraceSink", "WriterBusy", "WriterClosed"]

_log = logging.getLogger("evallock.server")


class TraceSink(Protocol):
    """The part of the store the writer needs."""

    def add_traces(self, traces: list[Trace], spans: dict[str, str]) -> int: ...

    def add_feedback(self, items: list[Feedback]) -> int: ...


class StoreSink:
    """The store as a :class:`TraceSink`: its trace and feedback repositories."""

    def __init__(self, store: Store, *, evaluate: bool | Callable[[str], bool] = False) -> None:
        """Write to ``store.traces`` and ``store.feedback``; with ``evaluate`` (True, or a
        test of the trace id), new trace ids also go into the online evaluators' inbox, in
        the same transaction."""
        self._traces = store.traces
        self._feedback = store.feedback
        self._evaluate = evaluate

    def add_traces(self, traces: list[Trace], spans: dict[str, str]) -> int:
        """``store.traces.add``: one transaction; how many trace ids were new."""
        return self._traces.add(traces, spans=spans, evaluate=self._evaluate)

    def add_feedback(self, items: list[Feedback]) -> int:
        """``store.feedback.add``: one transaction; how many items were new."""
        return self._feedback.add(items)


class WriterBusy(Exception):
    """Too many rows are waiting for the writer; try again shortly."""


class WriterClosed(Exception):
    """The writer is shutting down and takes no more rows."""


@dataclass(slots=True)
class _Pending:
    traces: list[Trace]
    feedback: list[Feedback]
    spans: Mapping[str, str]
    future: asyncio.Future[None]

    @property
    def rows(self) -> int:
        return len(self.traces) + len(self.feedback)


class GroupCommitWriter:
    """Commits rows for many requests at once; each request learns when its rows are durable.

    Args:
        sink: where rows go (:class:`StoreSink` over the store), one transaction a call.
        metrics: counters to update.
        max_rows: most rows in one transaction.
        linger_s: wait this long for more rows when a request finds the writer idle.
        max_pending_rows: refuse rows beyond this many waiting.
    """

    def __init__(
        self,
        sink: TraceSink,
        *,
        metrics: Metrics,
        max_rows: int = 5000,
        linger_s: float = 0.002,
        max_pending_rows: int = 200_000,
    ) -> None:
        self._sink = sink
        self._metrics = metrics
        self._max_rows = max(1, max_rows)
        self._linger_s = max(0.0, linger_s)
        self._max_pending_rows = max_pending_rows
        self._queue: deque[_Pending] = deque()
        self._pending_rows = 0
        self._wakeup = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        # One thread: the store sees a single writer, so SQLite never queues writers.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evallock-writer")

    @property
    def pending_rows(self) -> int:
        """Rows waiting for a commit (not counting a batch being committed)."""
        return self._pending_rows

    @property
    def running(self) -> bool:
        """True while the writer takes rows."""
        return self._task is not None and not self._task.done() and not self._closing

    async def start(self) -> None:
        """Start the writer's loop on the running event loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="evallock-writer")

    async def close(self) -> None:
        """Commit everything queued, then stop; later writes raise :class:`WriterClosed`."""
        self._closing = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
        self._executor.shutdown(wait=True)

    def submit(
        self,
        *,
        traces: Sequence[Trace] = (),
        feedback: Sequence[Feedback] = (),
        spans: Mapping[str, str] | None = None,
    ) -> asyncio.Future[None]:
        """Queue rows and return a future that resolves once they are committed.

        ``spans`` (span id → trace id) are filed with the traces, in their transaction.

        Raises:
            WriterClosed: the writer is stopping.
            WriterBusy: too many rows are waiting already.
        """
        if self._closing or self._task is None:
            raise WriterClosed("the writer is shutting down")
        future = asyncio.get_running_loop().create_future()
        item = _Pending(list(traces), list(feedback), spans or {}, future)
        if self._pending_rows and self._pending_rows + item.rows > self._max_pending_rows:
            raise WriterBusy(f"{self._pending_rows} rows are waiting to be written")
        item.future.add_done_callback(_retrieve)
        self._queue.append(item)
        self._pending_rows += item.rows
        self._wakeup.set()
        return item.future

    async def write(
        self,
        *,
        traces: Sequence[Trace] = (),
        feedback: Sequence[Feedback] = (),
        spans: Mapping[str, str] | None = None,
    ) -> None:
        """Queue rows and wait until they are committed.

        A cancelled caller (a client that hung up) does not cancel the write.

        Raises:
            WriterClosed: the writer is stopping.
            WriterBusy: too many rows are waiting already.
            Exception: whatever the store raised for this request's rows.
        """
        if not traces and not feedback:
            return
        await asyncio.shield(self.submit(traces=traces, feedback=feedback, spans=spans))

    async def _run(self) -> None:
        while True:
            if not self._queue:
                if self._closing:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                if self._linger_s and not self._closing and self._pending_rows < self._max_rows:
                    await asyncio.sleep(self._linger_s)
                continue
            await self._commit(self._take())

    def _take(self) -> list[_Pending]:
        batch = [self._queue.popleft()]
        rows = batch[0].rows
        while self._queue and rows + self._queue[0].rows <= self._max_rows:
            item = self._queue.popleft()
            batch.append(item)
            rows += item.rows
        self._pending_rows -= rows
        return batch

    async def _commit(self, batch: list[_Pending]) -> None:
        traces = [t for item in batch for t in item.traces]
        feedback = [f for item in batch for f in item.feedback]
        spans = {s: t for item in batch for s, t in item.spans.items()}
        loop = asyncio.get_running_loop()
        try:
            written = await loop.run_in_executor(
                self._executor, self._store, traces, feedback, spans
            )
        except Exception as exc:
            self._metrics.commit_failures += 1
            if len(batch) > 1:
                # Find the request that broke the batch: every other one still commits.
                for item in batch:
                    await self._commit([item])
                return
            _log.error("store write failed (%d rows): %s", batch[0].rows, exc)
            if not batch[0].future.done():
                batch[0].future.set_exception(exc)
            return
        self._metrics.batches_committed += 1
        self._metrics.traces_written += written[0]
        self._metrics.feedback_written += written[1]
        for item in batch:
            if not item.future.done():
                item.future.set_result(None)

    def _store(
        self, traces: list[Trace], feedback: list[Feedback], spans: dict[str, str]
    ) -> tuple[int, int]:
        wrote_traces = self._sink.add_traces(traces, spans) if traces else 0
        wrote_feedback = self._sink.add_feedback(feedback) if feedback else 0
        return wrote_traces, wrote_feedback


def _retrieve(future: asyncio.Future[None]) -> None:
    # Mark the exception as seen: a caller that hung up no longer awaits it, and the
    # failure has been logged and counted already.
    if not future.cancelled():
        future.exception()
