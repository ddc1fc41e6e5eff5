"""Body limits at the door: 401 for a keyless write and 413 past a route's limit, unread."""

from __future__ import annotations

import asyncio
import select
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from google.rpc import status_pb2

from evallock.server import RunningServer
from evallock.store import Store

from .conftest import asgi_client

HUGE = str(300 * 1024 * 1024)


class Body:
    """A streamed request body that counts how much of it the server pulled."""

    def __init__(self, chunk: int, total: int) -> None:
        self.chunk = chunk
        self.total = total
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.sent < self.total:
            self.sent += self.chunk
            yield b"k" * self.chunk


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_a_declared_length_past_the_limit_is_refused_unread(
    store: Store, api_keys: dict[str, str]
) -> None:
    async def main() -> None:
        async with asgi_client(store, key=api_keys["admin"]) as client:
            for path, limit in (
                ("/login", "4 KiB"),
                ("/api/candidates/c-1/accept", "256 KiB"),
                ("/v1/feedback", "16 MiB"),
            ):
                body = Body(1024, 10 * 1024)
                answer = await client.post(
                    path,
                    content=body,
                    headers={"Content-Length": HUGE, "Content-Type": "application/json"},
                )
                assert answer.status_code == 413, (path, answer.text)
                assert limit in answer.json()["detail"]
                assert body.sent == 0, f"{path}: the body was read before the refusal"
            # OTLP clients get a google.rpc.Status in their own encoding.
            body = Body(1024, 10 * 1024)
            otlp = await client.post(
                "/v1/traces",
                content=body,
                headers={"Content-Length": HUGE, "Content-Type": "application/x-protobuf"},
            )
            assert otlp.status_code == 413 and body.sent == 0
            status = status_pb2.Status()
            status.ParseFromString(otlp.content)
            assert status.code == 8 and "16 MiB" in status.message

    run(main())


def test_a_chunked_body_is_cut_off_as_it_passes_the_limit(
    store: Store, api_keys: dict[str, str]
) -> None:
    async def main() -> None:
        async with asgi_client(store, key=api_keys["admin"]) as client:
            login = Body(1024, 64 * 1024 * 1024)
            answer = await client.post("/login", content=login)
            assert answer.status_code == 413 and "4 KiB" in answer.json()["detail"]
            assert login.sent <= 6 * 1024
            # The review API parses JSON with FastAPI: its failed read gives way to the 413.
            review = Body(16 * 1024, 64 * 1024 * 1024)
            answer = await client.post(
                "/api/candidates/c-1/reject",
                content=review,
                headers={"Content-Type": "application/json"},
            )
            assert answer.status_code == 413 and "256 KiB" in answer.json()["detail"]
            assert review.sent <= 272 * 1024

    run(main())


def test_a_write_without_a_key_is_refused_before_its_body_is_read(store: Store) -> None:
    async def main() -> None:
        async with asgi_client(store) as client:
            for path in ("/v1/traces", "/v1/feedback", "/api/candidates/c-1/accept"):
                body = Body(1024, 10 * 1024)
                answer = await client.post(
                    path,
                    content=body,
                    headers={"Content-Length": HUGE, "Content-Type": "application/json"},
                )
                assert answer.status_code == 401, (path, answer.text)
                assert answer.headers["www-authenticate"].startswith("Bearer")
                assert body.sent == 0
            # An upstream key in Authorization is no evallock key; a cookie never writes.
            body = Body(1024, 10 * 1024)
            proxy = await client.post(
                "/v1/chat/completions",
                content=body,
                headers={"Authorization": "Bearer sk-upstream", "Cookie": "evallock_session=x"},
            )
            assert proxy.status_code == 401 and body.sent == 0
            assert "api key is required" in proxy.json()["error"]["message"].lower()
            # Reads and the health routes are not writes.
            assert (await client.get("/healthz")).status_code == 200

    run(main())


def test_within_the_limits_every_route_still_works(store: Store, api_keys: dict[str, str]) -> None:
    async def main() -> None:
        async with asgi_client(store, key=api_keys["ingest"]) as client:
            answer = await client.post(
                "/v1/feedback", json={"trace_id": "1" * 32, "rating": "up", "id": "fb-ok"}
            )
            assert answer.status_code == 200, answer.text
            empty = await client.post(
                "/v1/traces", content=b"{}", headers={"Content-Type": "application/json"}
            )
            assert empty.status_code == 200, empty.text

    run(main())


@pytest.mark.slow
def test_the_real_server_answers_413_while_a_chunked_body_is_still_coming(
    server: RunningServer,
) -> None:
    """The socket is the point: the answer comes while the client is still sending."""
    sock = socket.create_connection((server.host, server.port), timeout=10)
    head = (
        f"POST /login HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"%x\r\n%s\r\n" % (16 * 1024, b"k" * 16 * 1024)
    sent = 0
    answer = b""
    try:
        sock.sendall(head.encode())
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and sent < 256 * 1024 * 1024:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                answer = sock.recv(65536)
                break
            sock.sendall(chunk)
            sent += 16 * 1024
    finally:
        sock.close()
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 64 * 1024 * 1024, f"the server read {sent} bytes before answering"


@pytest.mark.parametrize("path", ["/login", "/logout"])
def test_sign_in_and_out_need_no_key(store: Store, path: str) -> None:
    async def main() -> None:
        async with asgi_client(store) as client:
            answer = await client.post(path, data={"key": "hunter2"})
            assert answer.status_code in (303, 400), answer.text

    run(main())
