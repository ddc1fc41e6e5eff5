"""``evallock run`` from the command line: exit codes, reports, bad input, resume."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from evallock.demo import example_dir, start_fake_service
from evallock.store import open_store

from .conftest import EVALLOCK, run_process


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(example_dir(), tmp_path / "ex")
    return tmp_path / "ex"


def example_args(project: Path, base_url: str, version: str, *extra: str) -> list[str]:
    return [
        "run",
        str(project / "golden.jsonl"),
        "--base-url",
        base_url,
        "--model",
        "support-bot",
        "--prompt",
        str(project / "prompts" / f"{version}.txt"),
        "--judge-base-url",
        base_url,
        "--judge-model",
        "judge",
        "--key",
        f"prompt_version={version}",
        "--store",
        f"sqlite:///{project}/e.db",
        "--retries",
        "1",
        *extra,
    ]


def test_gate_exit_codes_and_every_report(
    cli, project, fake_service, monkeypatch, tmp_path
) -> None:
    summary = tmp_path / "step_summary.md"
    summary.write_text("earlier step\n")
    good = cli(*example_args(project, fake_service.base_url, "support-v3"))
    assert good.code == 0, good.out + good.err
    assert "GATE PASSED" in good.out
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    bad = cli(
        *example_args(
            project,
            fake_service.base_url,
            "support-v4",
            "--json",
            "out.json",
            "--junit",
            "junit.xml",
            "--markdown",
            "summary.md",
        )
    )
    assert bad.code == 1, bad.out + bad.err
    assert "GATE FAILED" in bad.out and "lock case failed: refund-007" in bad.out

    report = json.loads((tmp_path / "out.json").read_text())
    for field in (
        "run_id",
        "dataset_id",
        "n",
        "passed",
        "failed",
        "errored",
        "pass_rate",
        "pass_rate_ci",
        "locks_failed",
        "new_failures",
        "baseline_run_id",
        "verdict",
        "keys",
        "cases",
    ):
        assert field in report, field
    assert report["verdict"] == "fail" and report["locks_failed"] == ["refund-007"]
    assert report["keys"]["prompt_version"] == "support-v4"
    lo, hi = report["pass_rate_ci"]
    assert lo <= report["pass_rate"] <= hi
    case = next(c for c in report["cases"] if c["id"] == "refund-007")
    assert set(case) >= {"id", "passed", "score", "reason", "output", "error", "trials"}
    assert case["passed"] is False and case["lock"] is True

    root = ET.parse(tmp_path / "junit.xml").getroot()
    suite = root.find("testsuite")
    assert suite is not None and int(suite.get("tests")) == report["n"]
    assert int(suite.get("failures")) == report["failed"]
    props = {
        p.get("name"): p.get("value")
        for p in suite.iter("property")
        if p.get("name") in {"prompt_version", "dataset_id"}
    }
    assert props == {"prompt_version": "support-v4", "dataset_id": report["dataset_id"]}
    lock = next(tc for tc in suite.iter("testcase") if tc.get("name") == "refund-007")
    assert lock.get("classname") == "golden.refund"
    failure = lock.find("failure")
    assert failure is not None and "5 business days" in failure.get("message")

    markdown = (tmp_path / "summary.md").read_text()
    assert markdown.startswith("## evallock: golden@") and "❌ fail" in markdown.splitlines()[0]
    assert markdown.index("lock case failed") < markdown.index("| pass rate |")
    assert "95% CI" in markdown and "refund-007" in markdown
    step = summary.read_text()
    assert step.startswith("earlier step\n") and markdown in step


def test_malformed_case_file_is_exit_2_with_file_line_and_runs_nothing(
    cli, tmp_path, fake_service, service_stats
) -> None:
    cases = tmp_path / "bad.jsonl"
    cases.write_text('{"id": "a", "input": "x", "expected": "y"}\n{"id": "b", "input": }\n')
    result = cli("run", str(cases), "--base-url", fake_service.base_url, "--model", "support-bot")
    assert result.code == 2
    assert f"{cases}:2: invalid JSON" in result.err
    assert service_stats.get()["by_path"].get("/v1/chat/completions", 0) == 0


def test_unknown_assertion_and_unknown_flag_are_exit_2(cli, tmp_path) -> None:
    cases = tmp_path / "c.jsonl"
    cases.write_text('{"id": "a", "input": "x", "assert": [{"type": "contians", "value": "y"}]}\n')
    result = cli("run", str(cases), "--base-url", "http://127.0.0.1:9/v1", "--model", "m")
    assert result.code == 2 and "contians" in result.err and "icontains" in result.err
    result = cli("run", str(cases), "--no-such-flag")
    assert result.code == 2 and "--no-such-flag" in result.err


def test_unreachable_target_is_exit_3(cli, tmp_path, closed_port) -> None:
    cases = tmp_path / "c.jsonl"
    cases.write_text('{"id": "a", "input": "x", "expected": "y"}\n')
    result = cli(
        "run",
        str(cases),
        "--base-url",
        f"http://127.0.0.1:{closed_port}/v1",
        "--model",
        "m",
        "--retries",
        "0",
    )
    assert result.code == 3
    assert f"127.0.0.1:{closed_port}" in result.err


def test_store_that_cannot_be_opened_is_exit_3(cli, tmp_path) -> None:
    (tmp_path / "afile").write_text("x")
    cases = tmp_path / "c.jsonl"
    cases.write_text('{"id": "a", "input": "x", "expected": "y"}\n')
    result = cli(
        "run",
        str(cases),
        "--base-url",
        "http://127.0.0.1:9/v1",
        "--model",
        "m",
        "--store",
        f"sqlite:///{tmp_path}/afile/db.sqlite",
    )
    assert result.code == 3 and "afile" in result.err


def test_missing_api_key_env_is_exit_2(cli, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("EVALLOCK_TEST_NO_SUCH_KEY", raising=False)
    cases = tmp_path / "c.jsonl"
    cases.write_text('{"id": "a", "input": "x", "expected": "y"}\n')
    result = cli(
        "run",
        str(cases),
        "--base-url",
        "http://127.0.0.1:9/v1",
        "--model",
        "m",
        "--api-key-env",
        "EVALLOCK_TEST_NO_SUCH_KEY",
    )
    assert result.code == 2 and "EVALLOCK_TEST_NO_SUCH_KEY" in result.err


def test_api_key_from_env_reaches_the_service(cli, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("EVALLOCK_TEST_KEY", "sk-secret-1")
    cases = tmp_path / "c.jsonl"
    cases.write_text(
        '{"id": "a", "input": "refund", "assert": [{"type": "max-length", "value": 999}]}\n'
    )
    with start_fake_service(api_key="sk-secret-1") as service:
        ok = cli(
            "run",
            str(cases),
            "--base-url",
            service.base_url,
            "--model",
            "support-bot",
            "--api-key-env",
            "EVALLOCK_TEST_KEY",
            "--min-pass-rate",
            "1",
        )
        denied = cli(
            "run",
            str(cases),
            "--base-url",
            service.base_url,
            "--model",
            "support-bot",
            "--retries",
            "0",
        )
    assert ok.code == 0, ok.err
    assert denied.code == 3 and "HTTP 401" in denied.err
    store = open_store(f"sqlite:///{tmp_path}/.evallock/evallock.db")
    try:
        for run in store.runs.find():
            assert "sk-secret-1" not in json.dumps(run.settings)
    finally:
        store.close()


def test_init_scaffolds_a_project_that_run_accepts(cli, tmp_path, fake_service) -> None:
    result = cli("init")
    assert result.code == 0
    assert (tmp_path / "evallock.yaml").exists() and (tmp_path / "evals/golden.jsonl").exists()
    again = cli("init")
    assert again.code == 2 and "--force" in again.err
    run = cli("run", "evals/golden.jsonl", "--base-url", fake_service.base_url)
    assert run.code == 0, run.out + run.err
    assert "pass rate 100.0% (3/3)" in run.out


def test_config_file_drives_the_run_and_flags_win(cli, tmp_path, fake_service) -> None:
    cli("init")
    config = (tmp_path / "evallock.yaml").read_text()
    (tmp_path / "evallock.yaml").write_text(
        config.replace("http://localhost:8000/v1", fake_service.base_url).replace(
            "min_pass_rate: 0.9", "min_pass_rate: 0.95"
        )
    )
    assert cli("run", "evals/golden.jsonl").code == 0
    (tmp_path / "evallock.yaml").write_text("gate:\n  min_pass_rat: 0.9\n")
    bad = cli("run", "evals/golden.jsonl")
    assert bad.code == 2 and "gate.min_pass_rat: unknown field" in bad.err


def test_history_shows_runs_with_intervals_and_deltas(cli, project, fake_service, tmp_path) -> None:
    assert cli(*example_args(project, fake_service.base_url, "support-v3")).code == 0
    assert cli(*example_args(project, fake_service.base_url, "support-v4")).code == 1
    result = cli(
        "history",
        str(project / "golden.jsonl"),
        "--store",
        f"sqlite:///{project}/e.db",
        "--json",
        "h.json",
    )
    assert result.code == 0
    rows = json.loads((tmp_path / "h.json").read_text())
    assert len(rows) == 2
    first, second = rows
    assert first["delta"] is None
    delta = second["delta"]
    assert delta["delta"] == pytest.approx(second["pass_rate"] - first["pass_rate"])
    assert delta["ci"][0] < delta["delta"] < delta["ci"][1]
    assert "McNemar" in delta["test"] and 0 < delta["p_value"] <= 1
    assert "refund-007" in delta["newly_failing"]
    assert second["changed_keys"]["prompt_version"] == ["support-v3", "support-v4"]
    assert "refund-007" in result.out


@pytest.mark.slow
def test_kill_mid_run_then_resume_asks_only_what_is_missing(cli, tmp_path) -> None:
    """SIGKILL an `evallock run` mid-way; `--resume` completes it without re-asking stored cases.

    The killed run is a real process; the resume runs in process."""
    rows = [
        {
            "id": f"c{i:03d}",
            "input": f"refund charged twice #{i}",
            "assert": [{"type": "max-length", "value": 999}],
        }
        for i in range(120)
    ]
    cases = tmp_path / "many.jsonl"
    cases.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    db = f"sqlite:///{tmp_path}/r.db"
    with start_fake_service(latency_ms=40) as service:
        root = service.base_url.rsplit("/v1", 1)[0]
        import httpx

        process = subprocess.Popen(
            [
                EVALLOCK,
                "run",
                str(cases),
                "--base-url",
                service.base_url,
                "--model",
                "support-bot",
                "--store",
                db,
                "--concurrency",
                "4",
                "--min-pass-rate",
                "0",
            ],
            cwd=tmp_path,
            env={**os.environ, "CI": "true"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        store = open_store(db)
        try:
            deadline = time.monotonic() + 30
            stored = 0
            while time.monotonic() < deadline:
                runs = store.runs.find()
                stored = len(store.runs.completed_trials(runs[0].run_id)) if runs else 0
                if stored >= 20:
                    break
                time.sleep(0.05)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
            (run,) = store.runs.find()
            assert run.status == "running"
            done_before = len(store.runs.completed_trials(run.run_id))
            assert 20 <= done_before < 120
            httpx.post(f"{root}/_stats/reset").raise_for_status()
            resumed = cli("run", str(cases), "--resume", run.run_id, "--store", db)
            assert resumed.code == 0, resumed.out + resumed.err
            asked = httpx.get(f"{root}/_stats").json()["by_model"]["support-bot"]["requests"]
            assert asked == 120 - done_before
            assert len(store.runs.completed_trials(run.run_id)) == 120
            assert store.runs.get(run.run_id).status == "complete"
        finally:
            store.close()


def test_resume_of_unknown_or_complete_run_is_exit_2(cli, project, fake_service) -> None:
    result = cli(
        "run",
        str(project / "golden.jsonl"),
        "--resume",
        "nope",
        "--store",
        f"sqlite:///{project}/e.db",
    )
    assert result.code == 2 and "nope" in result.err


@pytest.mark.slow
def test_console_script_starts_fast_enough_to_show_help(tmp_path) -> None:
    result = run_process("--help", cwd=tmp_path)
    assert result.returncode == 0 and "run" in result.stdout and "Example:" in result.stdout
    for command in ("run", "init", "history", "demo"):
        help_text = run_process(command, "--help", cwd=tmp_path).stdout
        assert "Example: evallock" in help_text, command


def test_a_report_path_in_no_directory_is_exit_2_before_anything_runs(
    cli, project, fake_service, service_stats, tmp_path
) -> None:
    service_stats.reset()
    result = cli(
        *example_args(project, fake_service.base_url, "support-v3", "--json", "nowhere/r.json")
    )
    assert result.code == 2, result.out + result.err
    assert "nowhere/r.json: no such directory for the report" in result.err
    assert service_stats.model("support-bot")["requests"] == 0
    assert not list(tmp_path.glob("**/.r.json.partial"))


def test_an_unknown_baseline_is_exit_2_before_anything_runs(
    cli, project, fake_service, service_stats
) -> None:
    service_stats.reset()
    result = cli(*example_args(project, fake_service.base_url, "support-v3", "--baseline", "r-x"))
    assert result.code == 2, result.out + result.err
    assert "--baseline r-x: no such run" in result.err
    assert service_stats.model("support-bot")["requests"] == 0
    with open_store(f"sqlite:///{project}/e.db") as store:
        assert store.runs.find() == []


def test_gate_on_lower_bound_and_the_too_few_cases_note(
    cli, project, fake_service, tmp_path
) -> None:
    """The example's 28 cases pass on the point rule, but not on the confidence rule,
    and either way the report says 28 cases cannot separate 85 % from 95 %."""
    point = cli(*example_args(project, fake_service.base_url, "support-v3", "--json", "p.json"))
    assert point.code == 0, point.out + point.err
    report = json.loads((tmp_path / "p.json").read_text())
    assert report["thresholds"]["gate_on"] == "point"
    assert report["warnings"] and "cases are too few" in report["warnings"][0]
    assert report["separation"]["n_needed"] > report["n"]
    assert "cases are too few" in point.out
    strict = cli(
        *example_args(
            project,
            fake_service.base_url,
            "support-v3",
            "--gate-on",
            "lower-bound",
            "--json",
            "s.json",
            "--baseline",
            "none",
        )
    )
    data = json.loads((tmp_path / "s.json").read_text())
    assert data["thresholds"]["gate_on"] == "lower-bound"
    # 26/28 = 92.9 % passes the point rule; its lower 95 % bound (80 %) does not reach 90 %
    assert (data["passed"], data["n"], data["verdict"], strict.code) == (26, 28, "fail", 1)
    assert "lower 95% bound" in " ".join(data["reasons"])
    bad = cli(*example_args(project, fake_service.base_url, "support-v3", "--gate-on", "median"))
    assert bad.code == 2 and "gate_on must be one of point, lower-bound" in bad.err


def test_a_model_swap_on_the_same_service_is_compared_with_its_last_pass(
    cli, project, fake_service, tmp_path
) -> None:
    """The baseline follows the service, not the model: support-bot-v2 on the same endpoint
    is held to support-bot-v1's last pass, new failures and all, and the output says what
    changed."""

    def args(version: str, model: str, *extra: str) -> list[str]:
        found = example_args(project, fake_service.base_url, version, *extra)
        found[found.index("--model") + 1] = model
        return found

    v3 = cli(*args("support-v3", "support-bot-v1"))
    assert v3.code == 0, v3.out + v3.err
    v4 = cli(*args("support-v4", "support-bot-v2", "--json", "v4.json"))
    assert v4.code == 1
    report = json.loads((tmp_path / "v4.json").read_text())
    assert report["baseline_run_id"] is not None
    assert report["new_failures"], "the model swap's new failures are reported"
    note = report["warnings"][0]
    assert "the last pass on this service" in note
    assert (
        "model support-bot-v1 → support-bot-v2" in note
        and "prompt_version support-v3 → support-v4" in note
    )
    assert "new failure" in v4.out and "support-bot-v1 → support-bot-v2" in v4.out
    # a named service keeps its own baselines
    named = cli(
        *args("support-v4", "support-bot-v2", "--target-name", "staging", "--json", "n.json")
    )
    assert json.loads((tmp_path / "n.json").read_text())["baseline_run_id"] is None
    assert named.code == 1  # the lock still fails, with no baseline to compare


def test_a_pass_stored_under_the_old_service_id_is_still_a_baseline(
    cli, project, fake_service, tmp_path
) -> None:
    """Runs stored before the id dropped the model carried base URL#model: last-pass
    still finds them for the same model."""
    from datetime import UTC, datetime

    from evallock.records import Run
    from evallock.store import open_store

    url = f"sqlite:///{project}/e.db"
    with open_store(url) as store:
        store.runs.create(
            Run(
                run_id="old-pass",
                dataset_id="golden@old",
                dataset_name="golden",
                target_id=f"{fake_service.base_url.rstrip('/')}#support-bot",
                started_at=datetime(2026, 11, 1, tzinfo=UTC),
            )
        )
        store.runs.finish(
            "old-pass",
            status="complete",
            verdict="pass",
            summary=None,
            baseline_run_id=None,
            finished_at=datetime(2026, 11, 1, 0, 5, tzinfo=UTC),
        )
    run = cli(*example_args(project, fake_service.base_url, "support-v3", "--json", "r.json"))
    assert run.code == 0, run.out + run.err
    assert json.loads((tmp_path / "r.json").read_text())["baseline_run_id"] == "old-pass"


def test_experiment_and_ab_runs_stay_out_of_the_timeline_and_baselines(
    cli, project, fake_service, tmp_path
) -> None:
    """Only gate runs are deploys: an ad-hoc --experiment run and the arms of an A/B
    are not in `history` (unless --all-kinds) and never a last-pass baseline."""
    url = f"sqlite:///{project}/e.db"
    gate = cli(*example_args(project, fake_service.base_url, "support-v3", "--json", "g.json"))
    assert gate.code == 0, gate.out + gate.err
    gate_id = json.loads((tmp_path / "g.json").read_text())["run_id"]
    adhoc = cli(
        *example_args(
            project, fake_service.base_url, "support-v3", "--experiment", "--json", "x.json"
        )
    )
    assert adhoc.code == 0
    adhoc_id = json.loads((tmp_path / "x.json").read_text())["run_id"]
    ab = cli(
        "ab",
        str(project / "golden.jsonl"),
        "--base-url",
        fake_service.base_url,
        "--model",
        "support-bot",
        "--judge-base-url",
        fake_service.base_url,
        "--judge-model",
        "judge",
        "--a",
        f"prompt={project}/prompts/support-v3.txt",
        "--b",
        f"prompt={project}/prompts/support-v4.txt",
        "--store",
        url,
    )
    assert ab.code == 0, ab.err
    after = cli(*example_args(project, fake_service.base_url, "support-v3", "--json", "a.json"))
    assert json.loads((tmp_path / "a.json").read_text())["baseline_run_id"] == gate_id
    shown = cli("history", str(project / "golden.jsonl"), "--store", url, "--json", "h.json")
    assert shown.code == 0
    ids = [row["run_id"] for row in json.loads((tmp_path / "h.json").read_text())]
    assert gate_id in ids and adhoc_id not in ids and not any(i.endswith(("-a", "-b")) for i in ids)
    everything = cli(
        "history",
        str(project / "golden.jsonl"),
        "--store",
        url,
        "--all-kinds",
        "--json",
        "all.json",
    )
    assert everything.code == 0
    all_ids = [row["run_id"] for row in json.loads((tmp_path / "all.json").read_text())]
    assert adhoc_id in all_ids and any(i.endswith("-b") for i in all_ids)
    assert after.code == 0


def test_a_judge_change_is_flagged_where_scores_are_compared(
    cli, project, fake_service, tmp_path
) -> None:
    """The same service and prompt, but the judge's settings changed: the gate's note and
    history say the judged scores are not comparable."""
    url = f"sqlite:///{project}/e.db"
    first = cli(*example_args(project, fake_service.base_url, "support-v3"))
    assert first.code == 0, first.out + first.err
    config = tmp_path / "judge.yaml"
    config.write_text("judge:\n  params: {temperature: 0.3}\n")
    second = cli(
        *example_args(
            project,
            fake_service.base_url,
            "support-v3",
            "--json",
            "j.json",
            "--config",
            str(config),
        )
    )
    report = json.loads((tmp_path / "j.json").read_text())
    assert report["baseline_run_id"] is not None
    assert any("The judge or rubric changed" in w for w in report["warnings"]), report["warnings"]
    assert "judge or rubric changed" in second.out
    shown = cli("history", str(project / "golden.jsonl"), "--store", url, "--json", "h.json")
    assert shown.code == 0
    rows = json.loads((tmp_path / "h.json").read_text())
    assert rows[0]["judge_changed"] is None and rows[-1]["judge_changed"] is not None


def test_a_lock_that_errors_is_not_checked_and_not_called_a_returned_bug(
    cli, project, fake_service, tmp_path
) -> None:
    """A lock whose template variable is missing errors: the gate fails and says the lock
    could not be checked, with the error; it never says the fixed bug came back."""
    golden = project / "golden.jsonl"
    rows = [json.loads(line) for line in golden.read_text().splitlines() if line.strip()]
    lock = next(row for row in rows if row.get("source", {}).get("lock"))
    del lock["vars"]  # the template's {% if plan == "enterprise" %} needs it
    golden.write_text("".join(json.dumps(row) + "\n" for row in rows))
    report = tmp_path / "run.json"
    ran = cli(*example_args(project, fake_service.base_url, "support-v3", "--json", str(report)))
    assert ran.code == 1, ran.out + ran.err
    assert "a fixed bug came back" not in ran.out
    assert f"lock not checked (it errored): {lock['id']}" in ran.out
    assert "'plan' is undefined" in ran.out
    data = json.loads(report.read_text())
    assert data["locks_failed"] == [] and data["locks_errored"] == [lock["id"]]


def test_api_responses_asks_the_service_through_the_responses_api(
    cli, project, fake_service, service_stats, tmp_path
) -> None:
    """The same golden set, gated through POST /v1/responses, grades alike."""
    chat_json, responses_json = tmp_path / "chat.json", tmp_path / "responses.json"
    chat = cli(
        *example_args(project, fake_service.base_url, "support-v3", "--json", str(chat_json))
    )
    assert chat.code == 0, chat.out + chat.err
    service_stats.reset()
    responses = cli(
        *example_args(project, fake_service.base_url, "support-v3", "--api", "responses"),
        "--json",
        str(responses_json),
    )
    assert responses.code == 0, responses.out + responses.err
    summary = json.loads(responses_json.read_text())
    # every question to the target went to /responses (the judge's verdicts were cached)
    assert service_stats.get()["by_path"] == {"/v1/responses": summary["n"]}
    assert summary["pass_rate"] == json.loads(chat_json.read_text())["pass_rate"]
    bad = cli(*example_args(project, fake_service.base_url, "support-v3", "--api", "completions"))
    assert bad.code == 2 and "target.api 'completions'" in bad.err


def test_cost_weights_and_a_case_threshold_grade_a_run_like_promptfoo(
    cli, tmp_path, fake_service
) -> None:
    """target.price prices each answer's tokens for `cost`; weights and a case's threshold
    decide the verdict, as promptfoo scores a test."""
    q = "I was charged twice, refund?"  # the fake service: "…connect you with a human." (5 + 10 tokens)
    cases = [
        {"id": "cheap", "input": q, "assert": [{"type": "cost", "threshold": 0.03}]},
        {"id": "dear", "input": q, "assert": [{"type": "cost", "threshold": 0.01}]},
        {"id": "weighted", "input": q, "threshold": 0.7, "assert": [
            {"type": "icontains", "value": "human", "weight": 3},
            {"type": "icontains", "value": "refund"},
        ]},
        {"id": "report-only", "input": q, "assert": [
            {"type": "icontains", "value": "human"},
            {"type": "icontains", "value": "refund", "weight": 0},
        ]},
        {"id": "short-of-threshold", "input": q, "threshold": 0.9, "assert": [
            {"type": "icontains", "value": "human", "weight": 3},
            {"type": "icontains", "value": "refund"},
        ]},
    ]  # fmt: skip
    (tmp_path / "cases.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cases))
    target = f"target:\n  base_url: {fake_service.base_url}\n  model: support-bot\n"
    priced = target + "  price: {input: 1000, output: 2000}\n"  # USD per 1M tokens
    (tmp_path / "evallock.yaml").write_text(priced)
    result = cli("run", "cases.jsonl", "--json", "out.json")
    assert result.code in (0, 1), result.out + result.err
    report = json.loads((tmp_path / "out.json").read_text())
    by_id = {c["id"]: c for c in report["cases"]}
    assert {k: v["passed"] for k, v in by_id.items()} == {
        "cheap": True,
        "dear": False,
        "weighted": True,
        "report-only": True,
        "short-of-threshold": False,
    }, result.out
    assert by_id["dear"]["reason"] == "cost: cost $0.025000, expected at most $0.01"
    assert by_id["weighted"]["score"] == 0.75
    assert by_id["short-of-threshold"]["reason"] == (
        'score 0.75 < threshold 0.9; icontains: expected to contain "refund"'
    )
    # without a price (and a service that reports no cost) the cost check cannot be made
    (tmp_path / "evallock.yaml").write_text(target)
    cli("run", "cases.jsonl", "--json", "out.json")
    report = json.loads((tmp_path / "out.json").read_text())
    cheap = next(c for c in report["cases"] if c["id"] == "cheap")
    assert cheap["error"] is not None and "target.price" in cheap["error"]
    (tmp_path / "evallock.yaml").write_text(target + "  price: {input: -1, output: 0}\n")
    bad = cli("run", "cases.jsonl")
    assert bad.code == 2 and "price.input must be a number ≥ 0" in bad.err


def test_last_pass_with_keys_is_the_base_branchs_last_pass(
    cli, project, fake_service, tmp_path
) -> None:
    """`--baseline last-pass:branch=main` skips newer passes from other branches: a PR is
    compared with what main last passed, as the GitHub Action asks."""

    def run(branch: str, *extra: str):
        args = example_args(project, fake_service.base_url, "support-v3", *extra)
        return cli(*args, "--key", f"branch={branch}")

    main = run("main", "--json", "main.json")
    assert main.code == 0, main.out + main.err
    other = run("feature-x", "--json", "x.json")
    assert other.code == 0
    pr = run("feature-y", "--baseline", "last-pass:branch=main", "--json", "pr.json")
    main_id = json.loads((tmp_path / "main.json").read_text())["run_id"]
    other_id = json.loads((tmp_path / "x.json").read_text())["run_id"]
    assert json.loads((tmp_path / "pr.json").read_text())["baseline_run_id"] == main_id, pr.out
    newest = run("feature-y", "--json", "newest.json")  # plain last-pass: the newest pass
    assert json.loads((tmp_path / "newest.json").read_text())["baseline_run_id"] != main_id
    assert other_id != main_id
    none = run("feature-y", "--baseline", "last-pass:branch=release", "--json", "none.json")
    assert json.loads((tmp_path / "none.json").read_text())["baseline_run_id"] is None
    assert newest.code == none.code == 0
    bad = run("feature-y", "--baseline", "last-pass:branch")
    assert bad.code == 2 and "expected last-pass:key=value" in bad.err


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_a_case_with_tools_is_graded_on_its_trajectory(cli, tmp_path, fake_service, api) -> None:
    """The case offers tools; the bundled model calls the one the question names; the
    trajectory checks read the calls, and a cached answer keeps them."""
    tools = [
        {"type": "function", "function": {"name": "order_status"}},
        {"type": "function", "function": {"name": "refund"}},
    ]
    cases = [
        {"id": "status", "input": "What is the order status of R1041?", "tools": tools,
         "assert": [{"type": "tool-called", "value": "order_status"},
                    {"type": "tool-not-called", "value": "refund"},
                    {"type": "max-tool-calls", "value": 1}]},
        {"id": "refund", "input": "refund please", "tools": tools,
         "assert": [{"type": "tool-sequence", "value": ["order_status"], "mode": "exact"}]},
    ]  # fmt: skip
    (tmp_path / "cases.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cases))
    args = ["run", "cases.jsonl", "--base-url", fake_service.base_url, "--model", "support-bot",
            "--api", api, "--store", f"sqlite:///{tmp_path}/e.db", "--baseline", "none"]  # fmt: skip
    for attempt in ("live", "cached"):
        cli(*args, "--cache", "--json", f"{attempt}.json")
        report = json.loads((tmp_path / f"{attempt}.json").read_text())
        by_id = {c["id"]: c for c in report["cases"]}
        assert by_id["status"]["passed"] is True, (attempt, by_id["status"])
        assert by_id["refund"]["reason"] == (
            "tool-sequence: called refund; expected exact order_status"
        ), attempt
    assert report["stats"]["cache_hits"] == 2
    (tmp_path / "bad.jsonl").write_text(
        '{"id": "x", "input": "hi", "tools": [{"type": "function"}], "grader": "rules", "expected": "x"}\n'
    )
    bad = cli("run", "bad.jsonl", "--base-url", fake_service.base_url, "--model", "support-bot")
    assert bad.code == 2 and "bad.jsonl:1:" in bad.err and "a tool needs a name" in bad.err


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_a_case_with_tools_and_two_user_turns_runs_and_is_graded_on_both(
    cli, tmp_path, fake_service, service_stats, api
) -> None:
    """The bundled model calls order_status, gets the case's mocked result, answers from it;
    the user follows up; the trajectory (every call) and the final answer are graded."""
    case = {
        "id": "where-is-it",
        "input": "What is the order status of R1041?",
        "tools": [{"type": "function", "function": {"name": "order_status"}}],
        "tool_results": {"order_status": {"order": "R1041", "status": "shipped"}},
        "turns": ["And the order status of R1042?"],
        "assert": [
            {"type": "tool-sequence", "value": ["order_status", "order_status"], "mode": "exact"},
            {"type": "max-turns", "value": 2},
            {"type": "icontains", "value": "shipped"},
        ],
    }
    (tmp_path / "cases.jsonl").write_text(json.dumps(case) + "\n")
    result = cli(
        "run", "cases.jsonl", "--base-url", fake_service.base_url, "--model", "support-bot",
        "--api", api, "--store", f"sqlite:///{tmp_path}/e.db", "--json", "out.json",
    )  # fmt: skip
    assert result.code == 0, result.out + result.err
    (done,) = json.loads((tmp_path / "out.json").read_text())["cases"]
    assert done["passed"] is True and "The tools say:" in done["output"], done
    # two turns, each a tool call then the answer from its result: four requests
    path = "/v1/chat/completions" if api == "chat" else "/v1/responses"
    assert service_stats.get()["by_path"] == {path: 4}
    short = {**case, "assert": [{"type": "max-turns", "value": 1}]}
    (tmp_path / "short.jsonl").write_text(json.dumps(short) + "\n")
    cli(
        "run", "short.jsonl", "--base-url", fake_service.base_url, "--model", "support-bot",
        "--api", api, "--store", f"sqlite:///{tmp_path}/e.db", "--json", "short.json",
    )  # fmt: skip
    (over,) = json.loads((tmp_path / "short.json").read_text())["cases"]
    assert over["reason"] == "max-turns: 2 turns, expected at most 1"


TOOLS_PY = """\
import asyncio

