"""``--no-auth`` answers only requests addressed to this machine (DNS rebinding)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from evallock.server import RunningServer
from evallock.store import Store

from .conftest import asgi_client

LOCAL = ["localhost", "127.0.0.1", "[::1]", "LOCALHOST:8000", "127.0.0.1:1", "[::1]:8000"]
FOREIGN = ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "0.0.0.0", "::1"]


def test_loopback_hosts_are_served(store: Store) -> None:
    async def main() -> None:
        async with asgi_client(store, no_auth=True) as client:
            for host in LOCAL:
                answer = await client.get("/api/stats", headers={"Host": host})
                assert answer.status_code == 200, (host, answer.text)

    asyncio.run(main())


def test_other_hosts_are_refused_without_auth(store: Store) -> None:
    async def main() -> None:
        async with asgi_client(store, no_auth=True) as client:
            for host in FOREIGN:
                await refused(client, host)
        assert store.feedback.find() == []

    asyncio.run(main())


async def refused(client: httpx.AsyncClient, host: str) -> None:
    read = await client.get("/api/stats", headers={"Host": host})
    assert read.status_code == 421, host
    assert read.json()["field"] == "Host" and "DNS rebinding" in read.json()["detail"]
    write = await client.post(
        "/v1/feedback", json={"trace_id": "1" * 32, "rating": "up"}, headers={"Host": host}
    )
    assert write.status_code == 421
    otlp = await client.post(
        "/v1/traces", content=b"{}", headers={"Host": host, "Content-Type": "application/json"}
    )
    assert otlp.status_code == 421 and otlp.json()["code"] == 3


def test_with_keys_any_host_is_served(store: Store, api_keys: dict[str, str]) -> None:
    async def main() -> None:
        async with asgi_client(store, key=api_keys["read"]) as client:
            answer = await client.get("/api/stats", headers={"Host": "evallock.internal"})
            assert answer.status_code == 200

    asyncio.run(main())


@pytest.mark.slow
def test_the_real_server_refuses_a_rebound_name(server_factory) -> None:
    """The socket is the point: the Host header as uvicorn hands it to the app."""
    server: RunningServer = server_factory(no_auth=True)
    assert httpx.get(f"{server.url}/healthz").status_code == 200
    rebound = httpx.get(f"{server.url}/", headers={"Host": "attacker.example"})
    assert rebound.status_code == 421
