"""``evallock ab`` end to end against the bundled service."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from evallock.demo import example_dir, start_fake_service


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(example_dir(), tmp_path / "ex")
    (tmp_path / "ex" / "prompts" / "mute.txt").write_text("You answer nothing useful.\n")
    return tmp_path / "ex"


def ab_args(project: Path, base_url: str, a: str, b: str, *extra: str) -> list[str]:
    return [
        "ab",
        str(project / "golden.jsonl"),
        "--base-url",
        base_url,
        "--model",
        "support-bot",
        "--judge-base-url",
        base_url,
        "--judge-model",
        "judge",
        "--a",
        f"prompt={project}/prompts/{a}.txt,key.prompt_version={a}",
        "--b",
        f"prompt={project}/prompts/{b}.txt,key.prompt_version={b}",
        "--store",
        f"sqlite:///{project}/ab.db",
        "--retries",
        "1",
        *extra,
    ]


def test_ab_reports_verdict_interval_and_slices(
    cli, project, fake_service, service_stats, tmp_path
) -> None:
    result = cli(
        *ab_args(
            project,
            fake_service.base_url,
            "support-v3",
            "support-v4",
            "--by",
            "customer_tier",
            "--json",
            "ab.json",
            "--markdown",
            "ab.md",
        )
    )
    assert result.code == 0, result.out + result.err
    report = json.loads((tmp_path / "ab.json").read_text())
    for field in (
        "n_pairs",
        "a",
        "b",
        "delta",
        "ci",
        "p_value",
        "test",
        "alpha",
        "min_effect",
        "verdict",
        "slices",
    ):
        assert field in report, field
    assert report["n_pairs"] == 28
    assert report["delta"] == pytest.approx(report["b"]["mean"] - report["a"]["mean"])
    assert report["ci"][0] <= report["delta"] <= report["ci"][1]
    assert report["details"] == {"b": 4, "c": 2}
    assert "McNemar mid-p" in report["test"]
    assert report["verdict"] == "no significant difference"
    assert report["keys_a"]["prompt_version"] == "support-v3"
    assert report["keys_b"]["prompt_version"] == "support-v4"
    slices = {s["slice"]: s for s in report["slices"]}
    assert set(slices) == {
        "customer_tier=consumer",
        "customer_tier=enterprise",
        "customer_tier=pro",
    }
    assert slices["customer_tier=enterprise"]["delta"] == pytest.approx(-4 / 7)
    assert slices["customer_tier=pro"]["verdict"] == "insufficient data"
    assert slices["customer_tier=pro"]["p_holm"] is None
    for s in slices.values():
        if s["p_holm"] is not None:
            assert s["p_holm"] >= s["p_value"] and s["p_bh"] >= s["p_value"]
    assert report["power"]["underpowered"] is True
    assert any("too small to clear the floor" in w for w in report["warnings"])
    # the judge graded some cases: its agreement with people is shown (none labelled yet)
    assert any("judge judge (3 rubrics) is not calibrated" in w for w in report["warnings"])
    # both variants asked once per case, interleaved in one run
    assert service_stats.model("support-bot")["answered"] == 56
    markdown = (tmp_path / "ab.md").read_text()
    assert (
        markdown.startswith("## evallock ab:")
        and "no significant difference" in markdown.splitlines()[0]
    )
    assert "NO SIGNIFICANT DIFFERENCE" in result.out and "McNemar" in result.out
    assert "- power: " in markdown and "80 % power" in markdown  # the PR comment's power note
    assert "| customer_tier=" in markdown  # and its per-slice table with adjusted p
    # the comparison is stored (the dashboard and /api/comparisons list it)
    from evallock.store import open_store

    with open_store(f"sqlite:///{project}/ab.db") as store:
        (stored,) = store.reports.comparisons()
    assert stored.comparison_id == report["comparison_id"]
    assert stored.verdict == report["verdict"] and stored.dataset_id == report["dataset_id"]
    assert (stored.run_a, stored.run_b) == (report["run_a"], report["run_b"])
    assert stored.body == report  # the stored body is what --json printed


def test_a_clearly_worse_b_is_a_wins_and_fail_if_worse_exits_1(cli, project, fake_service) -> None:
    result = cli(
        *ab_args(
            project,
            fake_service.base_url,
            "support-v3",
            "mute",
            "--fail-if-worse",
            "--json",
            "w.json",
        )
    )
    assert result.code == 1, result.out + result.err
    report = json.loads((Path(project).parent / "w.json").read_text())
    assert report["verdict"] == "A wins" and report["upper_bound"] < -0.05
    without = cli(*ab_args(project, fake_service.base_url, "support-v3", "mute"))
    assert without.code == 0


def test_judge_scores_are_compared_as_ordinal(cli, project, fake_service, tmp_path) -> None:
    judged = tmp_path / "judged.jsonl"
    rows = [json.loads(line) for line in (project / "golden.jsonl").read_text().splitlines()]
    keep = [
        dict(
            r,
            grader="judge",
            expected=r.get("expected") or "Duplicate charges are refunded within 5 business days.",
        )
        for r in rows
    ]
    for r in keep:
        r.pop("assert", None)
        r.pop("judge", None)
    judged.write_text("\n".join(json.dumps(r) for r in keep) + "\n")
    args = ab_args(project, fake_service.base_url, "support-v3", "support-v4", "--json", "j.json")
    args[1] = str(judged)
    result = cli(*args)
    assert result.code == 0, result.err
    report = json.loads((tmp_path / "j.json").read_text())
    assert (
        report["metric"] == "judge"
        and "Wilcoxon" in report["test"]
        and "paired t" in report["test"]
    )


def test_pairwise_mode_counts_order_flips_as_ties(cli, project, tmp_path) -> None:
    with start_fake_service(judge_position_bias=1) as biased:
        result = cli(
            *ab_args(
                project,
                biased.base_url,
                "support-v3",
                "support-v4",
                "--judge-mode",
                "pairwise",
                "--json",
                "p.json",
            )
        )
    assert result.code == 0, result.err
    report = json.loads((tmp_path / "p.json").read_text())
    assert report["metric"] == "pairwise"
    assert report["consistency"] is not None and report["consistency"] < 1.0
    details = report["details"]
    assert details["b_wins"] + details["a_wins"] + details["ties"] == report["n_pairs"]
    assert "pairwise judge" in result.out


def test_trials_report_noise_and_flaky_cases(cli, tmp_path) -> None:
    (tmp_path / "wobbly.py").write_text(
        "import itertools\n_n = itertools.count()\n"
        "def steady(messages):\n    return 'yes'\n"
        "def wobbly(messages):\n    return 'yes' if next(_n) % 3 else 'no'\n"
    )
    cases = tmp_path / "c.jsonl"
    cases.write_text(
        "\n".join(
            json.dumps(
                {"id": f"c{i}", "input": f"q{i}", "assert": [{"type": "equals", "value": "yes"}]}
            )
            for i in range(12)
        )
        + "\n"
    )
    import sys

    sys.path.insert(0, str(tmp_path))
    try:
        result = cli(
            "ab",
            str(cases),
            "--a",
            "python=wobbly:steady",
            "--b",
            "python=wobbly:wobbly",
            "--trials",
            "3",
            "--concurrency",
            "1",
            "--json",
            "t.json",
        )
    finally:
        sys.path.remove(str(tmp_path))
    assert result.code == 0, result.err
    report = json.loads((tmp_path / "t.json").read_text())
    assert report["trials"]["k"] == 3 and report["trials"]["within_var"] > 0
    assert report["flaky"] and "per-case pass shares over 3 trials" in report["test"]


def test_compare_two_stored_runs_without_calling_anything(
    cli, project, fake_service, service_stats, tmp_path
) -> None:
    store = f"sqlite:///{project}/runs.db"
    base = [
        "--base-url",
        fake_service.base_url,
        "--model",
        "support-bot",
        "--judge-base-url",
        fake_service.base_url,
        "--judge-model",
        "judge",
        "--store",
        store,
        "--json",
    ]
    cli(
        "run",
        str(project / "golden.jsonl"),
        "--prompt",
        str(project / "prompts/support-v3.txt"),
        *base,
        "r3.json",
    )
    cli(
        "run",
        str(project / "golden.jsonl"),
        "--prompt",
        str(project / "prompts/support-v4.txt"),
        *base,
        "r4.json",
    )
    run3 = json.loads((tmp_path / "r3.json").read_text())["run_id"]
    run4 = json.loads((tmp_path / "r4.json").read_text())["run_id"]
    service_stats.reset()
    result = cli(
        "ab",
        str(project / "golden.jsonl"),
        "--a-run",
        run3,
        "--b-run",
        run4,
        "--store",
        store,
        "--json",
        "s.json",
    )
    assert result.code == 0, result.err
    assert service_stats.get()["requests"] == 0
    report = json.loads((tmp_path / "s.json").read_text())
    assert report["run_a"] == run3 and report["details"] == {"b": 4, "c": 2}


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--a", "prompt=p.txt", "--b", "prompt=p.txt"], "differ in nothing"),
        (["--a", "temperature=1", "--b", "prompt=p.txt"], "unknown name 'temperature'"),
        (["--a", "prompt"], "give --a SPEC and --b SPEC"),
        (["--a-run", "x", "--a", "model=m"], "--a-run and --b-run together"),
        (["--a", "model=a", "--b", "model=b", "--metric", "median"], "--metric"),
    ],
)
def test_bad_ab_usage_is_exit_2(cli, tmp_path, args, needle) -> None:
    cases = tmp_path / "c.jsonl"
    cases.write_text('{"id": "a", "input": "x", "expected": "y"}\n')
    result = cli("ab", str(cases), "--base-url", "http://127.0.0.1:9/v1", "--model", "m", *args)
    assert result.code == 2, result.out + result.err
    assert needle in result.err


def test_fewer_than_two_pairs_is_exit_2(cli, tmp_path, fake_service) -> None:
    cases = tmp_path / "c.jsonl"
    cases.write_text('{"id": "a", "input": "refund", "expected": "business days"}\n')
    result = cli(
        "ab",
        str(cases),
        "--base-url",
        fake_service.base_url,
        "--a",
        "model=support-bot",
        "--b",
        "model=support-bot-v2",
    )
    assert result.code == 2 and "at least 2" in result.err


def test_two_by_keys_give_each_key_alone_and_then_both(
    cli, project, fake_service, tmp_path
) -> None:
    """v4's enterprise refund regression shows in the customer_tier slice on its own, though
    the cross product splits enterprise into slices too small to test."""
    result = cli(
        *ab_args(project, fake_service.base_url, "support-v3", "support-v4",
                 "--by", "customer_tier,intent", "--min-slice-pairs", "5", "--json", "ab.json")
    )  # fmt: skip
    assert result.code in (0, 1), result.out + result.err
    slices = json.loads((tmp_path / "ab.json").read_text())["slices"]
    cuts = [tuple(s["by"]) for s in slices]
    # each key alone in --by's order, then the cross product; each cut listed together
    assert list(dict.fromkeys(cuts)) == [
        ("customer_tier",),
        ("intent",),
        ("customer_tier", "intent"),
    ]
    assert cuts == sorted(
        cuts, key=[("customer_tier",), ("intent",), ("customer_tier", "intent")].index
    )
    tiers = {s["keys"]["customer_tier"]: s for s in slices if s["by"] == ["customer_tier"]}
    assert sum(s["n_pairs"] for s in tiers.values()) == 28  # every pair once per cut
    enterprise = tiers["enterprise"]
    assert enterprise["n_pairs"] == 7 and enterprise["delta"] < 0
    crossed = [s for s in slices if s["by"] == ["customer_tier", "intent"]]
    assert sum(s["n_pairs"] for s in crossed) == 28
    # one Holm family over every slice of every cut
    from evallock.stats import adjust_holm

    tested = [s for s in slices if s["p_holm"] is not None]
    assert {tuple(s["by"]) for s in tested} >= {("customer_tier",), ("intent",)}
    expected = adjust_holm([s["p_value"] for s in tested]).adjusted
    assert [s["p_holm"] for s in tested] == pytest.approx(list(expected))
    assert (
        "customer_tier=enterprise" in result.out
        and "customer_tier=enterprise,intent=refund" in result.out
    )


def test_the_ab_page_shows_the_test_the_slices_and_the_cases_the_arms_disagree_on(
    cli, project, fake_service
) -> None:
    from fastapi.testclient import TestClient

    from evallock.server import ServerSettings, create_app
    from evallock.store import open_store

    result = cli(
        *ab_args(project, fake_service.base_url, "support-v3", "mute", "--by", "customer_tier")
    )
    assert result.code == 0, result.out + result.err
    url = f"sqlite:///{project}/ab.db"
    with open_store(url) as store:
        [stored] = store.reports.comparisons()
    app = create_app(ServerSettings(store_url=url, no_auth=True))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        page = client.get(f"/ab/{stored.comparison_id}")
        overview = client.get("/")
        missing = client.get("/ab/nope")
    assert page.status_code == 200, page.text
    html = page.text
    assert f">{stored.verdict}</span></h2>" in html and stored.verdict == "A wins"
    assert f'href="/runs/{stored.run_a}"' in html and f'href="/runs/{stored.run_b}"' in html
    assert "effect floor" in html and "customer_tier=" in html  # the slices table
    # v3 passes cases the mute prompt fails: each is a row with both answers
    assert html.count('<tr class="pair">') >= 1 and "None: the arms passed" not in html
    assert f'href="/ab/{stored.comparison_id}"' in overview.text
    assert missing.status_code == 404


def test_ab_require_calibrated_refuses_before_asking_anything(
    cli, project, fake_service, service_stats
) -> None:
    result = cli(
        *ab_args(project, fake_service.base_url, "support-v3", "support-v4", "--require-calibrated")
    )
    assert (
        result.code == 2
        and "--require-calibrated: judge judge (3 rubrics) is not calibrated" in result.err
    )
    assert service_stats.get()["by_model"] == {}


def test_ab_pairs_conversation_cases_by_case(
    cli, project, fake_service, service_stats, tmp_path
) -> None:
    """Cases with tools, mocked results, follow-up turns and a simulated user run in both
    arms, each arm holding the whole conversation, and are paired case by case."""
    tools = [{"type": "function", "function": {"name": n}} for n in ("order_status", "refund")]
    cases = []
    for n in range(6):
        case = {
            "id": f"conv-{n}",
            "input": f"What is the order status of R10{n}?",
            "vars": {"plan": "pro"},
            "tools": tools,
            "tool_results": {"order_status": f"R10{n} shipped", "refund": "refunds take 5 days"},
            "assert": [
                {"type": "tool-called", "value": "order_status"},
                {"type": "icontains", "value": "shipped" if n % 2 else "5 days"},
            ],
        }
        if n % 2:
            case["turns"] = [f"And R20{n}'s order status?"]
        else:
            case["user"] = {"goal": "Can I get a refund?", "max_turns": 3}
        cases.append(case)
    (tmp_path / "conv.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cases))
    args = ab_args(project, fake_service.base_url, "support-v3", "support-v4", "--json", "c.json")
    args[1] = str(tmp_path / "conv.jsonl")
    result = cli(*args)
    assert result.code == 0, result.out + result.err
    report = json.loads((tmp_path / "c.json").read_text())
    assert report["n_pairs"] == 6
    assert report["a"]["mean"] == report["b"]["mean"] == 1.0
    assert report["verdict"] == "no significant difference"
    # per arm and case: two user turns, each a tool call and its answer
    assert service_stats.model("support-bot")["requests"] == 2 * 6 * 4
    # the simulated user: after each of its cases' two answers, then its [[DONE]]
    assert service_stats.model("judge")["requests"] == 2 * 3 * 2


def test_an_arm_whose_every_call_failed_is_no_verdict(cli, project, fake_service) -> None:
    """Every case of arm A errors (its template needs a variable the cases lack): no
    "no significant difference" over answers that never came, but the target's error."""
    (project / "prompts" / "strict.txt").write_text("Plan: {{ missing_variable }}\n")
    result = cli(*ab_args(project, fake_service.base_url, "strict", "support-v4"))
    assert result.code == 3, result.out + result.err
    assert "variant A: every case errored" in result.err and "missing_variable" in result.err