calls = []


def answer(name, arguments):
    calls.append(name)
    if name == "order_status":
        return {"order": "R1041", "status": "shipped", "asked": arguments["query"]}
    if name == "broken":
        raise RuntimeError("the warehouse API is down")
    return "Refunds within 30 days"


async def answer_async(name, arguments):
    await asyncio.sleep(0)
    return f"async {name}"
"""


def test_a_simulated_user_talks_to_the_agent_whose_tools_a_python_function_answers(
    cli, tmp_path, fake_service, service_stats
) -> None:
    """The judge model plays the user toward its goal (the bundled one says the goal's
    steps in turn, then [[DONE]]); tool calls are answered by tools.py:answer unless the
    case mocks the tool; the conversation judge and the trajectory checks grade it."""
    (tmp_path / "tools.py").write_text(TOOLS_PY)
    tools = [{"type": "function", "function": {"name": n}}
             for n in ("order_status", "refund_policy", "broken")]  # fmt: skip
    cases = [
        {"id": "sim", "input": "What is the order status of R1041?", "tools": tools,
         "tool_handler": "tools.py:answer",
         "user": {"goal": "What is the refund policy?; And the broken thing?", "max_turns": 5},
         "assert": [
             {"type": "tool-sequence", "value": ["order_status", "refund_policy", "broken"],
              "mode": "exact"},
             {"type": "max-turns", "value": 3},
             {"type": "icontains", "value": "the warehouse API is down"}]},
        # the case's own mocked result wins over the handler; a module:function handler
        {"id": "mocked", "input": "order status?", "tools": tools[:1],
         "tool_results": {"order_status": "mocked: delivered"}, "tool_handler": "tools:answer",
         "assert": [{"type": "icontains", "value": "mocked: delivered"}]},
        {"id": "async", "input": "refund policy?", "tools": tools[1:2],
         "tool_handler": "tools:answer_async",
         "assert": [{"type": "icontains", "value": "async refund_policy"}]},
        {"id": "limit", "input": "order status?", "tools": tools[:1],
         "tool_handler": "tools.py:answer", "user": {"goal": "a; b; c", "max_turns": 2},
         "assert": [{"type": "max-turns", "value": 2}]},
        {"id": "no-file", "input": "order status?", "tools": tools[:1],
         "tool_handler": "nope.py:answer", "grader": "rules", "expected": "x"},
    ]  # fmt: skip
    (tmp_path / "cases.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cases))
    args = ["run", "cases.jsonl", "--base-url", fake_service.base_url, "--model", "support-bot",
            "--store", f"sqlite:///{tmp_path}/e.db", "--baseline", "none"]  # fmt: skip
    result = cli(*args, "--judge-base-url", fake_service.base_url, "--judge-model", "judge",
                 "--json", "out.json")  # fmt: skip
    by_id = {c["id"]: c for c in json.loads((tmp_path / "out.json").read_text())["cases"]}
    sim = by_id["sim"]
    assert sim["passed"] is True, sim
    assert sim["turns"] == 3
    assert sim["output"] == "The tools say: error: RuntimeError: the warehouse API is down"
    assert by_id["mocked"]["passed"] is True, by_id["mocked"]
    assert by_id["async"]["passed"] is True, by_id["async"]
    assert by_id["limit"]["passed"] is True and by_id["limit"]["turns"] == 2
    assert by_id["no-file"]["reason"].startswith("case error: tool_handler: no file 'nope.py'")
    assert result.code == 1  # the case whose handler is missing errored
    # three user turns, each a call and the answer from its result, and two simulator turns
    # plus its [[DONE]]: 3*2 + 3 requests for "sim"
    assert service_stats.model("judge")["requests"] == 3 + 1  # + "limit": one follow-up
    no_judge = cli(*args)
    assert no_judge.code == 2 and "some cases have a simulated user" in no_judge.err
    both = {"id": "x", "input": "hi", "expected": "x", "turns": ["a"], "user": {"goal": "g"}}
    (tmp_path / "bad.jsonl").write_text(json.dumps(both) + "\n")
    bad = cli("run", "bad.jsonl", "--base-url", fake_service.base_url, "--model", "support-bot")
    assert bad.code == 2 and "bad.jsonl:1:" in bad.err and "not both" in bad.err
