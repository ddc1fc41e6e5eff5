"""The GitHub Action's gate step (``docs/ci/github-gate.sh``, run by ``action.yml``) as a real
bash process against the bundled service: the branch key, the base branch's baseline, the
reports, the exit code handed on, and inputs that are data, never shell."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from evallock.demo import example_dir

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "docs" / "ci" / "github-gate.sh"


@pytest.fixture
def workspace(tmp_path: Path, fake_service) -> Path:
    shutil.copytree(example_dir(), tmp_path / "ws")
    ws = tmp_path / "ws"
    (ws / "evallock.yaml").write_text(
        f"store: sqlite:///{ws}/e.db\n"
        f"target:\n  base_url: {fake_service.base_url}\n  model: support-bot\n"
        "  prompt: prompts/support-v3.txt\n"
        f"judge:\n  base_url: {fake_service.base_url}\n  model: judge\n"
    )
    return ws


def gate(ws: Path, **env: str) -> tuple[int, subprocess.CompletedProcess[str]]:
    output = ws / "github_output"
    output.write_text("")
    full = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_OUTPUT": str(output),
        "EVALLOCK_COMMAND": "run",
        "EVALLOCK_CASES": "golden.jsonl",
        **env,
    }
    done = subprocess.run(
        ["bash", str(SCRIPT)], cwd=ws, env=full, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr  # the step itself never fails: the code is handed on
    codes = [line for line in output.read_text().splitlines() if line.startswith("code=")]
    assert len(codes) == 1, output.read_text()
    return int(codes[0].removeprefix("code=")), done


def test_a_pull_request_is_gated_against_its_base_branchs_last_pass(workspace: Path) -> None:
    code, _ = gate(workspace, EVALLOCK_BRANCH="main", EVALLOCK_ARGS="--json main.json")
    assert code == 0
    main = json.loads((workspace / "main.json").read_text())
    assert main["keys"]["branch"] == "main"
    code, _ = gate(workspace, EVALLOCK_BRANCH="feature-x", EVALLOCK_ARGS="--json x.json")
    assert code == 0  # a newer pass, on another branch
    code, done = gate(
        workspace,
        EVALLOCK_BRANCH="fix-refunds",
        EVALLOCK_BASE_BRANCH="main",
        EVALLOCK_ARGS="--prompt prompts/support-v4.txt --json pr.json",
        EVALLOCK_CASES="golden.jsonl",
    )
    # support-v4 is the example's regression: the lock fails, so does the step's code
    assert code == 1, done.stdout + done.stderr
    pr = json.loads((workspace / "pr.json").read_text())
    assert pr["baseline_run_id"] == main["run_id"]
    assert pr["keys"]["branch"] == "fix-refunds"
    markdown = (workspace / "evallock.md").read_text()
    assert markdown.startswith("## evallock:") and "❌ fail" in markdown.splitlines()[0]
    assert (workspace / "evallock-junit.xml").exists()


def test_inputs_are_data_never_shell(workspace: Path) -> None:
    marker = workspace / "pwned"
    code, done = gate(
        workspace, EVALLOCK_ARGS=f"$(touch {marker}) `touch {marker}` *", EVALLOCK_BRANCH="main"
    )
    assert not marker.exists()
    assert code == 2 and "$(touch" in done.stderr  # evallock refused the argument, as text
    code, done = gate(workspace, EVALLOCK_COMMAND="run; touch pwned")
    assert code == 2 and "command must be run or ab" in done.stderr
    assert not (workspace / "pwned").exists()


def test_the_action_gates_comments_and_exits_with_the_gate_passing_inputs_as_data() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite" and "cases" in action["inputs"]
    steps = action["runs"]["steps"]
    for step in steps:
        script = step.get("run", "")
        assert "${{" not in script, f"an expression pasted into a script: {step.get('name')}"
    by_name = {step.get("name", ""): step for step in steps}
    gate_step = next(s for s in steps if s.get("id") == "gate")
    assert "docs/ci/github-gate.sh" in gate_step["run"]
    assert set(gate_step["env"]) >= {"EVALLOCK_COMMAND", "EVALLOCK_CASES", "EVALLOCK_ARGS"}
    assert gate_step["env"]["EVALLOCK_BASE_BRANCH"] == "${{ github.base_ref }}"
    comment = by_name["The verdict on the pull request"]
    assert "evallock comment evallock.md" in comment["run"]
    assert comment["env"]["GITHUB_TOKEN"] == "${{ github.token }}"
    decides = by_name["The gate decides the check"]
    assert decides["env"]["EVALLOCK_CODE"] == "${{ steps.gate.outputs.code }}"
    cache = next(s for s in steps if s.get("uses", "").startswith("actions/cache@"))
    assert cache["with"]["path"] == ".evallock"
    assert "github.base_ref" in cache["with"]["restore-keys"]  # a PR starts from its base's store
    used = [s["uses"] for s in steps if "uses" in s]
    assert all(u.startswith("actions/") for u in used)  # no third-party action


def test_the_gitlab_job_keys_the_branch_and_gates_against_the_default_branch() -> None:
    gitlab = yaml.safe_load((ROOT / "docs" / "ci" / "gitlab-ci.yml").read_text())["evallock-gate"]
    assert gitlab["artifacts"]["reports"]["junit"] == "evallock-junit.xml"
    assert gitlab["cache"]["paths"] == [".evallock/"]
    assert gitlab["cache"]["fallback_keys"] == ["evallock-store-$CI_DEFAULT_BRANCH"]
    script = "\n".join(gitlab["script"])
    assert '--baseline "last-pass:branch=$CI_MERGE_REQUEST_TARGET_BRANCH_NAME"' in script
    done = subprocess.run(["bash", "-n"], input=gitlab["script"][1], text=True, capture_output=True)
    assert done.returncode == 0, done.stderr
