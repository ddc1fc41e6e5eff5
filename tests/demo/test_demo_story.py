"""``evallock demo`` tells the whole loop, end to end, on a fresh work directory.

One run of the real command (in-process, the embedded SQLite store, the bundled
fake model, a real ``evallock serve`` on a socket with real HTTP traffic) and
then the checks, each on what the story promises a newcomer.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evallock.store import open_store

pytestmark = pytest.mark.timeout(180)


def test_the_demo_tells_the_story_and_exits_0(cli, tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    result = cli("demo", "--workdir", str(workdir))
    assert result.code == 0, result.out[-3000:] + result.err
    out = result.out
    # each step is shown as the command a user types, in the story's order
    commands = [
        "$ evallock run golden.jsonl --json v3.json",
        "$ evallock run golden.jsonl --prompt prompts/support-v4.txt --key prompt_version=refund-v4",
        "$ evallock serve --upstream",
        "$ evallock drift --since",
        "$ evallock candidates propose --golden golden.jsonl",
        "$ evallock candidates accept",
        "$ evallock candidates promote --to golden.jsonl",
        "$ evallock compare --by prompt_version,customer_tier",
        "$ evallock coverage --golden golden.jsonl",
    ]
    positions = [out.find(command) for command in commands]
    assert -1 not in positions, [c for c, p in zip(commands, positions, strict=True) if p < 0]
    assert positions == sorted(positions)
    assert "a fixed bug came back" in out
    assert "offline win, online loss" in out
    assert "Dashboard: http://127.0.0.1:" in out
    assert "went off script" not in out
    # one run of the demo (some 10 s) serves every check below
    _v4_wins_offline_then_its_gate_fails_on_locks_from_production(workdir)
    _drift_alerts_on_the_enterprise_slice_only(workdir)
    _compare_and_coverage_name_the_slice(workdir)


def _v4_wins_offline_then_its_gate_fails_on_locks_from_production(workdir: Path) -> None:
    v3, v4 = (json.loads((workdir / f"{v}.json").read_text()) for v in ("v3", "v4"))
    assert v3["verdict"] == v4["verdict"] == "pass" and v4["pass_rate"] > v3["pass_rate"]
    again = json.loads((workdir / "v4-again.json").read_text())
    assert again["verdict"] == "fail" and again["locks_failed"]
    # the locks are pinned to real production traces, with the template variables they need
    lines = [json.loads(line) for line in (workdir / "golden.jsonl").read_text().splitlines()]
    locks = [line for line in lines if line.get("source", {}).get("lock")]
    assert {lock["id"] for lock in locks} == set(again["locks_failed"])
    store = open_store(f"sqlite:///{workdir / 'evallock.db'}")
    try:
        for lock in locks:
            assert lock["vars"] == {"plan": "enterprise"}
            assert lock["keys"]["customer_tier"] == "enterprise"
            trace = store.traces.get(lock["source"]["trace_id"])
            assert trace is not None and trace.keys["prompt_version"] == "refund-v4"
            assert "account manager" in (trace.output or "")
    finally:
        store.close()


def _drift_alerts_on_the_enterprise_slice_only(workdir: Path) -> None:
    report = json.loads((workdir / "drift.json").read_text())
    alerting = [s["keys"] for s in report["slices"] if s["alert"]]
    assert alerting == [{"customer_tier": "enterprise"}]
    quiet = [s for s in report["slices"] if not s["alert"]]
    assert {s["keys"]["customer_tier"] for s in quiet} == {"consumer", "pro"}


def _compare_and_coverage_name_the_slice(workdir: Path) -> None:
    compared = json.loads((workdir / "compare.json").read_text())
    assert {"prompt_version": "refund-v4", "customer_tier": "enterprise"} in compared["flagged"]
    coverage = json.loads((workdir / "coverage.json").read_text())
    assert {"intent": "refund", "customer_tier": "enterprise"} not in coverage["blind_spots"]
