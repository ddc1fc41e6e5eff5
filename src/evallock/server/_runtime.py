"""Running the service: in the foreground for ``evallock serve``, or on a thread for tests.

Both bind the listening socket themselves before uvicorn starts, so a port that
is taken is one clear error (exit 3) rather than a uvicorn traceback, and
``port=0`` gives a free port that is known at once. :func:`serve` opens the
store first, so an unreachable store is an error before anything listens.
"""

from __future__ import annotations

import logging
import signal
import socket
import sys
from types import FrameType
from typing import TYPE_CHECKING, Any

import uvicorn

from evallock.server._app import create_app
from evallock.server._settings import ServerSettings
from evallock.server._threaded import ThreadedServer, bind_socket, uvicorn_config

if TYPE_CHECKING:
    from evallock.store import Store

__all__ = ["RunningServer", "serve", "start_server"]

_GRACEFUL_S = 5
_READY_TIMEOUT_S = 30.0


def _config(app: Any, settings: ServerSettings) -> uvicorn.Config:
    return uvicorn_config(
        app, log_level=settings.log_level, graceful_s=_GRACEFUL_S, proxy_headers=False
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


class RunningServer(ThreadedServer):
    """A service running on a background thread; stop it with :meth:`stop` or ``with``.

    Attributes:
        url: the root URL, e.g. ``http://127.0.0.1:54321``.
        host: the address it listens on.
        port: the port it listens on.
        app: the FastAPI app.
    """

    def __init__(self, settings: ServerSettings, sock: socket.socket, store: Store | None) -> None:
        self.app = create_app(settings, store=store)
        super().__init__(_config(self.app, settings), sock, name="evallock serve")
        self.url = self.root_url

    def __repr__(self) -> str:
        return f"<evallock server {self.url}>"


def start_server(settings: ServerSettings, *, store: Store | None = None) -> RunningServer:
    """Start the service on a background thread; returns once ``/healthz`` answers.

    Args:
        settings: the service's options; ``port=0`` picks a free port.
        store: an open store to use (left open); None opens ``settings.store_url``.
    """
    settings.check()
    running = RunningServer(settings, bind_socket(settings.host, settings.port), store)
    running.start(timeout_s=_READY_TIMEOUT_S)
    return running
