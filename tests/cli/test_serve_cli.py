"""``evallock serve`` and ``evallock keys`` from the command line: flags, refusals, exit codes."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from evallock.store import open_store

SERVE_MAIN = (
    "import sys\n"
    "from evallock.cli import main as m\n"
    "from evallock.cli._serve import serve\n"
    "if 'serve' not in {c.name for c in m.app.registered_commands}:\n"
    "    m.app.command('serve')(serve)\n"
    "m.main(sys.argv[1:])\n"
)


def register_commands() -> None:
    """Add serve, keys and traces to ``evallock``'s app when main.py does not yet."""
    from evallock.cli import main as m
    from evallock.cli._keys import keys_app
    from evallock.cli._serve import serve
    from evallock.cli._traces import traces_app

    commands = {c.name for c in m.app.registered_commands}
    groups = {
        g.name or g.typer_instance.info.name for g in m.app.registered_groups if g.typer_instance
    }
    if "serve" not in commands:
        m.app.command("serve")(serve)
    if "keys" not in groups:
        m.app.add_typer(keys_app, name="keys")
    if "traces" not in groups:
        m.app.add_typer(traces_app, name="traces")


@pytest.fixture(autouse=True)
def _commands() -> None:
    register_commands()


@pytest.mark.parametrize(
    "args", [["serve"], ["keys"], ["keys", "create"], ["keys", "list"], ["keys", "revoke"]]
)
def test_help_ends_with_an_example(cli: Callable, args: list[str]) -> None:
    result = cli(*args, "--help")
    assert result.code == 0
    lines = [line.strip() for line in result.out.strip().splitlines() if line.strip()]
    assert any(line.startswith("Example: evallock") for line in lines), result.out


def test_serve_listens_on_otlp_https_port_by_default(cli: Callable) -> None:
    """4318 is where an OpenTelemetry exporter left at its defaults sends; 8000 is the port
    of the user's own service in the README's examples, so serve must not take it."""
    from evallock.server import ServerSettings

    assert ServerSettings().port == 4318
    shown = cli("serve", "--help")
    assert re.search(r"--port\b.*?\[default: 4318", shown.out, re.S), shown.out


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "::"])
def test_no_auth_refuses_a_non_loopback_bind(cli: Callable, host: str) -> None:
    result = cli("serve", "--no-auth", "--host", host, "--store", "sqlite:///x.db")
    assert result.code == 2
    assert "loopback" in result.err and host in result.err


def test_unreachable_store_and_taken_port_are_exit_3(
    cli: Callable, closed_port: int, tmp_path: Path
) -> None:
    store = cli("serve", "--store", f"postgresql://nobody@127.0.0.1:{closed_port}/x")
    assert store.code == 3 and "cannot open store" in store.err
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        busy = cli("serve", "--port", str(port), "--store", f"sqlite:///{tmp_path}/s.db")
    assert busy.code == 3 and f"cannot listen on 127.0.0.1:{port}" in busy.err
    bad = cli("serve", "--upstream", "localhost:8001", "--store", f"sqlite:///{tmp_path}/s.db")
    assert bad.code == 2 and "--upstream" in bad.err


def test_keys_create_list_revoke(cli: Callable, store_url: str) -> None:
    created = cli(
        "keys", "create", "--scope", "ingest", "--name", "checkout-bot", "--store", store_url
    )
    assert created.code == 0, created.err
    secret = created.out.strip()
    assert re.fullmatch(r"evl_[A-Za-z0-9_-]{40,}", secret)
    key_id = re.search(r"created (key_[0-9a-f]+)", created.err).group(1)  # type: ignore[union-attr]
    listed = cli("keys", "list", "--store", store_url)
    assert listed.code == 0 and key_id in listed.out and "checkout-bot" in listed.out
    assert secret not in listed.out
    assert cli("keys", "revoke", key_id, "--store", store_url).code == 0
    with open_store(store_url) as store:
        [key] = store.api_keys.all()
        assert key.revoked_at is not None
    unknown = cli("keys", "revoke", "key_nope", "--store", store_url)
    assert unknown.code == 2 and "no active key" in unknown.err
    wrong = cli("keys", "create", "--scope", "root", "--store", store_url)
    assert wrong.code == 2 and "ingest, read, admin" in wrong.err


@pytest.mark.slow
def test_serve_as_a_process_records_and_stops_cleanly(
    store_url: str, fake_service, tmp_path: Path
) -> None:
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                SERVE_MAIN,
                "serve",
                "--port",
                "0",
                "--grpc-port",
                "0",
                "--no-auth",
                "--store",
                store_url,
                "--upstream",
                fake_service.base_url,
            ],
            stdout=out,
            stderr=out,
            env={**os.environ, "CI": "true"},
        )
    try:
        deadline = time.monotonic() + 30
        while not (found := re.search(r"listening on (http://\S+)", log.read_text())):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        url = found.group(1)
        assert httpx.get(f"{url}/readyz").json()["auth"] is False
        # OTLP/gRPC listens beside HTTP (the lifespan has run once /readyz answers)
        assert re.search(r"OTLP/gRPC on 127\.0\.0\.1:\d+", log.read_text()), log.read_text()
        answer = httpx.post(
            f"{url}/v1/chat/completions",
            json={"model": "support-bot", "messages": [{"role": "user", "content": "refund?"}]},
            headers={"X-Evallock-Intent": "refund"},
            timeout=30,
        )
        assert answer.status_code == 200
        trace_id = answer.headers["x-evallock-trace-id"]
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    with open_store(store_url) as store:
        trace = store.traces.get(trace_id)
    assert trace is not None and trace.keys == {"intent": "refund"}
