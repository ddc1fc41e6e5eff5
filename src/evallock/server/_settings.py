"""Server settings: what ``evallock serve`` was asked to do, checked before anything starts.

One frozen record carries every option of the HTTP service, so the app factory,
the CLI, the tests and the benchmark build the same server from the same
values. :meth:`ServerSettings.check` refuses the combinations that must never
run, such as ``--no-auth`` on an address other machines can reach.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from evallock.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from evallock.calibration import CalibrationFloor
    from evallock.drift import DriftRequest
    from evallock.online import EvaluatorRule
    from evallock.session import JudgeSpec

__all__ = ["DEFAULT_MAX_BODY_BYTES", "ServerSettings", "is_loopback", "upstream_chat_url"]

DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
"""16 MiB: the request body limit, before and after decompression."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ServerSettings:
    """Every option of the HTTP service."""

    store_url: str = "sqlite:///.evallock/evallock.db"
    """The store traces, feedback and API keys are kept in."""
    host: str = "127.0.0.1"
    """The address to listen on."""
    port: int = 4318
    """The port to listen on (0 picks a free one)."""
    upstream: str | None = None
    """The OpenAI-compatible base URL the recording proxy forwards to, e.g. ``http://h:8001/v1``."""
    upstream_api_key: str | None = None
    """Sent upstream as ``Authorization: Bearer …`` when the client authenticated with an
    evallock key in ``Authorization`` (and so has no upstream key of its own there)."""
    upstream_timeout_s: float = 600.0
    """Longest wait for the upstream between two bytes of its answer."""
    grpc_port: int | None = None
    """Also take OTLP over gRPC on this port (4317 is its default; 0 picks a free one);
    None: HTTP only."""
    stream_usage: bool = True
    """Ask the upstream for usage on streamed answers a client did not ask it for (so the
    trace has token counts), and keep that extra final event from the client."""
    no_auth: bool = False
    """Serve without API keys; only allowed on a loopback address."""
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    """Largest request body, both as sent and after ``Content-Encoding`` is undone (413)."""
    decode_budget_bytes: int | None = None
    """Most body bytes (as sent, plus decompressed) OTLP ingest and feedback hold at once
    across all requests; a request past it answers 429 with ``Retry-After``. None:
    twice ``max_body_bytes``. Decoding costs up to ~9x a body's bytes (``bench/hostile.py``:
    three 15 MB OTLP/JSON bodies of small messages), so the default keeps decoding near
    300 MB at the 16 MiB body limit."""
    batch_rows: int = 5000
    """Most rows the writer commits in one transaction."""
    batch_linger_ms: float = 2.0
    """How long the writer waits for more rows before committing a small batch."""
    max_pending_rows: int = 200_000
    """Rows waiting for the writer beyond which ingest answers 503 (and retries later)."""
    auth_cache_s: float = 2.0
    """How long a checked API key is trusted before it is looked up again (a revoked key
    stops working within this time)."""
    log_level: str = "info"
    """uvicorn's log level."""
    drift_every_s: float | None = None
    """Run a drift check every this many seconds (``--drift-every``); None: never."""
    drift: DriftRequest | None = None
    """The check to run: judge, baseline, sample, slices (its window is set each time)."""
    drift_webhook: str | None = None
    """Where a scheduled check's alert is posted."""
    evaluators: tuple[EvaluatorRule, ...] = ()
    """Online evaluators to run on traces as they arrive (``evaluators:`` in evallock.yaml)."""
    judge: JudgeSpec | None = None
    """The judge they ask (``judge:`` in evallock.yaml and the judge flags)."""
    calibration: CalibrationFloor | None = None
    """When the judge counts as calibrated (``calibration:`` in evallock.yaml)."""
    evaluate_settle_s: float = 5.0
    """How long a trace waits after its first span before it is evaluated (later spans)."""
    case_files: tuple[str, ...] = ()
    """The JSONL case files the review queue may promote accepted candidates into
    (``serve --cases FILE``, repeatable); none: the queue accepts and rejects only."""

    def check(self) -> None:
        """Refuse settings that must not run.

        Raises:
            UsageError: ``--no-auth`` on a non-loopback address, or a bad upstream URL,
                limit or decode budget.
        """
        if self.no_auth and not is_loopback(self.host):
            raise UsageError(
                f"--no-auth serves without API keys, so it binds only a loopback address "
                f"(127.0.0.1, ::1 or localhost), not {self.host!r}; create a key with "
                f"`evallock keys create --scope admin` instead"
            )
        if self.upstream is not None:
            upstream_chat_url(self.upstream)
        if self.max_body_bytes < 1024:
            raise ConfigError("--max-body-mb: the body limit must be at least 1 KiB")
        if self.decode_budget < self.max_body_bytes:
            raise ConfigError(
                f"the decode budget ({self.decode_budget:,} bytes) must be at least the "
                f"body limit ({self.max_body_bytes:,} bytes)"
            )
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"--port {self.port}: expected 0–65535")

    @property
    def decode_budget(self) -> int:
        """``decode_budget_bytes``, or its default of twice ``max_body_bytes``."""
        if self.decode_budget_bytes is None:
            return 2 * self.max_body_bytes
        return self.decode_budget_bytes

    @property
    def chat_url(self) -> str | None:
        """The upstream chat completions URL, or None without an upstream."""
        return None if self.upstream is None else upstream_chat_url(self.upstream)


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach.

    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def upstream_chat_url(upstream: str) -> str:
    """The chat completions URL of an upstream, given as an OpenAI base URL or a bare host.

    Raises:
        ConfigError: not an ``http(s)://`` URL.

    >>> upstream_chat_url("http://127.0.0.1:8001/v1")
    'http://127.0.0.1:8001/v1/chat/completions'
    >>> upstream_chat_url("http://127.0.0.1:8001")
    'http://127.0.0.1:8001/v1/chat/completions'
    """
    parts = urlsplit(upstream)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"--upstream {upstream!r}: expected an http(s) URL like http://localhost:8001/v1"
        )
    base = upstream.rstrip("/")
    if parts.path.strip("/") == "":
        base += "/v1"
    return base + "/chat/completions"
