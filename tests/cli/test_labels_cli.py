"""``evallock labels`` and ``evallock calibration``: a blind sample, people's scores back,
the judge's agreement with them, and the corrected online mean."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from evallock.records import Trace
from evallock.store import open_store


def test_sample_label_import_and_calibrate(cli, tmp_path: Path, fake_service) -> None:
    db = f"sqlite:///{tmp_path}/e.db"
    now = datetime.now(UTC)
    answers = [
        "Duplicate charges are refunded within 5 business days.",
        "I'm not sure, let me connect you with a human.",
        "No.",
    ]
    with open_store(db) as store:
        store.traces.add(
            [
                Trace(
                    trace_id=f"{n:032x}",
                    timestamp=now - timedelta(hours=1, minutes=n),
                    input=f"I was charged twice for order R{1000 + n}, refund?",
                    output=answers[n % 3],
                )
                for n in range(60)
            ]
        )
    (tmp_path / "evallock.yaml").write_text(
        f"store: {db}\n"
        f"judge:\n  base_url: {fake_service.base_url}\n  model: judge\n"
        "calibration: {min_kappa: 0.5, min_labels: 20}\n"
        "evaluators:\n  - name: quality\n"
    )
    assert cli("evaluate", "--since", "1d").code == 0
    sampled = cli("labels", "sample", "--evaluator", "quality", "--n", "40", "--out", "todo.jsonl")
    assert sampled.code == 0, sampled.err
    rows = [json.loads(line) for line in (tmp_path / "todo.jsonl").read_text().splitlines()]
    assert len(rows) == 40 and all(r["score"] is None for r in rows)
    assert all("judge" not in json.dumps(r).lower().replace('"evaluator"', "") for r in rows)
    with open_store(db) as store:
        judged = {s.trace_id: s.judge_score for s in store.online.scores(evaluator="quality")}
    for index, row in enumerate(rows):  # a person who mostly agrees with the judge
        judge = judged[row["subject"].removeprefix("trace:")]
        row["score"] = judge if index % 5 else max(1, judge - 1)
    (tmp_path / "done.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    stored = cli("labels", "import", "done.jsonl", "--reviewer", "ana")
    assert stored.code == 0 and "stored 40 labels (judge judge@" in stored.out, stored.err

    report = cli("calibration", "--json", "cal.json")
    assert report.code == 0
    (judge,) = json.loads((tmp_path / "cal.json").read_text())["judges"]
    assert judge["status"] == "calibrated" and judge["n"] == 40
    assert judge["bias"] > 0  # the person is a point stricter on every fifth answer
    low, high = judge["kappa_ci"]
    assert low <= judge["kappa_quadratic"] <= high
    assert "agrees with people" in report.out and "judge \\ people" in report.out
    status = cli("evaluate", "--since", "1d", "--json", "s.json")
    quality = json.loads((tmp_path / "s.json").read_text())["evaluators"][0]
    assert quality["calibration"]["status"] == "calibrated"
    assert quality["ppi_labels"] == 40 and quality["mean_ppi"] is not None
    lo, hi = quality["mean_ppi_ci"]
    assert lo <= quality["mean_ppi"] <= hi
    assert "corrected by 40 people's labels (PPI++)" in status.out


def test_bad_label_rows_are_file_line_and_nothing_is_stored(cli, tmp_path: Path) -> None:
    (tmp_path / "evallock.yaml").write_text(f"store: sqlite:///{tmp_path}/e.db\n")
    (tmp_path / "bad.jsonl").write_text(
        '{"subject": "trace:abc", "evaluator": "quality", "score": 9, "reviewer": "ana"}\n'
        '{"subject": "trace:abc", "evaluator": "quality", "score": 3}\n'
        '{"subject": "trace:abc", "evaluator": "quality", "score": 3, "reviewer": "ana"}\n'
        '{"subject": "run:x", "score": 3, "reviewer": "ana"}\n'
        "not json\n"
    )
    result = cli("labels", "import", "bad.jsonl")
    assert result.code == 2
    assert "bad.jsonl:5: not JSON" in result.err
    fixed = (tmp_path / "bad.jsonl").read_text().replace("not json\n", "")
    (tmp_path / "bad.jsonl").write_text(fixed)
    result = cli("labels", "import", "bad.jsonl")
    assert result.code == 2
    assert "bad.jsonl:1: score must be 1-5, got 9" in result.err
    assert "bad.jsonl:2: no reviewer" in result.err
    assert "bad.jsonl:3: trace:abc: evaluator quality has not judged it" in result.err
    assert "bad.jsonl:4: subject 'run:x': expected trace:<id>" in result.err
    empty = cli("calibration")
    assert empty.code == 0 and "no labels yet" in empty.out


def test_the_gate_shows_its_judge_s_agreement_and_can_require_it(
    cli, tmp_path: Path, fake_service
) -> None:
    import shutil

    from evallock.demo import example_dir

    shutil.copytree(example_dir(), tmp_path / "ex")
    db = f"sqlite:///{tmp_path}/e.db"
    (tmp_path / "evallock.yaml").write_text(
        f"store: {db}\n"
        f"target:\n  base_url: {fake_service.base_url}\n  model: support-bot\n"
        "  prompt: ex/prompts/support-v3.txt\n"
        f"judge:\n  base_url: {fake_service.base_url}\n  model: judge\n"
        "calibration: {min_kappa: 0.0, min_labels: 3}\n"
    )
    first = cli("run", "ex/golden.jsonl", "--json", "r1.json")
    assert first.code == 0, first.out + first.err
    report = json.loads((tmp_path / "r1.json").read_text())
    assert report["judge_calibration"]["status"] == "no-labels"
    assert "is not calibrated: no labels yet" in first.out
    refused = cli("run", "ex/golden.jsonl", "--require-calibrated", "--json", "r2.json")
    assert (
        refused.code == 2 and "--require-calibrated: judge judge (3 rubrics) is not" in refused.err
    )
    assert not (tmp_path / "r2.json").exists()
    judged = [c for c in report["cases"] if c["id"] in ("refund-004", "refund-010", "shipping-005")]
    rows = [
        {"subject": f"record:{report['run_id']}/{c['id']}/0", "score": 4, "reviewer": "ana"}
        for c in judged
    ]
    (tmp_path / "labels.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    stored = cli("labels", "import", "labels.jsonl")
    assert stored.code == 0, stored.err
    again = cli("run", "ex/golden.jsonl", "--require-calibrated", "--json", "r3.json")
    assert again.code == 0, again.out + again.err
    calibration = json.loads((tmp_path / "r3.json").read_text())["judge_calibration"]
    assert calibration["n"] == 3 and calibration["status"] in ("calibrated", "below-floor")


def test_several_reviewers_disputes_adjudication_and_the_audit_trail(cli, tmp_path: Path) -> None:
    from evallock.records import OnlineScore

    db = f"sqlite:///{tmp_path}/e.db"
    now = datetime.now(UTC)
    with open_store(db) as store:
        store.online.finish(
            [],
            [
                OnlineScore(
                    evaluator="quality", trace_id=f"{n:032x}", scored_at=now, status="scored",
                    version="judge@0a0a0a0a0a0a", score=0.5, judge_score=3, passed=True,
                    reason="ok",
                )
                for n in range(3)
            ],
        )  # fmt: skip
    (tmp_path / "evallock.yaml").write_text(f"store: {db}\ncalibration: {{min_labels: 2}}\n")
    rows = lambda scores: "".join(  # noqa: E731
        json.dumps({"subject": f"trace:{n:032x}", "evaluator": "quality", "score": s}) + "\n"
        for n, s in enumerate(scores)
    )
    (tmp_path / "ana.jsonl").write_text(rows([3, 2, 5]))
    (tmp_path / "ben.jsonl").write_text(rows([3, 5, 4]))  # disputes the second by 3 points
    assert cli("labels", "import", "ana.jsonl", "--reviewer", "ana").code == 0
    assert cli("labels", "import", "ben.jsonl", "--reviewer", "ben").code == 0
    (tmp_path / "ana2.jsonl").write_text(rows([3, 1, 5]))
    assert cli("labels", "import", "ana2.jsonl", "--reviewer", "ana").code == 0  # a relabel
    second = f"trace:{1:032x}"
    disputed = cli("labels", "disputed")
    assert (
        disputed.code == 0 and f"{second}  judge judge@0a0a0a0a0a0a: ana 1, ben 5" in disputed.out
    )
    cal = cli("calibration", "--json", "c.json")
    before = json.loads((tmp_path / "c.json").read_text())["judges"][0]
    assert before["disputed"] == 1 and before["reviewers"] == 2
    assert before["reviewer_alpha"] is not None
    settled = cli(
        "labels", "adjudicate", second, "--score", "3", "--reviewer", "lead",
        "--judge-version", "judge@0a0a0a0a0a0a", "--note", "policy says partial",
    )  # fmt: skip
    assert settled.code == 0, settled.err
    assert "no disputed answers" in cli("labels", "disputed").out
    cli("calibration", "--json", "c.json")
    after = json.loads((tmp_path / "c.json").read_text())["judges"][0]
    assert after["disputed"] == 0 and after["reviewers"] == 2  # the adjudicator is not a rater
    # the settled 3 now stands for the answer: judge 3 vs 3 there
    assert after["exact"] > before["exact"] and cal.code == 0
    trail = cli("labels", "history", second)
    lines = trail.out.splitlines()
    assert [line.split()[2] for line in lines] == ["label", "label", "relabel", "adjudicate"]
    assert "adjudicated:lead: 3" in lines[-1] and "(policy says partial)" in lines[-1]
    nothing = cli(
        "labels", "adjudicate", "trace:nope", "--score", "3", "--reviewer", "lead",
        "--judge-version", "judge@0a0a0a0a0a0a",
    )  # fmt: skip
    assert nothing.code == 2 and "no labels under judge" in nothing.err
