"""Server fixtures: the app over each store, in process or on a real socket; keys of each scope.

Most tests run the app in process (:func:`app_factory`, ``app_server``,
``ingest_client``, ``read_client``): its lifespan runs on an event loop of its own
thread, as under uvicorn, and real clients (httpx, the ``openai`` SDK, the
OpenTelemetry SDK exporters through a ``requests`` session) reach it through a
transport instead of a socket. The bundled fake service stays the proxy's
upstream. ``server_factory`` / ``server`` start ``evallock serve`` for real
(uvicorn on a background thread) for the tests whose point is the socket; mark
those ``slow``. ``store`` opens the same database as the server, to check what
was committed. :func:`asgi_client` runs the app in process for async tests.
"""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack, asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio.from_thread
import httpx
import httpx2
import openai
import pytest
import requests
from fastapi import FastAPI
from requests.structures import CaseInsensitiveDict

from evallock.server import (
    RunningServer,
    ServerSettings,
    create_api_key,
    create_app,
    start_server,
)
from evallock.store import Store

from .upstream import ScriptedUpstream

Factory = Callable[..., RunningServer]


class InProcessServer:
    """The app with its lifespan running on an event loop of its own thread, no socket.

    Clients made here send each request through ``httpx.ASGITransport`` on that loop
    (the whole answer is read before it is returned: streaming timing needs a real
    socket). Between requests the loop keeps running, so what the app does after
    answering (the proxy's recording, the drift schedule) goes on as under uvicorn.

    Attributes:
        app: the FastAPI app (``app.state.evallock`` is set).
        url: the root URL clients are given (its host is the ``Host`` header).
    """

    url = "http://127.0.0.1"

    def __init__(
        self, app: FastAPI, portal: anyio.from_thread.BlockingPortal, stack: ExitStack
    ) -> None:
        self.app = app
        self._portal = portal
        self._stack = stack

    def transport(self, lib: ModuleType = httpx) -> Any:
        """A sync transport of ``lib`` (httpx, or the ``openai`` SDK's httpx2) into the app."""
        asgi = lib.ASGITransport(app=self.app)
        portal = self._portal

        async def exchange(request: Any) -> tuple[int, Any, bytes]:
            answer = await asgi.handle_async_request(request)
            body = b"".join([part async for part in answer.stream])
            return answer.status_code, answer.headers.raw, body

        class Transport(lib.BaseTransport):  # type: ignore[misc, name-defined]
            def handle_request(self, request: Any) -> Any:
                request.read()  # a sync body becomes bytes the ASGI transport can send
                status, headers, body = portal.call(exchange, request)
                return lib.Response(status, headers=headers, stream=lib.ByteStream(body))

        return Transport()

    def client(
        self, key: str | None = None, *, headers: dict[str, str] | None = None, **options: Any
    ) -> httpx.Client:
        """An httpx client of the app (closed with the app): ``key`` as ``Authorization: Bearer``."""
        sent = {**({"Authorization": f"Bearer {key}"} if key else {}), **(headers or {})}
        client = httpx.Client(
            transport=self.transport(), base_url=self.url, headers=sent, timeout=30, **options
        )
        self._stack.callback(client.close)
        return client

    def request(self, method: str, path: str, **options: Any) -> httpx.Response:
        """One request from a fresh client, like ``httpx.request`` (no cookies kept)."""
        with httpx.Client(transport=self.transport(), base_url=self.url, timeout=30) as client:
            return client.request(method, path, **options)

    def get(self, path: str, **options: Any) -> httpx.Response:
        return self.request("GET", path, **options)

    def post(self, path: str, **options: Any) -> httpx.Response:
        return self.request("POST", path, **options)

    def openai(self, key: str, **options: Any) -> openai.OpenAI:
        """The ``openai`` SDK against the proxy, no retries."""
        http_client = httpx2.Client(transport=self.transport(httpx2), timeout=30)
        return openai.OpenAI(
            base_url=f"{self.url}/v1",
            api_key=key,
            max_retries=0,
            http_client=http_client,
            **options,
        )

    def session(self) -> requests.Session:
        """A ``requests`` session into the app, for the OpenTelemetry SDK's HTTP exporters."""
        session = requests.Session()
        adapter = _AppAdapter(self.client())
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        self._stack.callback(session.close)
        return session

    def stop(self) -> None:
        """Shut the app down now (its lifespan's shutdown runs), as a service stopped."""
        self._stack.close()

    def __repr__(self) -> str:
        return "<evallock app in process>"


class _AppAdapter(requests.adapters.BaseAdapter):
    """Sends a ``requests`` request through an httpx client of the app."""

    def __init__(self, client: httpx.Client) -> None:
        super().__init__()
        self._client = client

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, stream: bool = False, **options: Any
    ) -> requests.Response:
        answer = self._client.request(
            request.method or "GET",
            request.url or "",
            headers=dict(request.headers),
            content=request.body,
        )
        response = requests.Response()
        response.status_code = answer.status_code
        response.reason = answer.reason_phrase
        response.headers = CaseInsensitiveDict(answer.headers.items())
        response._content = answer.content  # already decoded by httpx
        response._content_consumed = True
        response.url = str(answer.url)
        response.request = request
        response.encoding = answer.encoding
        return response

    def close(self) -> None:
        self._client.close()


@pytest.fixture
def app_factory(store_url: str, fake_service: Any) -> Iterator[Callable[..., InProcessServer]]:
    """Start apps in process over the test's store (upstream: the fake service).

    Like ``server_factory``, each app opens the store itself; all are shut down
    (their lifespan's shutdown run) after the test.
    """
    with ExitStack() as stack:

        def start(**overrides: Any) -> InProcessServer:
            options: dict[str, Any] = {
                "store_url": store_url,
                "upstream": fake_service.base_url,
                "auth_cache_s": 0,
                **overrides,
            }
            app = create_app(ServerSettings(**options))
            own = stack.enter_context(ExitStack())  # closed early by .stop(), else at the end
            portal = own.enter_context(anyio.from_thread.start_blocking_portal())
            own.enter_context(portal.wrap_async_context_manager(app.router.lifespan_context(app)))
            return InProcessServer(app, portal, own)

        yield start


@pytest.fixture(scope="session")
def _scripted_upstream_running() -> Iterator[ScriptedUpstream]:
    with ScriptedUpstream(pause_s=0) as upstream:
        yield upstream


@pytest.fixture
def scripted_upstream(_scripted_upstream_running: ScriptedUpstream) -> ScriptedUpstream:
    """The scripted upstream without pauses (one for the session), what it saw cleared."""
    _scripted_upstream_running.seen.clear()
    return _scripted_upstream_running


@pytest.fixture
def app_server(app_factory: Callable[..., InProcessServer]) -> InProcessServer:
    """An app in process with auth on, over the test's store."""
    return app_factory()


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
    """A real server with auth on, over the test's store (for tests of the socket)."""
    return server_factory()


@pytest.fixture
def api_keys(store: Store) -> dict[str, str]:
    """A fresh key of each scope, by scope."""
    return {
        scope: create_api_key(store, name=f"test-{scope}", scope=scope).secret
        for scope in ("ingest", "read", "admin")
    }


@pytest.fixture
def ingest_client(app_server: InProcessServer, api_keys: dict[str, str]) -> httpx.Client:
    """httpx against the app in process with an ingest key."""
    return app_server.client(api_keys["ingest"])


@pytest.fixture
def read_client(app_server: InProcessServer, api_keys: dict[str, str]) -> httpx.Client:
    """httpx against the app in process with a read key."""
    return app_server.client(api_keys["read"])


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
