"""What a run loads: no scipy (about 0.5 s), no numpy, no FastAPI on the gate's path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_gate_and_wilson_do_not_import_scipy_or_numpy() -> None:
    code = (
        "import sys, evallock.stats, evallock.gate\n"
        "evallock.stats.wilson_interval(9, 10)\n"
        "print('scipy' in sys.modules, 'numpy' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


def test_a_whole_run_loads_none_of_the_heavy_optional_parts(tmp_path: Path) -> None:
    (tmp_path / "bot.py").write_text("def answer(messages):\n    return 'five business days'\n")
    cases = tmp_path / "golden.jsonl"
    rows = [
        {"id": f"c{i}", "input": "refund?", "assert": [{"type": "icontains", "value": "five"}]}
        for i in range(3)
    ]
    cases.write_text("".join(json.dumps(row) + "\n" for row in rows))
    code = (
        "import atexit, sys\n"
        "heavy = ('numpy', 'scipy', 'fastapi', 'uvicorn', 'jsonschema', 'sentence_transformers',"
        " 'jinja2', 'yaml', 'regex')\n"
        "atexit.register(lambda: print('LOADED', [m for m in heavy if m in sys.modules]))\n"
        "from evallock.cli.main import main\n"
        f"main(['run', {str(cases)!r}, '--python', 'bot:answer', '--store',"
        f" 'sqlite:///{tmp_path}/e.db', '--json', {str(tmp_path / 'r.json')!r}])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "CI": "true", "PATH": "/usr/bin:/bin"},
    )
    assert "GATE PASSED" in out.stdout, out.stdout + out.stderr
    assert out.stdout.strip().splitlines()[-1] == "LOADED []", out.stdout


def test_every_public_name_of_the_lazy_packages_resolves() -> None:
    import pytest

    import evallock.server
    import evallock.stats

    for package in (evallock.stats, evallock.server):
        for name in package.__all__:
            assert getattr(package, name) is not None, f"{package.__name__}.{name}"
        with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
            package.nothing_here
