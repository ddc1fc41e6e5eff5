"""Server fixtures: ``evallock serve`` on a loopback port over each store, keys of each scope.

The server runs for real (uvicorn on a background thread), with the bundled fake
service as its upstream; tests talk to it with real clients (the OpenTelemetry
SDK exporter, the ``openai`` SDK, httpx). ``store`` opens the same database as
the server, to check what was committed. :func:`asgi_client` runs the app in
process instead (its lifespan included), for tests that need no socket.
"""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from evallock.server import (
    RunningServer,
    ServerSettings,
    create_api_key,
    create_app,
    start_server,
)
from evallock.store import Store

Factory = Callable[..., RunningServer]


@pytest.fixture
def server_factory(store_url: str, fake_service: Any) -> Iterator[Factory]:
    """Start servers over the test's store (upstream: the fake service); stopped afterwards."""
    started: list[RunningServer] = []

    def start(**overrides: Any) -> RunningServer:
        options: dict[str, Any] = {
            "store_url": store_url,
            "port": 0,
            "upstream": fake_service.base_url,
            "auth_cache_s": 0,
            **overrides,
        }
        running = start_server(ServerSettings(**options))
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


@pytest.fixture
def server(server_factory: Factory) -> RunningServer:
    """A server with auth on, over the test's store."""
    return server_factory()


@pytest.fixture
def api_keys(store: Store) -> dict[str, str]:
    """A fresh key of each scope, by scope."""
    return {
        scope: create_api_key(store, name=f"test-{scope}", scope=scope).secret
        for scope in ("ingest", "read", "admin")
    }


@pytest.fixture
def ingest_client(server: RunningServer, api_keys: dict[str, str]) -> Iterator[httpx.Client]:
    """httpx against the server with an ingest key."""
    headers = {"Authorization": f"Bearer {api_keys['ingest']}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
        yield client


@pytest.fixture
def read_client(server: RunningServer, api_keys: dict[str, str]) -> Iterator[httpx.Client]:
    """httpx against the server with a read key."""
    headers = {"Authorization": f"Bearer {api_keys['read']}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
        yield client


@asynccontextmanager
async def asgi_client(
    store: Store,
    *,
    key: str | None = None,
    base_url: str = "http://127.0.0.1",
    **settings: Any,
) -> AsyncIterator[httpx.AsyncClient]:
    """The app over ``store`` in process, lifespan run, through httpx's ASGI transport.

    Args:
        store: the open store the app uses (left open).
        key: sent as ``Authorization: Bearer`` when given.
        base_url: decides the ``Host`` header.
        settings: ``ServerSettings`` fields (``auth_cache_s`` is 0 unless given).
    """
    options: dict[str, Any] = {"auth_cache_s": 0, **settings}
    app = create_app(ServerSettings(**options), store=store)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url=base_url, headers=headers, timeout=30
        ) as client:
            yield client


def wait_for(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll ``check`` until it returns something truthy (for writes the proxy does not await)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.02)


EVALLOCK_MAIN = (
    "import sys\n"
    "from evallock.cli import main as m\n"
    "from evallock.cli._keys import keys_app\n"
    "from evallock.cli._serve import serve\n"
    "from evallock.cli._traces import traces_app\n"
    "commands = {c.name for c in m.app.registered_commands}\n"
    "groups = {g.name or g.typer_instance.info.name for g in m.app.registered_groups}\n"
    "if 'serve' not in commands:\n"
    "    m.app.command('serve')(serve)\n"
    "if 'keys' not in groups:\n"
    "    m.app.add_typer(keys_app, name='keys')\n"
    "if 'traces' not in groups:\n"
    "    m.app.add_typer(traces_app, name='traces')\n"
    "m.main(sys.argv[1:])\n"
)
"""A ``python -c`` program that runs ``evallock ARGS`` with serve, keys and traces registered
(whether or not ``cli/main.py`` registers them yet)."""


def serve_command(*args: str) -> list[str]:
    """argv for ``evallock serve ARGS`` as a real process."""
    return [sys.executable, "-c", EVALLOCK_MAIN, "serve", *args]


def project_root() -> Path:
    """The repository root (for examples/ and bench/)."""
    return Path(__file__).resolve().parents[2]
