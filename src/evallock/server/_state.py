"""The running service's shared parts: settings, store, writer, keys, sessions, budget, upstream.

One :class:`ServerState` per app, made by the lifespan in ``_app.py`` and kept
on ``app.state.evallock``; routes reach it with :func:`server_state`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.requests import Request

from evallock.server._auth import KeyCache
from evallock.server._budget import DecodeBudget
from evallock.server._metrics import Metrics
from evallock.server._sessions import SessionStore
from evallock.server._settings import ServerSettings
from evallock.server._writer import GroupCommitWriter

if TYPE_CHECKING:
    import aiohttp

    from evallock.online import OnlineWorker
    from evallock.server._grpc import GrpcIngest
    from evallock.store import Store

__all__ = ["ServerState", "server_state"]


@dataclass(kw_only=True, slots=True)
class ServerState:
    """Everything a route needs besides its request."""

    settings: ServerSettings
    """The options the service was started with."""
    store: Store
    """The open store (reads go through a thread)."""
    writer: GroupCommitWriter
    """The single writer every trace and feedback row goes through."""
    keys: KeyCache
    """API key lookups."""
    metrics: Metrics
    """Counters for ``/healthz`` and ``/api/stats``."""
    budget: DecodeBudget
    """Body bytes OTLP ingest and feedback may hold at once (429 past it)."""
    sessions: SessionStore = field(default_factory=SessionStore)
    """Dashboard sign-ins, in memory only (they end when the service restarts)."""
    upstream: aiohttp.ClientSession | None = None
    """The pooled client to the proxy's upstream, when ``--upstream`` is set."""
    grpc: GrpcIngest | None = None
    """The OTLP/gRPC server, when ``grpc_port`` is set."""
    online: OnlineWorker | None = None
    """The online evaluators' worker (its own thread), when evaluators are configured."""


def server_state(request: Request) -> ServerState:
    """The state of the app serving ``request``."""
    state: ServerState = request.app.state.evallock
    return state
