"""uvicorn on a background thread: bind first, start, wait until serving, stop gracefully.

Shared by ``evallock serve``'s in-process runner, the bundled fake service and
test servers. The socket is bound and listening before the thread starts, so
the port is known at once (``port=0`` picks a free one) and no connection is
ever refused; :meth:`ThreadedServer.start` returns once uvicorn has finished
its startup (the app's lifespan included).
"""

from __future__ import annotations

import importlib.util
import socket
import threading
import time
from types import TracebackType
from typing import Any, Self

import uvicorn

from evallock.errors import InfraError

__all__ = ["ThreadedServer", "bind_socket", "uvicorn_config"]


def bind_socket(host: str, port: int, *, backlog: int = 2048) -> socket.socket:
    """A listening TCP socket on ``host:port``.

    Raises:
        InfraError: the address cannot be bound (in use, not this machine's …).
    """
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are
    # TCP, and without it small answers wait ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise InfraError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def uvicorn_config(
    app: Any, *, log_level: str = "warning", graceful_s: int = 5, **options: Any
) -> uvicorn.Config:
    """uvicorn settings for our services: httptools and uvloop when installed, no access log."""
    settings: dict[str, Any] = {
        "http": "httptools" if importlib.util.find_spec("httptools") else "h11",
        "loop": "uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        "ws": "none",
        "lifespan": "on",
        "log_config": None,
        "log_level": log_level,
        "access_log": False,
        "server_header": False,
        "timeout_graceful_shutdown": graceful_s,
        "backlog": 2048,
        **options,
    }
    return uvicorn.Config(app, **settings)


class ThreadedServer:
    """An ASGI app served by uvicorn on a background thread; stop with :meth:`stop` or ``with``.

    Attributes:
        host: the address it listens on.
        port: the port it listens on.
        root_url: ``http://host:port``.
    """

    def __init__(self, config: uvicorn.Config, sock: socket.socket, *, name: str) -> None:
        address = sock.getsockname()
        self.host: str = address[0]
        self.port: int = address[1]
        shown = f"[{self.host}]" if ":" in self.host else self.host
        self.root_url = f"http://{shown}:{self.port}"
        self._name = name
        self._sock = sock
        self._server = uvicorn.Server(config)
        self._graceful_s = float(config.timeout_graceful_shutdown or 5)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=name, daemon=True
        )

    def start(self, *, timeout_s: float = 30.0) -> None:
        """Start the thread and wait until uvicorn serves (its startup is complete).

        Raises:
            RuntimeError: the server stopped while starting, or did not start in time.
        """
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive():
                self._sock.close()
                raise RuntimeError(f"{self._name} stopped while starting (see the log)")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self._name} did not start within {timeout_s:g} s")
            time.sleep(0.01)

    def stop(self) -> None:
        """Shut down gracefully and join the thread; safe to call twice."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(self._graceful_s + 10)
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join()
        self._sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
