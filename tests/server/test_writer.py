"""The group-commit writer: many requests per transaction, each answered only after its commit."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from evallock.records import Feedback, Trace
from evallock.server._metrics import Metrics
from evallock.server._writer import GroupCommitWriter, StoreSink, WriterBusy, WriterClosed
from evallock.store import Store
from evallock.times import utc_now
from evallock.traces import new_trace_id


def trace(text: str = "hello") -> Trace:
    return Trace(trace_id=new_trace_id(), timestamp=utc_now(), input=text, output="ok")


class Spy:
    """A store wrapper that counts transactions, can be slowed, and fails on a poisoned input."""

    def __init__(self, store: Store, delay: float = 0.0) -> None:
        self.store = store
        self.delay = delay
        self.calls: list[int] = []
        self.gate = threading.Event()
        self.gate.set()

    def add_traces(self, traces: list[Trace], spans: dict[str, str]) -> int:
        self.gate.wait()
        time.sleep(self.delay)
        if any(t.input == "poison" for t in traces):
            raise RuntimeError("poisoned row")
        self.calls.append(len(traces))
        return self.store.traces.add(traces)

    def add_feedback(self, items: list[Feedback]) -> int:
        return self.store.feedback.add(items)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_concurrent_writes_share_transactions_and_return_after_commit(store: Store) -> None:
    spy = Spy(store, delay=0.01)
    metrics = Metrics()

    async def main() -> None:
        writer = GroupCommitWriter(spy, metrics=metrics, max_rows=1000, linger_s=0.002)
        await writer.start()

        async def one(i: int) -> None:
            item = trace(f"request {i}")
            await writer.write(traces=[item])
            # Committed before write() returned: another connection sees it.
            assert store.traces.get(item.trace_id) is not None

        await asyncio.gather(*(one(i) for i in range(60)))
        await writer.close()

    run(main())
    assert sum(spy.calls) == 60
    assert len(spy.calls) < 30, spy.calls  # grouped, not one transaction per request
    assert metrics.traces_written == 60
    assert metrics.batches_committed == len(spy.calls)


def test_a_bad_request_fails_alone(store: Store) -> None:
    spy = Spy(store)
    metrics = Metrics()
    good = [trace(f"good {i}") for i in range(5)]
    bad = trace("poison")

    async def main() -> list[Any]:
        writer = GroupCommitWriter(spy, metrics=metrics, linger_s=0.02)
        await writer.start()
        results = await asyncio.gather(
            *(writer.write(traces=[t]) for t in [*good[:2], bad, *good[2:]]),
            return_exceptions=True,
        )
        await writer.close()
        return results

    results = run(main())
    assert [r is None for r in results] == [True, True, False, True, True, True]
    assert "poisoned row" in str(results[2])
    assert all(store.traces.get(t.trace_id) is not None for t in good)
    assert store.traces.get(bad.trace_id) is None
    assert metrics.commit_failures >= 1


def test_backpressure_and_shutdown(store: Store) -> None:
    spy = Spy(store)
    spy.gate.clear()  # the store hangs until released

    async def main() -> None:
        writer = GroupCommitWriter(spy, metrics=Metrics(), max_pending_rows=10, linger_s=0)
        await writer.start()
        first = writer.submit(traces=[trace()])  # taken by the writer, stuck in the store
        await asyncio.sleep(0.05)
        waiting = writer.submit(traces=[trace() for _ in range(8)])
        assert writer.pending_rows == 8
        with pytest.raises(WriterBusy):
            writer.submit(traces=[trace() for _ in range(5)])
        spy.gate.set()
        await first
        await waiting
        closing = asyncio.ensure_future(writer.close())
        await asyncio.sleep(0)
        with pytest.raises(WriterClosed):
            writer.submit(traces=[trace()])
        await closing

    run(main())
    assert sum(spy.calls) == 9


def test_close_commits_what_is_queued(store: Store) -> None:
    items = [trace(f"late {i}") for i in range(20)]

    async def main() -> None:
        writer = GroupCommitWriter(StoreSink(store), metrics=Metrics(), linger_s=0.5)
        await writer.start()
        futures = [writer.submit(traces=[t]) for t in items]
        await writer.close()
        assert all(f.done() and f.exception() is None for f in futures)

    run(main())
    assert all(store.traces.get(t.trace_id) is not None for t in items)


def test_feedback_and_traces_in_one_request(store: Store) -> None:
    item = trace()
    rating = Feedback(feedback_id="fb-1", trace_id=item.trace_id, rating="down", score=0.0)

    async def main() -> None:
        writer = GroupCommitWriter(StoreSink(store), metrics=Metrics())
        await writer.start()
        await writer.write(traces=[item], feedback=[rating])
        await writer.write()  # nothing to write: returns at once
        await writer.close()

    run(main())
    assert [f.feedback_id for f in store.feedback.find(trace_id=item.trace_id)] == ["fb-1"]
