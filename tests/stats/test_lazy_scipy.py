"""Importing evallock.stats (and the gate) must not load scipy: it costs every run ~0.5 s."""

from __future__ import annotations

import subprocess
import sys


def test_gate_and_wilson_do_not_import_scipy() -> None:
    code = (
        "import sys, evallock.stats, evallock.gate\n"
        "evallock.stats.wilson_interval(9, 10)\n"
        "print('scipy' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
