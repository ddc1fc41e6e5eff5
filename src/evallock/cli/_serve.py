"""``evallock serve``: the HTTP service beside the team's LLM service (DESIGN §5)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from evallock.cli._options import (
    ConfigOption,
    JudgeApiKeyEnv,
    JudgeBaseUrl,
    JudgeModel,
    StoreOption,
)

__all__ = ["serve"]

_P = "Proxy"
_L = "Limits"


def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on; 0.0.0.0 for every interface.")
    ] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(
            min=0,
            max=65535,
            help="Port to listen on; 4318 is OTLP/HTTP's, where OpenTelemetry exporters send by default.",
        ),
    ] = 4318,
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
    grpc_port: Annotated[
        int,
        typer.Option(
            min=0,
            max=65535,
            help="Port of OTLP/gRPC ingest (the OTel SDKs' default protocol and port).",
        ),
    ] = 4317,
    no_grpc: Annotated[bool, typer.Option("--no-grpc", help="Take OTLP over HTTP only.")] = False,
    cases: Annotated[
        list[Path] | None,
        typer.Option(
            "--cases",
            help="JSONL case file the web review queue may promote accepted candidates into (repeatable).",
        ),
    ] = None,
    stream_usage: Annotated[
        bool,
        typer.Option(
            help="On streamed answers, ask the upstream for token usage (stream_options."
            "include_usage) and strip that extra event from clients that did not ask for it.",
            rich_help_panel=_P,
        ),
    ] = True,
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
    decode_budget_mb: Annotated[
        float | None,
        typer.Option(
            min=0.001,
            help="Body bytes OTLP ingest and feedback may hold at once (default 2 x --max-body-mb); "
            "past it a request gets 429 with Retry-After.",
            rich_help_panel=_L,
        ),
    ] = None,
    batch_rows: Annotated[
        int, typer.Option(min=1, help="Most rows per store transaction.", rich_help_panel=_L)
    ] = 5000,
    log_level: Annotated[
        str, typer.Option(help="critical, error, warning, info or debug.")
    ] = "info",
    store: StoreOption = None,
    config: ConfigOption = None,
    drift_every: Annotated[
        str | None,
        typer.Option(
            help="Run a drift check every DURATION (24h …) over the period just ended, and store it.",
            rich_help_panel="Scheduled drift",
        ),
    ] = None,
    drift_baseline: Annotated[
        str | None,
        typer.Option(
            help="The check's baseline: a mean, run:RUN_ID, or START..END.",
            rich_help_panel="Scheduled drift",
        ),
    ] = None,
    drift_sample: Annotated[
        int, typer.Option(min=1, help="Traces judged per check.", rich_help_panel="Scheduled drift")
    ] = 200,
    drift_by: Annotated[
        str | None,
        typer.Option(
            help="Slice keys of the check, e.g. customer_tier.", rich_help_panel="Scheduled drift"
        ),
    ] = None,
    drift_webhook: Annotated[
        str | None,
        typer.Option(help="Post alerts of the check here.", rich_help_panel="Scheduled drift"),
    ] = None,
    judge_base_url: JudgeBaseUrl = None,
    judge_model: JudgeModel = None,
    judge_api_key_env: JudgeApiKeyEnv = None,
    evaluate_settle: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="Seconds a trace waits after it first arrives before the online evaluators"
            " take it (time for its last spans).",
            rich_help_panel="Online evaluators",
        ),
    ] = 5.0,
) -> int:
    """Serve OTLP trace ingest, the recording proxy, feedback, the trace API and the dashboard.

    Listens on 127.0.0.1:4318 by default: OTLP/HTTP's port, so an OpenTelemetry SDK
    exporter left at its defaults (http://localhost:4318) reaches it; and takes
    OTLP/gRPC on 4317 (--grpc-port, --no-grpc), the SDKs' default protocol, with the
    key in the call's metadata (authorization: Bearer evl_…).

    Routes: POST /v1/traces and /v1/logs (OTLP/HTTP, protobuf or JSON; /v1/metrics
    is answered and dropped), POST
    /v1/chat/completions (recording proxy, with --upstream), POST /v1/feedback,
    GET /api/traces, and the dashboard at GET / (sign in with a read key);
    /healthz, /readyz and /openapi.json need no key. Every other route needs a key from
    `evallock keys create` (Authorization: Bearer evl_…).

    With --drift-every, a drift check runs on that schedule and each report is
    stored (GET /api/drift lists them). The online evaluators of evallock.yaml
    (evaluators:) score sampled traces as they arrive, under their budgets
    (GET /api/evaluators shows them); --evaluate-settle sets how long a trace waits
    for its last spans first.

    Example: evallock serve --upstream http://localhost:8000/v1 --store sqlite:///.evallock/evallock.db
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
    every_s, drift = _drift_settings(
        settings,
        drift_every,
        drift_baseline,
        drift_sample,
        drift_by,
        judge_base_url,
        judge_model,
        judge_api_key_env,
    )
    judge = None
    if settings.evaluators:
        from evallock.cli._common import judge_from
        from evallock.online import check_rules

        judge = judge_from(
            settings, base_url=judge_base_url, model=judge_model, api_key_env=judge_api_key_env
        )
        check_rules(settings.evaluators, judge)
    run_service(
        ServerSettings(
            store_url=settings.store,
            host=host,
            port=port,
            upstream=upstream,
            upstream_api_key=resolve_secret(upstream_api_key_env),
            upstream_timeout_s=upstream_timeout,
            stream_usage=stream_usage,
            grpc_port=None if no_grpc else grpc_port,
            no_auth=no_auth,
            max_body_bytes=int(max_body_mb * 1024 * 1024),
            decode_budget_bytes=None
            if decode_budget_mb is None
            else int(decode_budget_mb * 1024 * 1024),
            batch_rows=batch_rows,
            log_level=log_level.lower(),
            drift_every_s=every_s,
            drift=drift,
            drift_webhook=drift_webhook,
            case_files=tuple(str(path.resolve()) for path in cases or ()),
            evaluators=settings.evaluators,
            calibration=settings.calibration,
            judge=judge,
            evaluate_settle_s=evaluate_settle,
        )
    )
    return 0


def _drift_settings(
    settings: Any,
    every: str | None,
    baseline: str | None,
    sample: int,
    by: str | None,
    judge_base_url: str | None,
    judge_model: str | None,
    judge_api_key_env: str | None,
) -> tuple[float | None, Any]:
    """The scheduled drift check the flags describe (None, None without --drift-every)."""
    if every is None:
        return None, None
    from evallock.cli._common import judge_from
    from evallock.drift import DriftRequest
    from evallock.errors import UsageError
    from evallock.times import parse_duration

    period = parse_duration(every)
    if period is None or period.total_seconds() <= 0:
        raise UsageError(f"--drift-every {every!r}: expected a duration like 24h")
    if baseline is None:
        raise UsageError("--drift-every needs --drift-baseline (a mean, run:RUN_ID or START..END)")
    number = run_id = window = None
    if baseline.startswith("run:"):
        run_id = baseline[4:]
    elif ".." in baseline:
        window = baseline
    else:
        try:
            number = float(baseline)
        except ValueError:
            raise UsageError(
                f"--drift-baseline {baseline!r}: a mean, run:RUN_ID or START..END"
            ) from None
    judge = judge_from(
        settings, base_url=judge_base_url, model=judge_model, api_key_env=judge_api_key_env
    )
    if not judge.configured:
        raise UsageError("--drift-every needs a judge: --judge-base-url and --judge-model")
    request = DriftRequest(
        sample=sample,
        baseline=number,
        baseline_run=run_id,
        baseline_window=window,
        by=tuple(k.strip() for k in (by or "").split(",") if k.strip()),
        judge=judge,
        calibration=settings.calibration,
    )
    return period.total_seconds(), request
