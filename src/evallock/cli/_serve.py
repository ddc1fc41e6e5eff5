"""``evallock serve``: the HTTP service beside the team's LLM service (DESIGN §5)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["serve"]

_P = "Proxy"
_L = "Limits"


def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on; 0.0.0.0 for every interface.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8000,
    upstream: Annotated[
        str | None,
        typer.Option(
            help="OpenAI-compatible base URL the recording proxy forwards "
            "POST /v1/chat/completions to, e.g. http://localhost:8001/v1.",
            rich_help_panel=_P,
        ),
    ] = None,
    upstream_api_key_env: Annotated[
        str | None,
        typer.Option(
            help="Env var with the upstream's API key, sent when a client's Authorization "
            "carries its evallock key.",
            rich_help_panel=_P,
        ),
    ] = None,
    upstream_timeout: Annotated[
        float,
        typer.Option(
            min=0.1, help="Seconds to wait for the upstream's next byte.", rich_help_panel=_P
        ),
    ] = 600.0,
    no_auth: Annotated[
        bool,
        typer.Option(
            "--no-auth",
            help="Serve without API keys (development only; refused off loopback).",
        ),
    ] = False,
    max_body_mb: Annotated[
        float,
        typer.Option(
            min=0.001,
            help="Largest request body, as sent and decompressed (413).",
            rich_help_panel=_L,
        ),
    ] = 16.0,
    batch_rows: Annotated[
        int, typer.Option(min=1, help="Most rows per store transaction.", rich_help_panel=_L)
    ] = 5000,
    log_level: Annotated[
        str, typer.Option(help="critical, error, warning, info or debug.")
    ] = "info",
    store: Annotated[
        str | None, typer.Option(help="Store URL (sqlite:///… or postgresql://…).")
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="Config file (default ./evallock.yaml).")
    ] = None,
) -> int:
    """Serve OTLP trace ingest, the recording proxy, feedback and the trace API.

    Routes: POST /v1/traces and /v1/logs (OTLP/HTTP, protobuf or JSON), POST
    /v1/chat/completions (recording proxy, with --upstream), POST /v1/feedback,
    GET /api/traces; /healthz, /readyz and /docs need no key. Every other route
    needs a key from `evallock keys create` (Authorization: Bearer evl_…).

    Example: evallock serve --port 8000 --upstream http://localhost:8001/v1 --store sqlite:///.evallock/evallock.db
    """
    from evallock.cli._common import load
    from evallock.config import resolve_secret
    from evallock.errors import ConfigError
    from evallock.server import ServerSettings
    from evallock.server import serve as run_service

    levels = ("critical", "error", "warning", "info", "debug")
    if log_level.lower() not in levels:
        raise ConfigError(f"--log-level {log_level!r}: expected one of {', '.join(levels)}")
    settings = load(config, store)
    run_service(
        ServerSettings(
            store_url=settings.store,
            host=host,
            port=port,
            upstream=upstream,
            upstream_api_key=resolve_secret(upstream_api_key_env),
            upstream_timeout_s=upstream_timeout,
            no_auth=no_auth,
            max_body_bytes=int(max_body_mb * 1024 * 1024),
            batch_rows=batch_rows,
            log_level=log_level.lower(),
        )
    )
    return 0
