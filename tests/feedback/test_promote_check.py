"""``candidates promote`` runs each new lock once before writing it, with the trace's vars.

The target is the bundled fake service with the example's enterprise-aware prompt
template (it needs ``plan``); traces arrive with their template variables, so the
candidate carries them, and the lock renders as production did.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from evallock.demo import example_dir
from evallock.store import open_store

from .conftest import complaint, seed, tid

QUESTION = "Our contract renewal was charged twice, can we get a refund?"


@pytest.fixture
def project(tmp_path: Path, fake_service) -> Path:
    shutil.copytree(example_dir() / "prompts", tmp_path / "prompts")
    (tmp_path / "evallock.yaml").write_text(
        "store: sqlite:///evallock.db\n"
        "target:\n"
        f"  base_url: {fake_service.base_url}\n"
        "  model: support-bot\n"
        "  prompt: prompts/support-v4.txt\n"
        "judge:\n"
        f"  base_url: {fake_service.base_url}\n"
        "  model: judge\n"
    )
    (tmp_path / "golden.jsonl").write_text(
        '{"id": "seats", "input": "How do we add seats?", "vars": {"plan": "enterprise"},'
        ' "assert": [{"type": "icontains", "value": "seats"}]}\n'
    )
    return tmp_path


def _seed(project: Path, variables: dict[str, str]) -> None:
    trace, feedback = complaint(1, QUESTION)
    store = open_store(f"sqlite:///{project / 'evallock.db'}")
    try:
        seed(store, [(dataclasses.replace(trace, vars=variables), feedback)])
    finally:
        store.close()


def _accept(loop_cli) -> None:
    assert loop_cli("candidates", "propose", "--golden", "golden.jsonl").code == 0
    accepted = loop_cli(
        "candidates", "accept", tid(1)[:8], "--expected", "refunded within 5 business days",
        "--assert", '{"type": "icontains", "value": "5 business days"}',
    )  # fmt: skip
    assert accepted.code == 0, accepted.err


def test_the_trace_vars_reach_the_lock_and_the_lock_runs_once_first(loop_cli, project) -> None:
    _seed(project, {"plan": "enterprise"})
    _accept(loop_cli)
    promoted = loop_cli("candidates", "promote", "--to", "golden.jsonl")
    assert promoted.code == 0, promoted.err
    # v4's enterprise answer sends the customer to an account manager: the bug is live
    assert f"fb-{tid(1)[:8]}: fails now on" in promoted.out and "(the bug is live)" in promoted.out
    lock = json.loads((project / "golden.jsonl").read_text().splitlines()[-1])
    assert lock["vars"] == {"plan": "enterprise"} and lock["source"]["lock"] is True


def test_a_lock_that_cannot_render_is_refused_and_nothing_is_written(loop_cli, project) -> None:
    _seed(project, {})  # the client sent no template variables
    _accept(loop_cli)
    before = (project / "golden.jsonl").read_bytes()
    promoted = loop_cli("candidates", "promote", "--to", "golden.jsonl")
    assert promoted.code == 2
    assert "'plan' is undefined" in promoted.err and "--var plan=VALUE" in promoted.err
    assert (project / "golden.jsonl").read_bytes() == before
    # given the variable at review, it promotes
    fixed = loop_cli("candidates", "accept", tid(1)[:8], "--expected", "5 business days",
                     "--var", "plan=enterprise")  # fmt: skip
    assert fixed.code == 0, fixed.err
    assert loop_cli("candidates", "promote", "--to", "golden.jsonl").code == 0
