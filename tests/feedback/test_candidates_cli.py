"""``evallock candidates``: propose, list, show, accept, reject, promote from the command line."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from evallock.store import open_store

from .conftest import HOSTILE, complaint, seed, tid

SRC = Path(__file__).resolve().parents[2] / "src" / "evallock"


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/store/evallock.db"
    opened = open_store(url)
    try:
        seed(
            opened,
            [
                complaint(1, "Our contract was charged twice " + HOSTILE),
                complaint(2, "our contract was charged twice " + HOSTILE + " (again)"),
                complaint(3, "How do we add seats?"),
            ],
        )
    finally:
        opened.close()
    return url


def test_the_review_loop_from_the_command_line(loop_cli, store_url, tmp_path) -> None:
    golden = tmp_path / "evals" / "golden.jsonl"
    golden.parent.mkdir()
    golden.write_text(
        '{"id": "seats", "input": "How do we add seats?", "expected": "admin console",'
        ' "keys": {"customer_tier": "enterprise"}}\n'
    )
    result = loop_cli("candidates", "propose", "--store", store_url, "--actor", "alice")
    assert result.code == 0, result.err
    assert "3 signalled trace(s): 2 new candidate(s)" in result.out
    assert "dup of seats" in result.out  # evals/golden.jsonl is found by default
    assert "\x1b" not in result.out and "\x07" not in result.out

    listed = loop_cli("candidates", "list", "--store", store_url, "--json", "-")
    rows = json.loads(listed.out)
    assert [(r["trace_count"], r["duplicate_of"]) for r in rows] == [(2, None), (1, "seats")]
    ident = rows[0]["candidate_id"]
    assert rows[0]["input"].endswith(HOSTILE + " (again)")  # JSON keeps the text as data

    shown = loop_cli("candidates", "show", ident, "--store", store_url)
    assert shown.code == 0 and "audit trail" in shown.out and "alice  proposed" in shown.out
    assert "\x1b" not in shown.out and "[bold]markup[/bold]" in shown.out  # shown, not applied

    accepted = loop_cli(
        "candidates",
        "accept",
        ident,
        "--expected",
        "refunded within 5 business days",
        "--assert",
        '{"type": "not-icontains", "value": "30 days"}',
        "--assert",
        '[{"type": "not-icontains", "value": "account manager"}]',
        "--var",
        "plan=enterprise",
        "--note",
        "v4 said 30 days",
        "--store",
        store_url,
        "--actor",
        "bob",
    )
    assert accepted.code == 0, accepted.err
    rejected = loop_cli(
        "candidates",
        "reject",
        rows[1]["candidate_id"],
        "--reason",
        "covered",
        "--store",
        store_url,
    )
    assert rejected.code == 0
    before = golden.read_bytes()
    unchecked = loop_cli("candidates", "promote", "--to", str(golden), "--store", store_url)
    assert unchecked.code == 2 and "names no target" in unchecked.err
    assert golden.read_bytes() == before  # refused before anything was written
    promoted = loop_cli(
        "candidates", "promote", "--to", str(golden), "--store", store_url, "--no-check"
    )
    assert promoted.code == 0, promoted.err
    assert f"promoted {ident} as fb-{tid(2)[:8]} (lock)" in promoted.out
    assert "dataset_id golden@" in promoted.out
    lines = golden.read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[1])["assert"][1]["value"] == "account manager"
    again = loop_cli("candidates", "promote", "--to", str(golden), "--store", store_url)
    assert "nothing to promote" in again.out and len(golden.read_text().splitlines()) == 2

    detail = json.loads(
        loop_cli("candidates", "show", ident, "--store", store_url, "--json", "-").out
    )
    assert [e["action"] for e in detail["events"]] == ["proposed", "accepted", "promoted"]
    assert detail["events"][1]["actor"] == "bob" and detail["state"] == "promoted"


def test_usage_errors_exit_2(loop_cli, store_url) -> None:
    bad_signal = loop_cli("candidates", "propose", "--from", "vibes", "--store", store_url)
    assert bad_signal.code == 2 and "--from 'vibes'" in bad_signal.err
    loop_cli("candidates", "propose", "--store", store_url)
    assert loop_cli("candidates", "show", "ffffffff", "--store", store_url).code == 2
    ident = tid(2)[:8]
    no_expected = loop_cli("candidates", "accept", ident, "--store", store_url)
    assert no_expected.code == 2 and "--expected" in no_expected.err
    bad_json = loop_cli("candidates", "accept", ident, "--assert", "{nope", "--store", store_url)
    assert bad_json.code == 2 and "not JSON" in bad_json.err
    bad_var = loop_cli(
        "candidates", "accept", ident, "--expected", "x", "--var", "plan", "--store", store_url
    )
    assert bad_var.code == 2
    no_reason = loop_cli("candidates", "reject", ident, "--store", store_url)
    assert no_reason.code == 2
    embeddings = loop_cli("candidates", "propose", "--embeddings", "--store", store_url)
    assert embeddings.code in (0, 2)  # 2 without the embeddings extra, with a hint to install it


def test_list_with_nothing_and_every_help_ends_with_an_example(loop_cli, tmp_path) -> None:
    url = f"sqlite:///{tmp_path}/empty.db"
    assert "no candidates" in loop_cli("candidates", "list", "--store", url).out
    for command in ("propose", "list", "show", "accept", "reject", "promote"):
        shown = loop_cli("candidates", command, "--help")
        assert shown.code == 0 and "Example: evallock candidates" in shown.out
    for command in ("compare", "coverage"):
        assert f"Example: evallock {command}" in loop_cli(command, "--help").out


@pytest.mark.parametrize(
    "package", ["feedback", "analysis", "store/_candidates.py", "store/_slices.py"]
)
def test_library_code_imports_no_cli_or_web_framework(package: str) -> None:
    root = SRC / package
    files = [root] if root.is_file() else sorted(root.rglob("*.py"))
    for file in files:
        for node in ast.walk(ast.parse(file.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in {"typer", "rich", "fastapi", "starlette"}, file
