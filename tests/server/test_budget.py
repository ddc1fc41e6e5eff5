"""The decode budget: concurrent big bodies past it answer 429 with Retry-After, never 500."""

from __future__ import annotations

import asyncio
import gzip
import threading
from typing import Any

import pytest

from evallock.errors import ConfigError
from evallock.server import ServerSettings
from evallock.server import _ingest as ingest
from evallock.server._budget import DecodeBudget
from evallock.server._errors import ApiError
from evallock.store import Store

from .conftest import asgi_client

KIB = 1024
JSON = {"Content-Type": "application/json"}


def padded(size: int) -> bytes:
    """An empty OTLP/JSON export request padded with whitespace to ``size`` bytes."""
    body = b'{"resourceSpans": []}'
    return body + b" " * (size - len(body))


class Gate:
    """Holds every OTLP decode until released, so requests overlap for sure."""

    def __init__(self) -> None:
        self.started = 0
        self.open = threading.Event()

    async def wait_until(self, check: Any) -> None:
        for _ in range(1000):
            if check():
                return
            await asyncio.sleep(0.01)
        raise AssertionError("the requests did not get there within 10 s")


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Gate:
    """Decoding waits at the gate (on its worker thread) until the test opens it."""
    real = ingest.decode_otlp_traces
    held = Gate()

    def gated(body: bytes, content_type: str) -> Any:
        held.started += 1
        assert held.open.wait(10)
        return real(body, content_type)

    monkeypatch.setattr(ingest, "decode_otlp_traces", gated)
    return held


def test_concurrent_big_bodies_past_the_budget_answer_429(
    store: Store, api_keys: dict[str, str], gate: Gate
) -> None:
    settings = {"max_body_bytes": 256 * KIB, "decode_budget_bytes": 512 * KIB}

    async def main() -> None:
        async with asgi_client(store, key=api_keys["ingest"], **settings) as client:
            body = padded(200 * KIB)
            tasks = [
                asyncio.create_task(client.post("/v1/traces", content=body, headers=JSON))
                for _ in range(6)
            ]
            # Two bodies fit the budget and wait at the gate; the other four are refused.
            # (an admitted body reaches the gate on a worker thread: under load, after the
            # refusals are back)
            await gate.wait_until(
                lambda: sum(task.done() for task in tasks) == 4 and gate.started == 2
            )
            gate.open.set()
            answers = await asyncio.gather(*tasks)
            statuses = sorted(answer.status_code for answer in answers)
            assert statuses == [200, 200, 429, 429, 429, 429]
            for answer in answers:
                if answer.status_code == 429:
                    assert answer.headers["retry-after"] == "1"
                    assert answer.json()["code"] == 8  # RESOURCE_EXHAUSTED: OTLP retries it
                    assert "retry" in answer.json()["message"]
            # A gzipped body holds its compressed and its decompressed bytes: both count.
            squeezed = gzip.compress(padded(200 * KIB))
            alone = await client.post(
                "/v1/traces", content=squeezed, headers={**JSON, "Content-Encoding": "gzip"}
            )
            assert alone.status_code == 200, alone.text
            # Once the others are done, the budget is whole again.
            after = await client.post("/v1/traces", content=body, headers=JSON)
            assert after.status_code == 200, after.text
            health = (await client.get("/healthz")).json()
            assert health["metrics"]["decode_busy"] == 4

    asyncio.run(main())


def test_feedback_takes_from_the_same_budget(
    store: Store, api_keys: dict[str, str], gate: Gate
) -> None:
    settings = {"max_body_bytes": 256 * KIB, "decode_budget_bytes": 256 * KIB}

    async def main() -> None:
        async with asgi_client(store, key=api_keys["ingest"], **settings) as client:
            otlp = asyncio.create_task(
                client.post("/v1/traces", content=padded(200 * KIB), headers=JSON)
            )
            await gate.wait_until(lambda: gate.started == 1)  # the OTLP body is decoding
            feedback = b'{"trace_id": "' + b"1" * 32 + b'", "rating": "up"}'
            busy = await client.post(
                "/v1/feedback", content=feedback + b" " * (100 * KIB), headers=JSON
            )
            assert busy.status_code == 429 and busy.headers["retry-after"] == "1"
            gate.open.set()
            assert (await otlp).status_code == 200
            assert (await client.post("/v1/feedback", content=feedback, headers=JSON)).is_success

    asyncio.run(main())


def test_a_request_alone_always_fits_and_bytes_are_given_back() -> None:
    budget = DecodeBudget(100)
    with budget.reserve() as first:
        first.take(90)
        with budget.reserve() as second, pytest.raises(ApiError) as caught:
            second.take(20)
        assert caught.value.status == 429 and caught.value.headers["Retry-After"] == "1"
        first.take(500)  # alone: the decompressed copy of its own body still fits
    assert budget.in_use == 0


def test_the_budget_must_hold_one_body() -> None:
    assert ServerSettings(max_body_bytes=2048).decode_budget == 4096
    with pytest.raises(ConfigError, match="decode budget"):
        ServerSettings(max_body_bytes=4096, decode_budget_bytes=2048).check()
