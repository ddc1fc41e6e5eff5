"""CLI fixtures: call ``evallock`` in-process (exit code + output) or as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from evallock.cli.main import main


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Callable[..., Result]:
    """Run ``evallock ARGS`` in-process in ``tmp_path``; returns exit code and output."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)

    def invoke(*args: str) -> Result:
        capsys.readouterr()
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0
        else:  # pragma: no cover - main always exits
            code = 0
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return invoke


EVALLOCK = str(Path(sys.executable).with_name("evallock"))


def run_process(
    *args: str, cwd: Path, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``evallock`` console script as a real process."""
    full_env = {**os.environ, "CI": "true", "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [EVALLOCK, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=full_env
    )
