"""Running the service: in the foreground for ``evallock serve``, or on a thread for tests.

Both bind the listening socket themselves before uvicorn starts, so a port that
is taken is one clear error (exit 3) rather than a uvicorn traceback, and
``port=0`` gives a free port that is known at once. :func:`serve` opens the
store first, so an unreachable store is an error before anything listens.
"""

from __future__ import annotations

import http.client
import importlib.util
import logging
import signal
import socket
import sys
import threading
import time
from types import FrameType, TracebackType
from typing import Any

import uvicorn

from evallock.errors import InfraError
from evallock.server._app import create_app
from evallock.server._settings import ServerSettings

__all__ = ["RunningServer", "bind_socket", "serve", "start_server"]

_GRACEFUL_S = 5
_READY_TIMEOUT_S = 30.0


def bind_socket(host: str, port: int) -> socket.socket:
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
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise InfraError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def _config(app: Any, settings: ServerSettings) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        http="httptools" if importlib.util.find_spec("httptools") else "h11",
        loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        ws="none",
        lifespan="on",
        log_config=None,
        log_level=settings.log_level,
        access_log=False,
        server_header=False,
        proxy_headers=False,
        timeout_graceful_shutdown=_GRACEFUL_S,
        backlog=2048,
    )


def serve(settings: ServerSettings) -> None:
    """Run the service in the foreground until SIGINT or SIGTERM.

    Raises:
        UsageError: settings that must not run (``--no-auth`` off loopback …).
        StoreError: the store cannot be opened.
        InfraError: the address cannot be bound.
    """
    from evallock.store import open_store

    settings.check()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    store = open_store(settings.store_url)
    try:
        sock = bind_socket(settings.host, settings.port)
        try:
            host, port = sock.getsockname()[:2]
            shown = f"[{host}]" if ":" in host else host
            print(
                f"evallock serve: listening on http://{shown}:{port} "
                f"(store {store.url}, upstream {settings.upstream or 'none'}, "
                f"auth {'off' if settings.no_auth else 'on'})",
                file=sys.stderr,
                flush=True,
            )
            server = uvicorn.Server(_config(create_app(settings, store=store), settings))
            _run_until_signalled(server, sock)
        finally:
            sock.close()
    finally:
        store.close()


def _run_until_signalled(server: uvicorn.Server, sock: socket.socket) -> None:
    """Run uvicorn; a SIGINT or SIGTERM shuts it down gracefully and returns normally.

    uvicorn re-raises the signal it caught once it has shut down, into whatever
    handler was there before it: ours notes it, so the store is closed and the
    command exits 0 instead of dying by the signal.
    """
    caught: list[int] = []

    def note(signum: int, frame: FrameType | None) -> None:
        caught.append(signum)

    stops = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.signal(signum, note) for signum in stops}
    try:
        server.run(sockets=[sock])
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if caught:
        name = signal.Signals(caught[0]).name
        print(f"evallock serve: stopped by {name} after a graceful shutdown", file=sys.stderr)


class RunningServer:
    """A service running on a background thread; stop it with :meth:`stop` or ``with``.

    Attributes:
        url: the root URL, e.g. ``http://127.0.0.1:54321``.
        host: the address it listens on.
        port: the port it listens on.
    """

    def __init__(self, settings: ServerSettings, sock: socket.socket, store: Any | None) -> None:
        self.host: str = sock.getsockname()[0]
        self.port: int = sock.getsockname()[1]
        self.url = f"http://{self.host}:{self.port}"
        self.app = create_app(settings, store=store)
        self._sock = sock
        self._server = uvicorn.Server(_config(self.app, settings))
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [sock]},
            name="evallock-serve",
            daemon=True,
        )

    def _start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + _READY_TIMEOUT_S
        while True:
            if not self._thread.is_alive():
                self._sock.close()
                raise RuntimeError("evallock serve stopped while starting (see the log)")
            connection = http.client.HTTPConnection(self.host, self.port, timeout=0.5)
            try:
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("evallock serve did not answer /healthz") from None
                time.sleep(0.02)
            finally:
                connection.close()

    def stop(self) -> None:
        """Shut down gracefully (queued rows are committed) and join the thread."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(_GRACEFUL_S + 10)
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join()
        self._sock.close()

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<evallock server {self.url}>"


def start_server(settings: ServerSettings, *, store: Any | None = None) -> RunningServer:
    """Start the service on a background thread; returns once ``/healthz`` answers.

    Args:
        settings: the service's options; ``port=0`` picks a free port.
        store: an open store to use (left open); None opens ``settings.store_url``.
    """
    settings.check()
    running = RunningServer(settings, bind_socket(settings.host, settings.port), store)
    running._start()
    return running
