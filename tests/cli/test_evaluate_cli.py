"""``evallock evaluate``: the online evaluators of evallock.yaml over stored traces."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from evallock.records import Trace
from evallock.store import open_store


def test_a_backfill_scores_the_window_once_and_reports_mean_with_interval(
    cli, tmp_path: Path, fake_service
) -> None:
    db = f"sqlite:///{tmp_path}/e.db"
    now = datetime.now(UTC)
    with open_store(db) as store:
        store.traces.add(
            [
                Trace(
                    trace_id=f"{n:032x}",
                    timestamp=now - timedelta(hours=2, minutes=n),
                    input=f"I was charged twice, refund? ({n})",
                    output="Refunds take 5 business days." if n % 2 else "No idea.",
                    keys={"intent": "refund" if n < 6 else "shipping"},
                )
                for n in range(8)
            ]
        )
    (tmp_path / "evallock.yaml").write_text(
        f"store: {db}\n"
        f"judge:\n  base_url: {fake_service.base_url}\n  model: judge\n"
        "evaluators:\n"
        "  - name: quality\n    where: {intent: refund}\n"
        "  - name: says-when\n    assert:\n      - type: icontains\n        value: business days\n"
    )
    result = cli("evaluate", "--since", "1d", "--json", "status.json")
    assert result.code == 0, result.out + result.err
    assert "quality: looked at 8 traces; scored 6, errors 0, skipped over budget 0" in result.out
    assert "says-when: looked at 8 traces; scored 8" in result.out
    status = {
        e["name"]: e for e in json.loads((tmp_path / "status.json").read_text())["evaluators"]
    }
    assert status["says-when"]["mean"] == 0.5 and status["says-when"]["scored"] == 8
    low, high = status["says-when"]["mean_ci"]
    assert low < 0.5 < high
    assert "95% CI" in result.out
    again = cli("evaluate", "--since", "1d", "--evaluator", "quality")
    # the refund traces have their verdicts: only the two it does not take are looked at
    assert again.code == 0 and "quality: looked at 2 traces; scored 0" in again.out
    unknown = cli("evaluate", "--evaluator", "nope")
    assert unknown.code == 2 and "no such evaluator (known: quality, says-when)" in unknown.err
    (tmp_path / "evallock.yaml").write_text(f"store: {db}\n")
    none = cli("evaluate")
    assert none.code == 2 and "no evaluators" in none.err
    (tmp_path / "evallock.yaml").write_text(f"store: {db}\nevaluators:\n  - name: quality\n")
    no_judge = cli("evaluate")
    assert no_judge.code == 2 and "asks the judge" in no_judge.err
