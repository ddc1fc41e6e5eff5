"""The pytest plugin: ``pytest --evallock golden.jsonl`` in a project, as a team runs it.

Each test runs pytest in its own process (the plugin is found through its ``pytest11``
entry point, as in a user's environment) in a copy of the bundled example whose
``evallock.yaml`` points at the bundled fake service.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from evallock.demo import example_dir

pytestmark = pytest.mark.slow


@pytest.fixture
def project(tmp_path: Path, fake_service: Any) -> Path:
    root = tmp_path / "project"
    shutil.copytree(example_dir(), root)
    config = (root / "evallock.yaml").read_text()
    config = config.replace("http://127.0.0.1:8001/v1", fake_service.base_url)
    (root / "evallock.yaml").write_text(config)
    return root


def pytest_in(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "EVALLOCK_"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cases_are_tests_and_the_session_follows_the_gate(project: Path) -> None:
    done = pytest_in(project, "--evallock", "golden.jsonl", "--junitxml", "junit.xml")
    out = done.stdout
    # 2 of the example's 28 cases fail on v3, within the gate's 90 %: the gate passes
    assert "2 failed, 26 passed" in out, out[-3000:]
    assert done.returncode == 0, out[-3000:]
    assert 'icontains: expected to contain "pause"' in out  # the grader's reason per item
    assert "pass rate 92.9% (26/28), 95% Wilson interval [77.4%, 98.0%]" in out
    assert "GATE PASSED" in out
    cases = ET.parse(project / "junit.xml").getroot().iter("testcase")
    properties = {
        case.get("name"): {p.get("name"): p.get("value") for p in case.iter("property")}
        for case in cases
    }
    assert properties["refund-001"]["key.intent"] == "refund"
    # the run is a gate run in the store, as `evallock run` makes
    history = subprocess.run(
        [sys.executable, "-m", "evallock.cli.main", "history", "golden.jsonl", "--json", "h.json"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert history.returncode == 0, history.stderr
    [row] = json.loads((project / "h.json").read_text())
    assert row["pass_rate"] == pytest.approx(26 / 28)


def test_a_failed_gate_fails_the_session_and_a_lock_says_what_came_back(project: Path) -> None:
    lock = {
        "id": "lock-enterprise-refund",
        "input": "I'm on an enterprise contract: how do I get a refund?",
        "vars": {"plan": "enterprise"},
        "assert": [{"type": "icontains", "value": "pro rata"}],
        "keys": {"intent": "refund", "customer_tier": "enterprise"},
        "source": {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "lock": True},
    }
    with (project / "golden.jsonl").open("a") as cases:
        cases.write(json.dumps(lock) + "\n")
    done = pytest_in(project, "--evallock", "golden.jsonl")
    out = done.stdout
    assert done.returncode == 1, out[-3000:]
    assert "lock: a fixed bug came back: icontains" in out
    assert "GATE FAILED" in out and "lock case failed: lock-enterprise-refund" in out


def test_xdist_is_refused_with_the_reason(project: Path) -> None:
    done = pytest_in(project, "--evallock", "golden.jsonl", "-n", "2")
    assert done.returncode == 4
    assert "drop -n" in done.stderr


def test_a_missing_or_bad_case_file_is_named(project: Path) -> None:
    missing = pytest_in(project, "--evallock", "nope.jsonl")
    assert missing.returncode == 4 and "nope.jsonl: no such case file" in missing.stderr
    (project / "bad.jsonl").write_text('{"id": "x"}\n')
    bad = pytest_in(project, "--evallock", "bad.jsonl")
    assert bad.returncode == 2 and "bad.jsonl:1" in bad.stdout


def test_assert_that_in_any_test_is_recorded_as_eval_records_with_keys(project: Path) -> None:
    (project / "test_bot.py").write_text(
        "def bot(question):\n"
        "    return 'Refunds take 5 business days.' if 'refund' in question else 'No idea.'\n"
        "\n"
        "def test_refund(evallock_expect):\n"
        "    answer = bot('refund please')\n"
        "    evallock_expect(answer, keys={'intent': 'refund'}).icontains('5 business days')"
        ".not_icontains('30 days')\n"
        "\n"
        "def test_shipping(evallock_expect):\n"
        "    evallock_expect(bot('where is it'), keys={'intent': 'shipping'}).icontains('tracking')\n"
    )
    done = pytest_in(project, "test_bot.py", "--evallock-record")
    assert done.returncode == 1, done.stdout[-2000:]
    assert 'icontains: expected to contain "tracking"' in done.stdout
    assert "answer: No idea." in done.stdout
    assert "the tests' checks recorded as run" in done.stdout
    from evallock.store import open_store

    with open_store(f"sqlite:///{project}/.evallock/evallock.db") as store:
        [run] = store.runs.find(dataset_name="pytest")
        records = sorted(store.runs.iter_records(run.run_id), key=lambda r: r.case_id)
    assert run.kind == "experiment" and run.summary.n == 2 and run.summary.passed == 1
    assert [r.case_id for r in records] == [
        "test_bot.py::test_refund",
        "test_bot.py::test_shipping",
    ]
    assert [r.passed for r in records] == [True, False]
    assert records[0].keys == {"intent": "refund"} and len(records[0].grades) == 2
    assert records[1].reason.startswith("icontains: ")


def test_assert_that_as_a_library_call() -> None:
    from evallock import assert_that

    checked = assert_that('{"refund": true}').is_json().contains("refund").not_regex(r"\d{3}")
    assert [g.name for g in checked.grades] == ["is-json", "contains", "not-regex"]
    with pytest.raises(AssertionError, match=r'starts-with: .*\nanswer: \{"refund": true\}'):
        assert_that('{"refund": true}').starts_with("[")
    with pytest.raises(ValueError, match="no-such-check"):
        assert_that("x").no_such_check("y")


def test_assert_that_asks_the_judge_against_a_reference(fake_service: Any) -> None:
    from evallock import assert_that
    from evallock.errors import ConfigError
    from evallock.session import JudgeSpec

    judge = JudgeSpec(base_url=fake_service.base_url, model="judge")
    good = assert_that(
        "Refunds take 5 business days to reach your card.", question="How long is a refund?"
    ).judge("Gives the refund time.", expected="Refunds take 5 business days.", judge=judge)
    [grade] = good.grades
    assert grade.passed and grade.judge_score >= 4
    with pytest.raises(AssertionError, match=r"judge \(score [1-3]/5\): .*\nanswer: No idea"):
        assert_that("No idea.", question="How long is a refund?").judge(
            "Gives the refund time.", expected="Refunds take 5 business days.", judge=judge
        )
    with pytest.raises(ConfigError, match=r"judge\.base_url"):
        assert_that("x").judge("r", judge=JudgeSpec())
