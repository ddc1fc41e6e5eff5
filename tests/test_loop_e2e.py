"""The whole loop on the seed design's worked example: offline win, online loss, then a lock.

Prompt refund-v4 beats refund-v3 on a golden set with almost no enterprise contracts
(the bundled example without its enterprise refund cases), so both pass the gate and
v4 looks better. In production, enterprise customers start to complain after the v4
deploy. ``compare`` flags the enterprise slice of v4, ``coverage`` names enterprise
refunds a blind spot, the thumbs-downs become candidates, a reviewer accepts one with
the right answer and promotes it, and the next ``run`` of v4 fails on the new lock —
"a fixed bug came back", naming the trace it came from.
"""

from __future__ import annotations

import json
import random
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from evallock.demo import example_dir
from evallock.records import Feedback, Trace
from evallock.store import open_store

T0 = datetime(2026, 10, 1, tzinfo=UTC)
ENTERPRISE_REFUNDS = {"refund-007", "refund-008", "refund-009", "refund-010"}
QUESTIONS = {
    "consumer": [
        ("refund", "I was charged twice for order #{n}, can I get a refund?"),
        ("shipping", "How long does shipping take for order {n}?"),
        ("account", "I forgot my password, ticket {n}"),
    ],
    "enterprise": [
        ("refund", "Our enterprise contract was charged twice this month, ticket {n}."),
        ("account", "How do we add seats for {n} new hires?"),
    ],
    "pro": [("billing", "Can I get an invoice for order {n}?")],
}
ANSWERS = {
    "refund-v3": "Duplicate charges on enterprise contracts are refunded within 5 business days.",
    "refund-v4": "Enterprise contract refunds take 30 days and must be requested through your"
    " account manager.",
}


def register_loop_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    """Put ``candidates``, ``compare`` and ``coverage`` on the app, unless already there."""
    from evallock.cli import main as cli_main
    from evallock.cli._candidates import candidates_app
    from evallock.cli._compare import compare
    from evallock.cli._coverage import coverage

    app = cli_main.app
    commands, groups = list(app.registered_commands), list(app.registered_groups)
    scratch = type(app)()
    if "candidates" not in {g.name for g in groups}:
        scratch.add_typer(candidates_app, name="candidates")
    names = {c.name for c in commands}
    for name, command in (("compare", compare), ("coverage", coverage)):
        if name not in names:
            scratch.command(name)(command)
    monkeypatch.setattr(app, "registered_commands", commands + scratch.registered_commands)
    monkeypatch.setattr(app, "registered_groups", groups + scratch.registered_groups)


