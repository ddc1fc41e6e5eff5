"""The run session: create → execute → finish → close, once for `run` and `ab` alike."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import anyio
import pytest

from evallock.errors import TargetError
from evallock.records import Case, Run
from evallock.runner import RetryPolicy, RunOptions
from evallock.session import RunSession, TargetSpec
from evallock.store import Store

FAST = RunOptions(concurrency=2, timeout=2.0, retry=RetryPolicy(retries=0, base=0.01, cap=0.01))


def _run(run_id: str) -> Run:
    return Run(
        run_id=run_id,
        dataset_id="golden@abc",
        dataset_name="golden",
        target_id="t",
        started_at=datetime.now(UTC),
        keys={"prompt_version": run_id},
    )


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


CASES = [Case(id=f"c{i}", input=f"question {i}", expected="x") for i in range(3)]


def test_two_arms_run_complete_and_every_provider_is_closed(store: Store, fake_service) -> None:
    target = TargetSpec(base_url=fake_service.base_url, model="support-bot")

    async def scenario() -> tuple[RunSession, list[Run]]:
        async with RunSession(store, options=FAST) as session:
            runs = [_run("ab-a"), _run("ab-b")]
            for run in runs:
                session.add_arm(run, target)
            stats = await session.execute(CASES)
            assert stats.asked == 2 * len(CASES) and stats.target_errors == 0
            finished = [session.finish(run) for run in runs]
        return session, finished

    session, finished = anyio.run(scenario)
    assert [run.status for run in finished] == ["complete", "complete"]
    for run in finished:
        stored = store.runs.get(run.run_id)
        assert stored is not None and stored.status == "complete"
        assert store.runs.count_records(run.run_id) == len(CASES)
    assert session.closed


def test_a_run_that_fails_is_marked_interrupted_and_its_providers_closed(store: Store) -> None:
    dead = TargetSpec(base_url=f"http://127.0.0.1:{_closed_port()}/v1", model="m")

    async def scenario(holder: list[RunSession]) -> None:
        async with RunSession(store, options=FAST) as session:
            holder.append(session)
            session.add_arm(_run("dead-a"), dead)
            session.add_arm(_run("dead-b"), dead)
            await session.execute(CASES)

    holder: list[RunSession] = []
    with pytest.raises(TargetError):
        anyio.run(scenario, holder)
    for run_id in ("dead-a", "dead-b"):
        stored = store.runs.get(run_id)
        assert stored is not None and stored.status == "interrupted"
    assert holder[0].closed


def test_a_run_left_unfinished_is_interrupted_even_without_an_error(store: Store) -> None:
    target = TargetSpec(python="tests.test_session:echo")

    async def scenario() -> None:
        async with RunSession(store, options=FAST) as session:
            done, forgotten = _run("done"), _run("forgotten")
            session.add_arm(done, target)
            session.add_arm(forgotten, target)
            await session.execute(CASES)
            session.finish(done)

    anyio.run(scenario)
    assert store.runs.get("done").status == "complete"
    assert store.runs.get("forgotten").status == "interrupted"


def echo(messages: object) -> str:
    """A Python-callable target for the tests above."""
    return "an answer"
