"""Reports stay well-formed and safe with hostile case output."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from rich.console import Console

from evallock.cases import CaseFile
from evallock.evaluation import EvalOutcome
from evallock.gate import GateThresholds, evaluate_gate
from evallock.records import CaseResult, Run
from evallock.report import junit_xml, markdown_summary
from evallock.report.terminal import print_run
from evallock.runner import RunStats

HOSTILE = (
    "</failure><script>alert(1)</script> | ``` \x1b[31mRED\x1b[0m \x00\x07 '; DROP TABLE runs; --"
)


def outcome() -> EvalOutcome:
    results = [
        CaseResult(
            case_id="ok",
            passed=True,
            score=1.0,
            reason="ok",
            output="fine",
            error=None,
            error_kind=None,
            trials=1,
            trials_passed=1,
            keys={"intent": "refund"},
        ),
        CaseResult(
            case_id="bad|<id>",
            passed=False,
            score=0.0,
            reason=HOSTILE,
            output=HOSTILE,
            error=None,
            error_kind=None,
            trials=1,
            trials_passed=0,
            lock=True,
        ),
        CaseResult(
            case_id="down",
            passed=False,
            score=None,
            reason="target error",
            output=None,
            error="HTTP 500: " + HOSTILE,
            error_kind="target",
            trials=1,
            trials_passed=0,
        ),
    ]
    gate = evaluate_gate(results, thresholds=GateThresholds())
    run = Run(
        run_id="r1",
        dataset_id="golden@abc",
        dataset_name="golden",
        target_id="t",
        started_at=datetime(2026, 11, 1, tzinfo=UTC),
        keys={"prompt_version": HOSTILE},
    )
    dataset = CaseFile(
        name="golden",
        path="golden.jsonl",
        dataset_id="golden@abc",
        count=len(results),
        first_judged=None,
        digest="",
    )
    return EvalOutcome(
        run=run,
        dataset=dataset,
        gate=gate,
        stats=RunStats(),
        notable=tuple(r for r in results if not r.passed),
        not_passing_or_flaky=2,
        read_results=lambda: iter([(r, []) for r in results]),
    )


def test_junit_is_well_formed_and_keeps_the_text() -> None:
    root = ET.fromstring(junit_xml(outcome()).encode())
    cases = {tc.get("name"): tc for tc in root.iter("testcase")}
    assert set(cases) == {"ok", "bad|<id>", "down"}
    failure = cases["bad|<id>"].find("failure")
    assert failure is not None and "<script>" in failure.get("message")
    assert "\x00" not in failure.get("message") and failure.get("type") == "evallock.LockFailure"
    assert cases["down"].find("error") is not None
    assert cases["ok"].get("classname") == "golden.refund"
    assert root.get("tests") == "3" and root.get("failures") == "1" and root.get("errors") == "1"


def test_markdown_escapes_html_and_table_breakers() -> None:
    text = markdown_summary(outcome())
    assert "<script>" not in text and "&lt;script&gt;" in text
    for line in text.splitlines():
        if line.startswith("| `bad"):
            assert line.count(" | ") == 1  # pipes in the cell are escaped
    assert "Locks failed" in text and "Errored" in text


def test_terminal_strips_control_sequences_and_markup() -> None:
    buffer = io.StringIO()
    print_run(outcome(), Console(file=buffer, width=200, force_terminal=False))
    shown = buffer.getvalue()
    assert "\x1b" not in shown and "\x07" not in shown
    assert "[31m" not in shown
    assert "GATE FAILED" in shown and "lock case failed: bad|<id>" in shown