def production_traffic(*, days: int = 14, per_day: int = 100, seed: int = 17):
    """v3 for a week, then v4: enterprise refund answers turn wrong and get thumbs-downs."""
    rng = random.Random(seed)
    traces, feedback = [], []
    for day in range(days):
        version = "refund-v3" if day < days // 2 else "refund-v4"
        for _ in range(per_day):
            tier = rng.choices(["consumer", "enterprise", "pro"], weights=[6, 3, 1])[0]
            intent, template = rng.choice(QUESTIONS[tier])
            enterprise_refund = tier == "enterprise" and intent == "refund"
            trace_id = f"{rng.getrandbits(128):032x}"
            at = T0 + timedelta(days=day, seconds=rng.randrange(86_000))
            traces.append(
                Trace(
                    trace_id=trace_id,
                    timestamp=at,
                    input=template.format(n=rng.randrange(1000, 99_999)),
                    output=ANSWERS[version] if enterprise_refund else "A helpful answer.",
                    keys={
                        "prompt_version": version,
                        "model_version": "support-bot-v1",
                        "intent": intent,
                        "customer_tier": tier,
                    },
                    source="import",
                )
            )
            bad = enterprise_refund and version == "refund-v4"
            if rng.random() < (0.45 if bad else 0.03):
                feedback.append(
                    Feedback(
                        feedback_id=f"fb-{trace_id}",
                        trace_id=trace_id,
                        rating="down",
                        score=0.0,
                        comment="wrong: our contract says 5 business days" if bad else None,
                        name="user_feedback",
                        created_at=at + timedelta(minutes=5),
                    )
                )
    return traces, feedback


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The bundled example with a golden set that has no enterprise refund case."""
    source = example_dir()
    shutil.copytree(source / "prompts", tmp_path / "prompts")
    (tmp_path / "evals").mkdir()
    kept = [
        line
        for line in (source / "golden.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip() and json.loads(line)["id"] not in ENTERPRISE_REFUNDS
    ]
    (tmp_path / "evals" / "golden.jsonl").write_text("\n".join(kept) + "\n", encoding="utf-8")
    return tmp_path


def test_offline_win_online_loss_becomes_a_lock(cli, fake_service, project, monkeypatch) -> None:
    register_loop_commands(monkeypatch)
    store_url = f"sqlite:///{project}/.evallock/evallock.db"
    golden = project / "evals" / "golden.jsonl"

    def run(version: str, *extra: str):
        return cli(
            "run", str(golden), "--base-url", fake_service.base_url, "--model", "support-bot",
            "--prompt", str(project / "prompts" / f"support-{version}.txt"),
            "--key", f"prompt_version=refund-{version}", "--key", "model_version=support-bot-v1",
            "--judge-base-url", fake_service.base_url, "--judge-model", "judge",
            "--min-pass-rate", "0.8", "--store", store_url, *extra,
        )  # fmt: skip

    # 1. Offline, v4 wins: both pass the gate, v4 with the higher pass rate.
    v3 = run("v3", "--json", str(project / "v3.json"))
    assert v3.code == 0, v3.out + v3.err
    v4 = run("v4", "--json", str(project / "v4.json"))
    assert v4.code == 0, v4.out + v4.err
    v3_rate = json.loads((project / "v3.json").read_text())["pass_rate"]
    v4_rate = json.loads((project / "v4.json").read_text())["pass_rate"]
    assert v4_rate > v3_rate

    # 2. Production: enterprise complaints rise after the v4 deploy.
    store = open_store(store_url)
    try:
        traces, feedback = production_traffic()
        store.traces.add(traces)
        store.feedback.add(feedback)
    finally:
        store.close()

    # 3. compare flags the enterprise slice of v4 as an offline win and an online loss.
    compared = cli("compare", "--by", "prompt_version,customer_tier", "--store", store_url,
                   "--json", "-")  # fmt: skip
    assert compared.code == 0, compared.err
    comparison = json.loads(compared.out)
    assert comparison["flagged"] == [{"prompt_version": "refund-v4", "customer_tier": "enterprise"}]
    enterprise = comparison["slices"][0]
    assert enterprise["change"]["thumbs_down_ci"][0] > 0
    assert enterprise["change"]["offline_delta"] > 0
    table = cli("compare", "--store", store_url, "--fail-on-loss")
    assert table.code == 1 and "offline win, online loss: prompt_version=refund-v4" in table.out

    # 4. coverage names enterprise refunds as a blind spot.
    covered = cli("coverage", "--golden", str(golden), "--store", store_url, "--json", "-")
    report = json.loads(covered.out)
    assert report["slices"][0]["slice"] == {"intent": "refund", "customer_tier": "enterprise"}
    assert report["blind_spots"] == [{"intent": "refund", "customer_tier": "enterprise"}]

    # 5. The thumbs-downs become candidates; the enterprise one leads the queue.
    proposed = cli("candidates", "propose", "--golden", str(golden), "--store", store_url,
                   "--actor", "alice")  # fmt: skip
    assert proposed.code == 0, proposed.err
    queue = json.loads(cli("candidates", "list", "--state", "pending", "--store", store_url,
                           "--json", "-").out)  # fmt: skip
    top = queue[0]
    assert top["keys"]["customer_tier"] == "enterprise" and top["keys"]["intent"] == "refund"
    assert top["trace_count"] > 10 and top["output"] == ANSWERS["refund-v4"]
    again = cli("candidates", "propose", "--golden", str(golden), "--store", store_url)
    assert "0 new candidate(s)" in again.out  # idempotent

    # 6. Review and promote: the new lock is appended and the dataset id changes.
    before = golden.read_bytes()
    accepted = cli(
        "candidates", "accept", top["candidate_id"],
        "--expected", "refunded within 5 business days",
        "--assert", '{"type": "not-icontains", "value": "30 days"}',
        "--var", "plan=enterprise",
        "--note", "refund-v4 told enterprise customers contract refunds take 30 days",
        "--store", store_url, "--actor", "bob",
    )  # fmt: skip
    assert accepted.code == 0, accepted.err
    promoted = cli("candidates", "promote", "--to", str(golden), "--store", store_url, "--no-check",
                   "--actor", "bob")  # fmt: skip
    assert promoted.code == 0, promoted.err
    assert golden.read_bytes().startswith(before)
    new_line = json.loads(golden.read_text().splitlines()[-1])
    assert new_line["source"]["lock"] is True
    assert new_line["source"]["trace_id"] == top["trace_id"]
    dataset_id = promoted.out.split("dataset_id ")[1].split()[0]
    assert (
        dataset_id.startswith("golden@")
        and dataset_id != json.loads((project / "v4.json").read_text())["dataset_id"]
    )

    # 7. The next run of v4 fails on the new lock, naming the trace; v3 passes it.
    monkeypatch.setenv("EVALLOCK_DASHBOARD_URL", "http://evallock.example:4318/")
    failing = run(
        "v4", "--json", str(project / "v4-again.json"), "--markdown", str(project / "pr.md")
    )
    monkeypatch.delenv("EVALLOCK_DASHBOARD_URL")
    assert failing.code == 1, failing.out + failing.err
    # the PR comment's body links the lock to the trace it came from, and the run to its page
    pr = (project / "pr.md").read_text()
    assert f"([trace](http://evallock.example:4318/traces/{top['trace_id']}))" in pr
    assert "(http://evallock.example:4318/runs/" in pr
    assert "a fixed bug came back: " + new_line["id"] in failing.out
    assert top["trace_id"] in failing.out and "contract refunds take 30 days" in failing.out
    again_report = json.loads((project / "v4-again.json").read_text())
    assert again_report["locks_failed"] == [new_line["id"]]
    assert again_report["dataset_id"] == dataset_id
    passing = run("v3", "--baseline", "none")
    assert passing.code == 0, passing.out + passing.err

    # 8. compare still answers "did v4 win offline when it shipped?": v4's newest run fails on
    # the grown golden set, but the run its deploy was decided on passed, and it says so.
    v4_id, v3_id = (json.loads((project / f"{v}.json").read_text())["run_id"] for v in ("v4", "v3"))
    later = cli("compare", "--by", "prompt_version,customer_tier", "--store", store_url,
                "--json", "-")  # fmt: skip
    joined = json.loads(later.out)
    assert {"prompt_version": "refund-v4", "customer_tier": "enterprise"} in joined["flagged"]
    chosen = {r["run_id"] for r in joined["runs"]}
    assert v4_id in chosen and again_report["run_id"] not in chosen and len(chosen) == 2
    assert all(r["kind"] == "gate" and r["verdict"] == "pass" for r in joined["runs"])
    assert joined["offline_rule"].startswith("per version, the newest passing gate run")
    shown = cli("compare", "--store", store_url)
    assert "offline side: per version, the newest passing gate run" in shown.out
    assert v4_id in shown.out and "gate run, pass" in shown.out
    # the runs can be named instead; the newest v4 run (failing, on the grown set) then shows
    # v4's enterprise cases losing offline too: no offline win, so no flag
    newest_v4 = again_report["run_id"]
    named = cli("compare", "--store", store_url, "--run", newest_v4, "--run", v3_id,
                "--json", "-")  # fmt: skip
    assert named.code == 0, named.err
    named_joined = json.loads(named.out)
    assert named_joined["offline_rule"] == "the runs named with --run"
    assert {r["run_id"] for r in named_joined["runs"]} == {newest_v4, v3_id}
    unknown = cli("compare", "--store", store_url, "--run", "no-such-run")
    assert unknown.code == 2 and "--run no-such-run: no such run" in unknown.err
    same = cli("compare", "--store", store_url, "--run", newest_v4, "--run", v4_id)
    assert same.code == 2 and "same version" in same.err
    # a window that ends before any run leaves no offline side
    window = cli("compare", "--store", store_url, "--offline-until", "2000-01-01T00:00:00Z",
                 "--json", "-")  # fmt: skip
    assert json.loads(window.out)["runs"] == []
