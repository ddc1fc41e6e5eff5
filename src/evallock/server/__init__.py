"""The HTTP service (``evallock serve``): OTLP ingest, recording proxy, feedback, read API.

::

    from evallock.server import ServerSettings, start_server

    settings = ServerSettings(store_url="sqlite:///t.db", port=0, upstream="http://h:8001/v1")
    with start_server(settings) as server:
        ...  # POST f"{server.url}/v1/traces", f"{server.url}/v1/chat/completions" …

Routes and scopes (keys from ``evallock keys create``): ``POST /v1/traces``,
``/v1/logs``, ``/v1/feedback``, ``/v1/chat/completions`` need ``ingest``;
``GET /api/*`` and the dashboard ``GET /`` (sign in at ``/login``) need ``read``;
``admin`` may do both; ``/healthz``, ``/readyz`` and the OpenAPI spec
(``/openapi.json``) are open. There is no ``/docs`` page: FastAPI's viewers load
their script from a CDN, and the service makes no outside request.

Public names load lazily, so ``evallock keys`` and ``evallock traces`` use the
API-key and query helpers without importing FastAPI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evallock._lazy import lazy_names

if TYPE_CHECKING:
    from evallock.server._apikeys import (
        SCOPES,
        CreatedKey,
        create_api_key,
        hash_api_key,
        scope_allows,
    )
    from evallock.server._app import create_app
    from evallock.server._query import TraceQuery, key_filters, parse_time
    from evallock.server._runtime import RunningServer, serve, start_server
    from evallock.server._settings import ServerSettings
    from evallock.server._threaded import ThreadedServer, bind_socket, uvicorn_config

__all__ = [
    "SCOPES",
    "CreatedKey",
    "RunningServer",
    "ServerSettings",
    "ThreadedServer",
    "TraceQuery",
    "bind_socket",
    "create_api_key",
    "create_app",
    "hash_api_key",
    "key_filters",
    "parse_time",
    "scope_allows",
    "serve",
    "start_server",
    "uvicorn_config",
]

_HOME = {
    "SCOPES": "_apikeys",
    "CreatedKey": "_apikeys",
    "create_api_key": "_apikeys",
    "hash_api_key": "_apikeys",
    "scope_allows": "_apikeys",
    "create_app": "_app",
    "TraceQuery": "_query",
    "key_filters": "_query",
    "parse_time": "_query",
    "RunningServer": "_runtime",
    "serve": "_runtime",
    "start_server": "_runtime",
    "ServerSettings": "_settings",
    "ThreadedServer": "_threaded",
    "bind_socket": "_threaded",
    "uvicorn_config": "_threaded",
}


__getattr__ = lazy_names(__name__, _HOME)
