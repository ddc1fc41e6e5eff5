"""Start-up of ``evallock run``: what it imports, its garbage collection, its typer app.

The figures are in ``bench/startup.py``; these tests keep the reasons for them:
heavy optional parts stay unloaded unless a run uses them, the process's GC is
tuned only when ``main`` is the program, and building one command instead of
the whole app changes nothing a user sees.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from evallock.demo import FakeService
from evallock.store import open_store

# Loaded only by the runs that need them: a template prompt, a YAML file or config,
# a regex or json-schema assertion, a store that needs migrating, PostgreSQL, the
# statistics of ab/drift, the server, embeddings.
OPTIONAL = (
    "jinja2",
    "yaml",
    "regex",
    "jsonschema",
    "alembic",
    "psycopg",
    "numpy",
    "scipy",
    "fastapi",
    "uvicorn",
    "sentence_transformers",
)


def _as_program(args: list[str], report: str) -> str:
    """``python -c`` source running ``evallock ARGS`` as the console script does (no argv)."""
    return (
        "import atexit, gc, sys\n"
        f"atexit.register(lambda: print({report}))\n"
        f"sys.argv = ['evallock', *{args!r}]\n"
        "from evallock.cli.main import main\n"
        "main()\n"
    )


def _write_cases(path: Path, assertion: dict[str, Any]) -> None:
    rows = [
        {"id": f"c{i}", "input": "I was charged twice", "assert": [assertion]} for i in range(3)
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def test_an_http_run_with_a_plain_prompt_loads_none_of_the_optional_parts(
    tmp_path: Path, fake_service: FakeService
) -> None:
    cases = tmp_path / "golden.jsonl"
    _write_cases(cases, {"type": "icontains", "value": "business days"})
    prompt = tmp_path / "prompt.txt"
    prompt.write_text(
        "You are Acme support.\n"
        "- [refund, charged twice] Duplicate charges are refunded within 5 business days.\n"
    )
    store = f"sqlite:///{tmp_path}/e.db"
    open_store(store).close()  # migrated: the usual CI run
    args = [str(cases), "--base-url", fake_service.base_url, "--model", "support-bot"]
    args += ["--prompt", str(prompt), "--store", store, "--baseline", "none"]
    report = f"'LOADED', [m for m in {OPTIONAL!r} if m in sys.modules]"
    done = subprocess.run(
        [sys.executable, "-c", _as_program(["run", *args], report)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"CI": "true", "PATH": "/usr/bin:/bin"},
    )
    assert "GATE PASSED" in done.stdout, done.stdout + done.stderr
    assert done.stdout.strip().splitlines()[-1] == "LOADED []", done.stdout


def test_the_program_collects_during_the_cases_and_freezes_on_its_way_out(
    tmp_path: Path,
) -> None:
    (tmp_path / "gcbot.py").write_text(
        "import gc\n"
        "def answer(messages):\n"
        "    return f'collecting {gc.isenabled()} frozen {gc.get_freeze_count() > 0}'\n"
    )
    cases = tmp_path / "golden.jsonl"
    _write_cases(cases, {"type": "equals", "value": "collecting True frozen True"})
    args = ["run", str(cases), "--python", "gcbot:answer", "--store", f"sqlite:///{tmp_path}/e.db"]
    report = "'AT EXIT', gc.isenabled(), gc.get_freeze_count() > 0"
    done = subprocess.run(
        [sys.executable, "-c", _as_program(args, report)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "CI": "true", "PATH": "/usr/bin:/bin"},
    )
    assert "GATE PASSED" in done.stdout, done.stdout + done.stderr
    assert done.stdout.strip().splitlines()[-1] == "AT EXIT True True", done.stdout


def test_ab_collects_during_the_cases_too(tmp_path: Path) -> None:
    (tmp_path / "gcbot.py").write_text(
        "import gc\n"
        "def answer(messages):\n"
        "    return f'collecting {gc.isenabled()} frozen {gc.get_freeze_count() > 0}'\n"
    )
    (tmp_path / "evallock.yaml").write_text("target: {python: 'gcbot:answer'}\n")
    cases = tmp_path / "golden.jsonl"
    _write_cases(cases, {"type": "equals", "value": "collecting True frozen True"})
    args = ["ab", str(cases), "--a", "key.arm=a", "--b", "key.arm=b", "--json", "ab.json"]
    args += ["--store", f"sqlite:///{tmp_path}/e.db"]
    done = subprocess.run(
        [sys.executable, "-c", _as_program(args, "'AT EXIT', gc.isenabled()")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "CI": "true", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((tmp_path / "ab.json").read_text())
    assert report["a"]["mean"] == report["b"]["mean"] == 1.0  # every answer saw gc on, frozen
    assert done.stdout.strip().splitlines()[-1] == "AT EXIT True", done.stdout


def test_main_with_argv_leaves_the_callers_collector_alone(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "plainbot.py").write_text("def answer(messages):\n    return 'five days'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    cases = tmp_path / "golden.jsonl"
    _write_cases(cases, {"type": "icontains", "value": "five"})
    frozen = gc.get_freeze_count()

    result = cli("run", str(cases), "--python", "plainbot:answer", "--store", "sqlite:///e.db")

    assert result.code == 0, result.out + result.err
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen
    sys.modules.pop("plainbot", None)


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--help"],
        ["run"],
        ["run", "--bogus"],
        ["run", "x.jsonl", "--concurrency", "0"],
        ["run", "missing.jsonl", "--store", "sqlite:///e.db"],
        ["keys"],
        ["keys", "create", "--help"],
        ["traces"],
        ["candidates", "list", "--help"],
        ["serve", "--help"],
    ],
)
def test_the_app_of_one_command_reads_as_the_whole_app(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evallock.cli import main as cli_main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "100")
    only = cli_main._app_for(args[0])
    assert only is not cli_main.app
    seen = []
    for app in (cli_main.app, only):
        out, err = io.StringIO(), io.StringIO()
        with (
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
            pytest.raises(SystemExit) as exited,
        ):
            cli_main._invoke(app, list(args))
        seen.append((exited.value.code, out.getvalue(), err.getvalue()))
    assert seen[0] == seen[1]


@pytest.mark.parametrize("first", [None, "--help", "nosuchcommand"])
def test_anything_but_a_command_gets_the_whole_app(first: str | None) -> None:
    from evallock.cli import main as cli_main

    assert cli_main._app_for(first) is cli_main.app
