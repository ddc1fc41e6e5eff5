"""A progress bar on a terminal, none in CI or when output is not a TTY."""

from __future__ import annotations

import json
import os
import select
import subprocess
from pathlib import Path

import pytest

from .conftest import EVALLOCK


def run_in_pty(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    """Run the CLI with a pseudo-terminal as stdout and stderr; return what it wrote."""
    master, slave = os.openpty()
    process = subprocess.Popen(args, cwd=cwd, stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 30)
        if not ready:
            break
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    process.wait(timeout=30)
    os.close(master)
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.slow
def test_progress_bar_on_a_terminal_and_quiet_in_ci(
    tmp_path: Path, fake_service, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A terminal needs a real process on a pseudo-terminal; piped output is checked in process."""
    cases = tmp_path / "c.jsonl"
    rows = [
        {"id": f"c{i}", "input": "refund", "assert": [{"type": "max-length", "value": 999}]}
        for i in range(30)
    ]
    cases.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    args = [
        EVALLOCK,
        "run",
        str(cases),
        "--base-url",
        fake_service.base_url,
        "--model",
        "support-bot",
        "--store",
        f"sqlite:///{tmp_path}/p.db",
        "--concurrency",
        "2",
    ]
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["TERM"] = "xterm"
    shown = run_in_pty(args, tmp_path, env)
    assert "running" in shown and "/30" in shown, shown[-2000:]
    quiet = run_in_pty(args, tmp_path, {**env, "CI": "true"})
    assert "running" not in quiet and "GATE PASSED" in quiet
    monkeypatch.delenv("CI")
    monkeypatch.setenv("TERM", "xterm")
    piped = cli(*args[1:])
    assert "running" not in piped.out + piped.err and piped.code == 0
