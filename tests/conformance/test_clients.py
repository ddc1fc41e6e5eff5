"""Conformance: the real client libraries, unmodified, against a running ``evallock serve``.

Each client library instruments the real ``openai`` SDK in its own process
(``client.py``), configured only with evallock's endpoint and key, and makes four
calls to the bundled fake service: plain, streamed, a tool call, an error. The stored
trace must hold what the app saw (input, output, model, tokens, tool calls, the
error), the keys the library's ecosystem sets, under the client's own trace id; on
SQLite and on PostgreSQL.

openlit and OpenLLMetry's SDK pin versions the rest of the suite cannot share (openlit
wants ``openai<3``), so make installs each under ``.venv/clients/<name>`` and the
client runs with that directory first on its path.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from evallock.records import ToolCall
from evallock.server import ServerSettings, create_api_key, start_server
from evallock.store import Store, open_store

HERE = Path(__file__).parent
CLIENTS = Path(sys.prefix) / "clients"
QUESTION = "How long does a refund take?"
SYSTEM_START = "Greeting: Hello!"


@dataclass(frozen=True)
class Dialect:
    keys: dict[str, str]
    """Keys the library's own API or configuration sets, as they must be stored."""
    target: str | None = None
    """Its own install under .venv/clients (None: the suite's environment)."""
    input_on_error: bool = True
    """Whether the library records the request of a call that failed."""
    priced: bool = False
    """Whether it prices the call (openlit, from its price table)."""


RESOURCE_KEYS = {"service_version": "2.3.0", "deployment_environment": "production"}
DIALECTS = {
    "openinference": Dialect(
        keys={
            "session_id": "s-conformance",
            "user_id": "u-42",
            "prompt_version": "refund-v4",
            "customer_tier": "enterprise",
            "tags": '["conformance"]',
        }
    ),
    "genai": Dialect(keys=RESOURCE_KEYS),
    "genai-latest": Dialect(keys=RESOURCE_KEYS),
    "openllmetry": Dialect(
        keys={"prompt_version": "refund-v4", "customer_tier": "enterprise", "session_id": "s-tl"},
        target="openllmetry",
    ),
    "langfuse": Dialect(
        keys={"session_id": "s-lf", "user_id": "u-lf", "customer_tier": "enterprise"}
    ),
    "openlit": Dialect(
        keys={"deployment_environment": "production"},
        target="openlit",
        input_on_error=False,
        priced=True,
    ),
}
PATHS = ("plain", "streamed", "tool_call", "error")


@dataclass
class Served:
    url: str
    grpc: str
    store: Store
    key: str
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)


BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@pytest.fixture(scope="module", params=BACKENDS)
def served(
    request: pytest.FixtureRequest, fake_service: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """A real ``evallock serve`` (OTLP/HTTP and gRPC) over a fresh store on each backend."""
    schemas = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('conformance') / 'evallock.db'}"
    else:
        schemas = request.getfixturevalue("_postgres_schemas")
        schema = schemas.take_migrated()
        url = schemas.url_of(schema)
    store = open_store(url)
    key = create_api_key(store, name="conformance", scope="ingest").secret
    settings = ServerSettings(
        store_url=url, port=0, grpc_port=0, upstream=fake_service.base_url, auth_cache_s=0
    )
    server = start_server(settings, store=store)
    try:
        grpc_port = server.app.state.evallock.grpc.port
        yield Served(server.url, f"127.0.0.1:{grpc_port}", store, key)
    finally:
        server.stop()
        store.close()
        if schemas is not None:
            schemas.give_back(schema)


def run_client(served: Served, name: str, fake_service: Any) -> dict[str, Any]:
    """Run one client library's app once per server; what it saw, by path."""
    if name in served.runs:
        return served.runs[name]
    dialect = DIALECTS[name]
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OTEL_", "TRACELOOP_", "OPENAI_", "PYTHONPATH"))
    }
    env.update(
        LLM_BASE_URL=fake_service.base_url,
        EVALLOCK_URL=served.url,
        EVALLOCK_GRPC=served.grpc,
        EVALLOCK_KEY=served.key,
        TRACELOOP_METRICS_ENABLED="false",
        TRACELOOP_TELEMETRY="false",
    )
    if dialect.target is not None:
        target = CLIENTS / dialect.target
        if not target.is_dir():
            pytest.fail(f"{target} is missing: `make unit` installs the client libraries")
        env["PYTHONPATH"] = str(target)
    done = subprocess.run(
        [sys.executable, str(HERE / "client.py"), name],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{name} client failed:\n{done.stderr[-3000:]}"
    served.runs[name] = json.loads(done.stdout.strip().splitlines()[-1])
    return served.runs[name]


@pytest.mark.slow
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("name", DIALECTS)
def test_a_client_library_trace_arrives_whole_with_its_keys(
    served: Served, fake_service: Any, name: str, path: str
) -> None:
    dialect = DIALECTS[name]
    seen = run_client(served, name, fake_service)[path]
    # The client flushed before it printed, and evallock answers an export once it is
    # committed: the trace is there now, under the client's own trace id.
    trace = served.store.traces.get(seen["trace_id"])
    assert trace is not None, f"no trace {seen['trace_id']}"
    assert trace.source == "otlp"
    assert trace.keys.items() >= dialect.keys.items(), trace.keys
    assert trace.model == seen["model"]
    assert trace.latency_ms is not None and trace.latency_ms > 0
    if path == "error":
        assert trace.error is not None and "404" in trace.error, trace.error
        assert trace.output is None and trace.tool_calls == []
        if dialect.input_on_error:
            assert trace.input == QUESTION
        return
    assert trace.error is None
    assert (trace.tokens_in, trace.tokens_out) == (seen["tokens_in"], seen["tokens_out"])
    if dialect.priced:
        price = (seen["tokens_in"] * 0.001 + seen["tokens_out"] * 0.002) / 1000
        assert trace.cost == pytest.approx(price)
    if path == "tool_call":
        assert trace.input == "What is my order status?"
        assert trace.output is None
        assert trace.tool_calls == [ToolCall(**call) for call in seen["tool_calls"]]
        return
    assert trace.input == QUESTION
    assert trace.output == seen["output"]
    assert trace.tool_calls == []
    system = [m for m in trace.messages or [] if m.get("role") == "system"]
    assert len(system) == 1 and str(system[0]["content"]).startswith(SYSTEM_START)
