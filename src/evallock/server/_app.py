"""The app factory: the FastAPI application of ``evallock serve``, its routes and lifespan.

:func:`create_app` wires the route modules onto one app. Its lifespan opens the
store (unless one is handed in), starts the single writer and the pooled
upstream client, and on shutdown commits what is queued before closing them, so
a graceful stop loses nothing that was acknowledged.

Two pure ASGI middlewares stand in front of every route: the body limits and the
key pre-check (``_bodylimit.py``) and, under ``--no-auth``, the Host check that
guards against DNS rebinding (``_hosts.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import anyio.to_thread
from fastapi import FastAPI

from evallock.server._api import router as api_router
from evallock.server._auth import KeyCache
from evallock.server._bodylimit import BodyLimit
from evallock.server._budget import DecodeBudget
from evallock.server._candidates import router as candidates_router
from evallock.server._dashboard import router as dashboard_router
from evallock.server._drift import drift_loop
from evallock.server._drift import router as drift_router
from evallock.server._drift import write_router as evaluators_router
from evallock.server._errors import install_error_handlers
from evallock.server._feedback import router as feedback_router
from evallock.server._health import router as health_router
from evallock.server._hosts import LoopbackHosts
from evallock.server._ingest import router as ingest_router
from evallock.server._labelling import router as labelling_router
from evallock.server._labels import router as labels_router
from evallock.server._langfuse import router as langfuse_router
from evallock.server._metrics import Metrics
from evallock.server._openapi import install_openapi
from evallock.server._otlp_metrics import router as metrics_router
from evallock.server._passthrough import router as passthrough_router
from evallock.server._proxy import open_upstream
from evallock.server._proxy import router as proxy_router
from evallock.server._review import router as review_router
from evallock.server._session_page import router as session_page_router
from evallock.server._settings import ServerSettings
from evallock.server._state import ServerState
from evallock.server._writer import GroupCommitWriter, StoreSink

if TYPE_CHECKING:
    from evallock.store import Store

__all__ = ["create_app"]

_log = logging.getLogger("evallock.server")
_DESCRIPTION = """\
The service a team runs beside its LLM service: OTLP/HTTP trace ingest, a recording
proxy for OpenAI-compatible chat completions, user feedback, and the trace API.

Every route but the health checks needs an evallock API key (`evallock keys create`),
sent as `Authorization: Bearer evl_…`: scope `ingest` for the `POST /v1/*` routes,
`read` for `GET /api/*`, `admin` for both. A 2xx answer means the data is committed.

