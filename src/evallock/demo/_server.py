"""The fake service's server: uvicorn in a background thread on a loopback port.

:func:`start_fake_service` binds the socket before the thread starts, so the port
is known at once (``port=0`` picks a free one), and returns once the service
serves; :meth:`FakeService.stop` shuts uvicorn down gracefully and joins the
thread, so nothing outlives the handle. The threading is
:class:`evallock.server.ThreadedServer`, shared with ``evallock serve``.
"""

from __future__ import annotations

import http.client
from typing import Any

import orjson

from evallock.demo._asgi import FakeServiceApp
from evallock.server import ThreadedServer, bind_socket, uvicorn_config

__all__ = ["FakeService", "start_fake_service"]

_READY_TIMEOUT_S = 15.0
_GRACEFUL_S = 2


class FakeService(ThreadedServer):
    """A running fake service; stop it with :meth:`stop` or a ``with`` block.

    Attributes:
        app: the ASGI app. Its counters change on the server's thread: read them
            with :meth:`stats`, which asks ``GET /_stats``.
        host: the loopback address it listens on.
        port: the port it listens on.
        root_url: the server root, e.g. ``http://127.0.0.1:54321``.
        base_url: the OpenAI-style base URL, e.g. ``http://127.0.0.1:54321/v1``.
    """

    def __init__(self, app: FakeServiceApp, host: str, port: int) -> None:
        config = uvicorn_config(app, graceful_s=_GRACEFUL_S, date_header=False)
        super().__init__(config, bind_socket(host, port), name="evallock-fake-service")
        self.app = app
        self.base_url = f"{self.root_url}/v1"

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
        The running service, already serving.

    Raises:
        InfraError: the address cannot be bound (a port in use …).

    Example::

        with start_fake_service() as service:
            httpx.post(f"{service.base_url}/chat/completions", json=...)
    """
    app = FakeServiceApp(
        latency_ms=latency_ms, api_key=api_key, judge_position_bias=judge_position_bias
    )
    service = FakeService(app, host, port)
    service.start(timeout_s=_READY_TIMEOUT_S)
    return service
