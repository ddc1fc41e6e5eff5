"""The running service's shared parts: settings, store, writer, key cache, upstream client.

One :class:`ServerState` per app, made by the lifespan in ``_app.py`` and kept
on ``app.state.evallock``; routes reach it with :func:`server_state`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from evallock.server._auth import KeyCache
from evallock.server._metrics import Metrics
from evallock.server._settings import ServerSettings
from evallock.server._writer import GroupCommitWriter

if TYPE_CHECKING:
    import aiohttp

__all__ = ["ServerState", "server_state"]


@dataclass(kw_only=True, slots=True)
class ServerState:
    """Everything a route needs besides its request."""

    settings: ServerSettings
    """The options the service was started with."""
    store: Any
    """The open :class:`evallock.store.Store` (reads go through a thread)."""
    writer: GroupCommitWriter
    """The single writer every trace and feedback row goes through."""
    keys: KeyCache
    """API key lookups."""
    metrics: Metrics
    """Counters for ``/healthz`` and ``/api/stats``."""
    upstream: aiohttp.ClientSession | None = None
    """The pooled client to the proxy's upstream, when ``--upstream`` is set."""


def server_state(request: Request) -> ServerState:
    """The state of the app serving ``request``."""
    state: ServerState = request.app.state.evallock
    return state