Every body has a limit (413): `max_body_bytes` for `/v1/*`, 256 KiB for `/api/*`.
A value past its documented limit answers 422 naming the field. OTLP ingest and
feedback answer 429 with `Retry-After` while other requests hold the decode budget.
"""


def create_app(settings: ServerSettings, *, store: Store | None = None) -> FastAPI:
    """Build the HTTP service.

    Args:
        settings: the service's options (checked here: see ``ServerSettings.check``).
        store: an open store to use; when None, the lifespan opens
            ``settings.store_url`` and closes it on shutdown. A store handed in is
            left open for its owner.

    Raises:
        UsageError: settings that must not run (``--no-auth`` off loopback …).
    """
    settings.check()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = await _start(settings, store)
        app.state.evallock = state
        if settings.grpc_port is not None:
            try:
                await _start_grpc(state, settings.grpc_port)
            except BaseException:
                await _stop(state, close_store=store is None)
                raise
        schedule = None
        if settings.drift_every_s is not None and settings.drift is not None:
            schedule = asyncio.create_task(drift_loop(state))
        try:
            yield
        finally:
            if schedule is not None:
                schedule.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await schedule
            await _stop(state, close_store=store is None)

    app = FastAPI(
        title="evallock",
        version=_version(),
        description=_DESCRIPTION,
        lifespan=lifespan,
        # FastAPI's /docs and /redoc load their script from a CDN: none (the spec stays)
        docs_url=None,
        redoc_url=None,
        openapi_tags=[
            {"name": "ingest", "description": "OTLP/HTTP traces and logs (scope `ingest`)."},
            {"name": "proxy", "description": "The recording proxy (scope `ingest`)."},
            {"name": "feedback", "description": "User ratings of traces (scope `ingest`)."},
            {"name": "api", "description": "Reading traces and counters (scope `read`)."},
            {"name": "health", "description": "Liveness and readiness, no key needed."},
        ],
    )
    install_error_handlers(app)
    install_openapi(app)
    routers = (
        health_router,
        ingest_router,
        metrics_router,
        proxy_router,
        passthrough_router,
        feedback_router,
        labels_router,
        langfuse_router,
        api_router,
        drift_router,
        evaluators_router,
        candidates_router,
        dashboard_router,
        session_page_router,
        review_router,
        labelling_router,
    )
    for router in routers:
        app.include_router(router)
    # The last added runs first: the Host check, then body limits and the key pre-check.
    app.add_middleware(BodyLimit, settings=settings)
    if settings.no_auth:
        app.add_middleware(LoopbackHosts, settings=settings)
    return app


async def _start(settings: ServerSettings, given: Store | None) -> ServerState:
    store = given
    if store is None:
        from evallock.store import open_store

        store = await anyio.to_thread.run_sync(open_store, settings.store_url)
    metrics = Metrics()
    # The evaluators of evallock.yaml and those added through the API: the worker runs
    # whenever the service does, and ingest files the traces some evaluator may take.
    from evallock.online import OnlineWorker
    from evallock.session import JudgeSpec

    online = OnlineWorker(
        store,
        settings.evaluators,
        settings.judge or JudgeSpec(),
        settle_s=settings.evaluate_settle_s,
        stored_rules=True,
    )
    writer = GroupCommitWriter(
        StoreSink(store, evaluate=online.wants),
        metrics=metrics,
        max_rows=settings.batch_rows,
        linger_s=settings.batch_linger_ms / 1000,
        max_pending_rows=settings.max_pending_rows,
    )
    await writer.start()
    state = ServerState(
        settings=settings,
        store=store,
        writer=writer,
        keys=KeyCache(store.api_keys, settings.auth_cache_s),
        metrics=metrics,
        budget=DecodeBudget(settings.decode_budget, metrics=metrics),
    )
    if settings.chat_url is not None:
        state.upstream = open_upstream(settings)
    state.online = online
    online.start()
    if settings.evaluators:
        names = ", ".join(rule.name for rule in settings.evaluators)
        print(f"evallock serve: online evaluators {names}", file=sys.stderr, flush=True)
    return state


async def _start_grpc(state: ServerState, port: int) -> None:
    """Start OTLP/gRPC beside HTTP on ``port`` (stopped by :func:`_stop`); say where."""
    from evallock.server._grpc import GrpcIngest

    settings = state.settings
    grpc = GrpcIngest(state, host=settings.host, port=port)
    port = grpc.start()
    state.grpc = grpc
    shown = f"[{settings.host}]" if ":" in settings.host else settings.host
    print(f"evallock serve: OTLP/gRPC on {shown}:{port}", file=sys.stderr, flush=True)


async def _stop(state: ServerState, *, close_store: bool) -> None:
    if state.online is not None:
        await anyio.to_thread.run_sync(state.online.stop)
        state.online = None
    if state.grpc is not None:
        # off the loop: calls in flight wait on the loop to commit their rows
        await anyio.to_thread.run_sync(state.grpc.stop)
        state.grpc = None
    try:
        await state.writer.close()
    finally:
        if state.upstream is not None:
            await state.upstream.close()
            # aiohttp closes pooled connections on the next loop turn.
            await asyncio.sleep(0)
        if close_store:
            await anyio.to_thread.run_sync(state.store.close)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("evallock")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0"
