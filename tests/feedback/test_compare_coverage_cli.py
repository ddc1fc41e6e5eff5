"""``evallock compare`` and ``evallock coverage`` from the command line: tables, JSON, escaping."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from evallock.records import EvalRecord, Run
from evallock.store import open_store

from .conftest import HOSTILE, T0, complaint, tid

TIER = "enterprise " + HOSTILE


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/store.db"
    store = open_store(url)
    try:
        for n, version in ((1, "v3"), (2, "v4")):
            run = Run(
                run_id=f"r{n}",
                dataset_id=f"golden@{n}",
                dataset_name="golden",
                target_id="t",
                started_at=datetime(2026, 11, n, tzinfo=UTC),
                keys={"prompt_version": version},
            )
            store.runs.create(run)
            store.runs.add_records(
                [
                    EvalRecord(
                        run_id=run.run_id,
                        case_id=f"c{i}",
                        trial=0,
                        passed=not (version == "v3" and i == 0),
                        score=1.0,
                        reason="ok",
                        keys={"prompt_version": version, "customer_tier": "consumer"},
                    )
                    for i in range(4)
                ]
            )
            store.runs.finish(
                run.run_id,
                status="complete",
                verdict="pass",
                summary=None,
                baseline_run_id=None,
                finished_at=run.started_at,
            )
        items = []
        for n in range(1, 121):
            version = "v3" if n <= 60 else "v4"
            keys = {"prompt_version": version, "customer_tier": TIER, "intent": "refund"}
            trace, rating = complaint(n, f"Our contract was charged twice, ticket {n}", keys=keys)
            items.append((trace, rating if version == "v4" or n % 20 == 0 else None))
        store.traces.add([t for t, _ in items])
        store.feedback.add([f for _, f in items if f is not None])
    finally:
        store.close()
    return url


def test_compare_flags_and_escapes(loop_cli, store_url) -> None:
    shown = loop_cli("compare", "--store", store_url)
    assert shown.code == 0, shown.err
    assert "offline win, online loss" in shown.out and "no offline coverage" in shown.out
    assert "\x1b" not in shown.out and "\x07" not in shown.out
    assert "RED[/] [bold]mar" in shown.out  # printed as text, never applied as markup
    assert loop_cli("compare", "--store", store_url, "--fail-on-loss").code == 1
    data = json.loads(loop_cli("compare", "--store", store_url, "--json", "-").out)
    assert data["flagged"] == [{"prompt_version": "v4", "customer_tier": TIER}]
    assert loop_cli("compare", "--store", store_url, "--by", "bad key!").code == 2
    window = loop_cli(
        "compare", "--store", store_url, "--since", "2026-10-04T10:00Z", "--json", "-"
    )
    assert json.loads(window.out)["flagged"] == []  # v3 traffic is outside the window
    assert loop_cli("compare", "--store", store_url, "--since", "yesterday-ish").code == 2


def test_coverage_names_the_blind_spot(loop_cli, store_url, tmp_path) -> None:
    golden = tmp_path / "golden.jsonl"
    golden.write_text(
        '{"id": "c0", "input": "q", "expected": "a", '
        '"keys": {"intent": "refund", "customer_tier": "consumer"}}\n'
    )
    shown = loop_cli("coverage", "--golden", str(golden), "--store", store_url)
    assert shown.code == 0, shown.err
    assert "0 — blind spot" in shown.out and "blind spot: intent=refund" in shown.out
    assert "\x1b" not in shown.out
    suggested = next(line for line in shown.out.splitlines() if line.startswith('{"id"'))
    assert json.loads(suggested)["source"]["trace_id"] == tid(120)
    assert (
        loop_cli(
            "coverage", "--golden", str(golden), "--store", store_url, "--fail-on-blind-spot"
        ).code
        == 1
    )
    data = json.loads(
        loop_cli("coverage", "--golden", str(golden), "--store", store_url, "--json", "-").out
    )
    assert data["blind_spots"] == [{"intent": "refund", "customer_tier": TIER}]
    missing = loop_cli("coverage", "--golden", str(tmp_path / "nope.jsonl"), "--store", store_url)
    assert missing.code == 2
    empty = loop_cli(
        "coverage",
        "--golden",
        str(golden),
        "--store",
        store_url,
        "--until",
        (T0 - timedelta(days=1)).isoformat(),
    )
    assert "no complaints" in empty.out
