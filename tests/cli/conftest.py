"""CLI helpers: the installed ``evallock`` console script as a real process.

The in-process ``cli`` fixture lives in ``tests/conftest.py``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EVALLOCK = str(Path(sys.executable).with_name("evallock"))


def run_process(
    *args: str, cwd: Path, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``evallock`` console script as a real process."""
    full_env = {**os.environ, "CI": "true", "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [EVALLOCK, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=full_env
    )
