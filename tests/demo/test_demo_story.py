"""``evallock demo`` tells the whole loop, end to end, on a fresh work directory.

One run of the story (the embedded SQLite store, the bundled fake model, a real
``evallock serve`` on a socket with real HTTP traffic), kept serving as with
``--keep-serving`` while the dashboard is read, and then the checks, each on what
the story promises a newcomer.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from evallock.cli._story import Story
from evallock.store import open_store

pytestmark = pytest.mark.timeout(180)


def test_the_demo_tells_the_story_and_exits_0(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    workdir = tmp_path / "demo"
    pages: dict[str, httpx.Response] = {}

    def look(root: str) -> None:  # what a user sees with --keep-serving
        # the drift check judged a sample (2 in 3 traces): a complained-about trace it judged
        store = open_store(f"sqlite:///{workdir / 'evallock.db'}")
        try:
            complained = [t for c in store.candidates.find(limit=None) for t in c.trace_ids]
            judged = next(t for t in complained if store.reports.judgements(t))
            failing = next(r for r in store.runs.find(limit=20) if r.verdict == "fail")
        finally:
            store.close()
        with httpx.Client(base_url=root, timeout=10) as client:
            pages["/"] = client.get("/")
            pages["lock"] = client.get(f"/traces/{_trace_locks(workdir)[0]['source']['trace_id']}")
            session = _session_lock(workdir)["source"]["session_id"]
            pages["session"] = client.get(f"/sessions/{session}")
            pages["judged"] = client.get(f"/traces/{judged}")
            pages["failing run"] = client.get(f"/runs/{failing.run_id}")
            pages["its locks"] = client.get(f"/runs/{failing.run_id}", params={"status": "lock"})
            pages["drift"] = client.get("/drift")
            pages["compare"] = client.get("/compare")
            pages["compare bad"] = client.get("/compare", params={"by": "a;b"})
            pages["enterprise traces"] = client.get(
                "/traces", params={"keys": "customer_tier=enterprise", "rating": "down"}
            )

    out = io.StringIO()
    console = Console(file=out, width=200, color_system=None)
    code = Story(workdir=workdir, console=console, keep_serving=True, hold=look).tell()
    text = out.getvalue()  # the story and the commands shown
    shown = capsys.readouterr().out  # what the commands printed
    assert code == 0, text[-3000:] + shown[-3000:]
    # each step is shown as the command a user types, in the story's order
    commands = [
        "$ evallock run golden.jsonl --json v3.json",
        "$ evallock run golden.jsonl --prompt prompts/support-v4.txt --key prompt_version=refund-v4",
        "$ evallock ab golden.jsonl --a prompt=prompts/support-v3.txt",
        "$ evallock serve --upstream",
        "$ evallock drift --since",
        "$ evallock candidates propose --golden golden.jsonl",
        "$ evallock candidates accept",
        "$ evallock candidates promote --to golden.jsonl",
        "$ evallock compare --by prompt_version,customer_tier",
        "$ evallock coverage --golden golden.jsonl",
    ]
    positions = [text.find(command) for command in commands]
    assert -1 not in positions, [c for c, p in zip(commands, positions, strict=True) if p < 0]
    assert positions == sorted(positions)
    assert "a fixed bug came back" in shown and "lock not checked" not in shown
    assert "passes now on" in shown  # each lock ran once on v3 before it was written
    assert "offline win, online loss" in shown
    assert "Dashboard: http://127.0.0.1:" in text and "went off script" not in text
    # the dashboard was up and showed the story
    assert pages["/"].status_code == 200 and "Review queue" in pages["/"].text
    # the drift panel names the slice that alerted, not only the overall row
    alerting = re.search(r'<tr class="slice">(?:(?!</tr>).)*</tr>', pages["/"].text, re.S)
    assert alerting is not None and "customer_tier=enterprise" in alerting.group(0)
    assert '<td class="alert">ALERT</td>' in alerting.group(0)
    assert pages["lock"].status_code == 200 and "account manager" in pages["lock"].text
    # the rated conversation: every turn, the tools called, the rating of the session
    conversation = pages["session"].text
    assert pages["session"].status_code == 200
    assert conversation.count('<div class="turn turn-user">') == 2
    assert conversation.count("calls <code>order_status</code>") == 2
    assert "got the shipping status again" in conversation
    assert pages["judged"].status_code == 200 and "1/5" in pages["judged"].text
    # the failing gate's page: why, and each lock linked to the trace it came from
    failing = pages["failing run"].text
    assert "GATE FAILED" in failing and "lock case failed: " in failing
    locks = _locks(workdir)
    assert pages["its locks"].text.count('<tr id="case-') == len(locks)
    for lock in locks:
        assert f'href="/traces/{lock["source"]["trace_id"]}"' in pages["its locks"].text
    # the drift page: the enterprise slice is its own series, and it alerted
    assert '<strong>customer_tier=enterprise</strong> <span class="alert">1 alert</span>' in (
        pages["drift"].text
    )
    # offline vs online: the enterprise slice of v4 is flagged on the web as in the CLI
    rows = re.findall(r'<tr class="flagged">(?:(?!</tr>).)*</tr>', pages["compare"].text, re.S)
    flagged = [row for row in rows if "offline win, online loss" in row]
    assert len(flagged) == 1 and "customer_tier=enterprise" in flagged[0]
    assert "prompt_version=refund-v4" in flagged[0]
    # the order assistant's complaints are in a slice no gate run covers, and it says so
    (uncovered,) = [row for row in rows if row not in flagged]
    assert "prompt_version=orders-v1" in uncovered and "no offline coverage" in uncovered
    assert pages["compare bad"].status_code == 400
    # coverage of the case file the demo serves with (--cases golden.jsonl): the enterprise
    # refund slice is covered now that its locks were promoted
    coverage = pages["compare"].text.split('<section id="coverage">')[1]
    assert "<code>golden.jsonl</code>" in coverage and "customer_tier=enterprise" in coverage
    # the complaints behind them, found by filtering live traces
    assert "No trace matches." not in pages["enterprise traces"].text
    _v4_wins_offline_then_its_gate_fails_on_locks_from_production(workdir)
    ab = json.loads((workdir / "ab.json").read_text())
    # two more passes in 24 cases is not evidence: the A/B says so, with its interval
    assert ab["verdict"] == "no significant difference" and ab["ci"][0] < 0 < ab["ci"][1]
    _drift_alerts_on_the_enterprise_slice_only(workdir)
    _compare_and_coverage_name_the_slice(workdir)


def test_the_command_offers_keep_serving(cli) -> None:
    shown = cli("demo", "--help")
    assert (
        shown.code == 0 and "--keep-serving" in shown.out and "Example: evallock demo" in shown.out
    )


def _locks(workdir: Path) -> list[dict]:
    lines = [json.loads(line) for line in (workdir / "golden.jsonl").read_text().splitlines()]
    return [line for line in lines if line.get("source", {}).get("lock")]


def _trace_locks(workdir: Path) -> list[dict]:
    return [lock for lock in _locks(workdir) if "session_id" not in lock["source"]]


def _session_lock(workdir: Path) -> dict:
    (lock,) = [lock for lock in _locks(workdir) if "session_id" in lock["source"]]
    return lock


def _v4_wins_offline_then_its_gate_fails_on_locks_from_production(workdir: Path) -> None:
    v3, v4 = (json.loads((workdir / f"{v}.json").read_text()) for v in ("v3", "v4"))
    assert v3["verdict"] == v4["verdict"] == "pass" and v4["pass_rate"] > v3["pass_rate"]
    again = json.loads((workdir / "v4-again.json").read_text())
    assert again["verdict"] == "fail" and again["locks_failed"] and not again["locks_errored"]
    # the locks are pinned to real production traces, with the template variables they need
    assert {lock["id"] for lock in _locks(workdir)} == set(again["locks_failed"])
    # the conversation's lock: both turns, the session's tool results, its trajectory graded
    session = _session_lock(workdir)
    assert session["turns"] == ["Can I return it?"] and set(session["tools"][0]) == {
        "type",
        "function",
    }
    assert list(session["tool_results"]) == ["order_status"]
    (replayed,) = [c for c in again["cases"] if c["id"] == session["id"]]
    assert replayed["turns"] == 2
    assert [c["name"] for c in replayed["tool_calls"]] == ["order_status", "order_status"]
    assert "expected a call to refund_policy" in replayed["reason"]
    store = open_store(f"sqlite:///{workdir / 'evallock.db'}")
    try:
        assert len(store.traces.session(session["source"]["session_id"])) == 4
        for lock in _trace_locks(workdir):
            assert lock["vars"] == {"plan": "enterprise"}
            assert lock["keys"]["customer_tier"] == "enterprise"
            trace = store.traces.get(lock["source"]["trace_id"])
            assert trace is not None and trace.keys["prompt_version"] == "refund-v4"
            assert trace.vars == {"plan": "enterprise"}
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
