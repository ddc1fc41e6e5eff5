"""The fake service's server: uvicorn in a background thread on a loopback port.

:func:`start_fake_service` binds and listens on the socket itself before the
thread starts, so the port is known at once (``port=0`` picks a free one) and
no connection is ever refused; it then returns only once ``GET /health`` has
answered. :meth:`FakeService.stop` shuts uvicorn down gracefully and joins the
thread, so nothing outlives the handle.
"""

from __future__ import annotations

import http.client
import importlib.util
import socket
import threading
import time
from types import TracebackType
from typing import Any

import orjson
import uvicorn

from evallock.demo._asgi import FakeServiceApp

__all__ = ["FakeService", "start_fake_service"]

_READY_TIMEOUT_S = 15.0
_GRACEFUL_S = 2


def _http_impl() -> str:
    return "httptools" if importlib.util.find_spec("httptools") else "h11"


def _loop_impl() -> str:
    return "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"


class FakeService:
    """A running fake service; stop it with :meth:`stop` or a ``with`` block.

    Attributes:
        app: the ASGI app. Its counters change on the server's thread: read them
            with :meth:`stats`, which asks ``GET /_stats``.
        host: the loopback address it listens on.
        port: the port it listens on.
        base_url: the OpenAI-style base URL, e.g. ``http://127.0.0.1:54321/v1``.
    """

    def __init__(self, app: FakeServiceApp, sock: socket.socket, server: uvicorn.Server) -> None:
        self.app = app
        address = sock.getsockname()
        self.host: str = address[0]
        self.port: int = address[1]
        self.base_url = f"http://{self.host}:{self.port}/v1"
        self._sock = sock
        self._server = server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="evallock-fake-service", daemon=True
        )

    @property
    def root_url(self) -> str:
        """The server root without ``/v1``, e.g. ``http://127.0.0.1:54321``."""
        return f"http://{self.host}:{self.port}"

    def stats(self) -> dict[str, Any]:
        """The request counters, as ``GET /_stats`` returns them (see ``_stats``)."""
        return self._call("GET", "/_stats")

    def reset_stats(self) -> None:
        """Zero the counters and forget fault attempts (``POST /_stats/reset``)."""
        self._call("POST", "/_stats/reset")

    def _call(self, method: str, path: str) -> dict[str, Any]:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            connection.request(method, path)
            response = connection.getresponse()
            payload: dict[str, Any] = orjson.loads(response.read())
            if response.status != 200:
                raise RuntimeError(f"fake service: {method} {path}: HTTP {response.status}")
            return payload
        finally:
            connection.close()

    def _start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + _READY_TIMEOUT_S
        while True:
            if not self._thread.is_alive():
                self._sock.close()
                raise RuntimeError("the fake service stopped while starting")
            connection = http.client.HTTPConnection(self.host, self.port, timeout=0.5)
            try:
                connection.request("GET", "/health")
                if connection.getresponse().status == 200:
                    return
            except OSError:
                # Not serving yet: the socket listens, so the request waits in the
                # backlog and times out; ask again until the deadline.
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("the fake service did not answer /health") from None
            finally:
                connection.close()

    def stop(self) -> None:
        """Shut the server down and wait for its thread; safe to call twice."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(_GRACEFUL_S + 5)
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join()
        self._sock.close()

    def __enter__(self) -> FakeService:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<FakeService {self.base_url}>"


def start_fake_service(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    latency_ms: float = 0,
    api_key: str | None = None,
    judge_position_bias: int = 0,
) -> FakeService:
    """Start the fake OpenAI-compatible service in a background thread.

    Args:
        host: address to listen on; keep it on loopback.
        port: port to listen on; 0 picks a free one.
        latency_ms: added wait before every chat completion answer.
        api_key: when set, ``/v1/*`` requires ``Authorization: Bearer <api_key>``.
        judge_position_bias: points the pairwise judge adds to answer A.

    Returns:
        The running service; it already answers ``GET /health``.

    Example::

        with start_fake_service() as service:
            httpx.post(f"{service.base_url}/chat/completions", json=...)
    """
    app = FakeServiceApp(
        latency_ms=latency_ms, api_key=api_key, judge_position_bias=judge_position_bias
    )
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP,
    # and without it every response waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    config = uvicorn.Config(
        app,
        http=_http_impl(),
        loop=_loop_impl(),
        ws="none",
        lifespan="on",
        log_config=None,
        log_level="warning",
        access_log=False,
        server_header=False,
        date_header=False,
        timeout_graceful_shutdown=_GRACEFUL_S,
        backlog=2048,
    )
    service = FakeService(app, sock, uvicorn.Server(config))
    service._start()
    return service
