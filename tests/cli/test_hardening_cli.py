"""Hostile input through the command line: bounded in time, exit 2 with the reason, or data.

The target in most tests is an echo bot (a Python callable), so a case's input is
the answer graded: the case file controls both sides.
"""

from __future__ import annotations

import json
import shutil
import socket
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from evallock.demo import example_dir
from evallock.store import open_store


@pytest.fixture
def echo(tmp_path: Path) -> Iterator[str]:
    """``module:function`` of a bot that answers with the last user message."""
    name = f"evl_echo_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(
        "def answer(messages):\n    return messages[-1]['content']\n"
    )
    yield f"{name}:answer"
    sys.modules.pop(name, None)


def jsonl(path: Path, rows: list[dict]) -> Path:  # type: ignore[type-arg]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def run_echo(cli: Callable, tmp_path: Path, echo: str, rows: list[dict], *extra: str):  # type: ignore[type-arg]
    cases = jsonl(tmp_path / "cases.jsonl", rows)
    return cli(
        "run",
        str(cases),
        "--python",
        echo,
        "--store",
        f"sqlite:///{tmp_path}/e.db",
        "--baseline",
        "none",
        "--json",
        "out.json",
        *extra,
    )


def report_cases(tmp_path: Path) -> dict[str, dict]:  # type: ignore[type-arg]
    report = json.loads((tmp_path / "out.json").read_text())
    return {case["id"]: case for case in report["cases"]}


# --- 1. a regex that backtracks is a grader error on its case, the run goes on ----------------


def test_a_catastrophic_regex_is_a_grader_error_and_the_run_goes_on(cli, tmp_path, echo) -> None:
    rows = [
        {
            "id": "redos",
            "input": "a" * 60 + "b",
            "assert": [{"type": "regex", "value": "(a|aa)+$"}],
        },
        {
            "id": "fine",
            "input": "5 business days",
            "assert": [{"type": "regex", "value": r"\d+ business"}],
        },
    ]
    started = time.monotonic()
    result = run_echo(cli, tmp_path, echo, rows)
    assert time.monotonic() - started < 30
    assert result.code == 1, result.out + result.err  # the errored case fails the gate
    cases = report_cases(tmp_path)
    assert cases["fine"]["passed"] is True
    assert cases["redos"]["passed"] is False
    assert "gave up after 1 s" in cases["redos"]["error"]


def test_a_pattern_past_1000_characters_is_refused_at_load_with_file_line(
    cli, tmp_path, echo
) -> None:
    rows = [
        {"id": "ok", "input": "x", "expected": "x"},
        {"id": "long", "input": "x", "assert": [{"type": "regex", "value": "a" * 1001}]},
    ]
    result = run_echo(cli, tmp_path, echo, rows)
    assert result.code == 2
    assert (
        f"{tmp_path / 'cases.jsonl'}:2: assert[0]: regex: the pattern has 1,001 characters"
        in result.err
    )


# --- 3. prompt templates render in the sandbox ------------------------------------------------


def test_a_template_reaching_for_os_is_exit_2_and_runs_nothing(cli, tmp_path, echo) -> None:
    prompt = tmp_path / "evil.txt"
    marker = tmp_path / "pwned"
    prompt.write_text(
        "{{ cycler.__init__.__globals__.os.popen('touch " + str(marker) + "').read() }}\n"
    )
    result = run_echo(
        cli, tmp_path, echo, [{"id": "a", "input": "hi", "expected": "hi"}], "--prompt", str(prompt)
    )
    assert result.code == 2, result.out + result.err
    assert f"prompt template {prompt}: not allowed in the sandbox" in result.err
    assert "Traceback" not in result.err
    assert not marker.exists()
    assert not (tmp_path / "out.json").exists()


def test_a_template_that_cannot_render_for_a_case_is_an_error_on_that_case(
    cli, tmp_path, echo
) -> None:
    prompt = tmp_path / "p.txt"
    prompt.write_text("Plan: {{ plan }}; ratio {{ 1 / n }}\n")
    rows = [
        {"id": "ok", "input": "hi", "expected": "hi", "vars": {"plan": "pro", "n": 2}},
        {"id": "zero", "input": "hi", "expected": "hi", "vars": {"plan": "pro", "n": 0}},
    ]
    result = run_echo(cli, tmp_path, echo, rows, "--prompt", str(prompt))
    assert result.code == 1, result.out + result.err
    cases = report_cases(tmp_path)
    assert cases["ok"]["passed"] is True
    assert "ZeroDivisionError" in cases["zero"]["error"]


# --- 4. json-schema never fetches a remote $ref -----------------------------------------------


@pytest.fixture
def silent_host() -> Iterator[str]:
    """A URL whose host accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/schema.json"


def test_a_remote_ref_is_a_case_error_naming_it_and_nothing_is_fetched(
    cli, tmp_path, echo, silent_host
) -> None:
    rows = [
        {"id": "remote", "input": '{"a": 1}', "assert": [{"type": "json-schema", "value": {"$ref": silent_host}}]},
        {"id": "local", "input": '{"a": 1}', "assert": [{"type": "json-schema", "value": {
            "$defs": {"obj": {"type": "object", "required": ["a"]}}, "$ref": "#/$defs/obj"}}]},
    ]  # fmt: skip
    started = time.monotonic()
    result = run_echo(cli, tmp_path, echo, rows, "--timeout", "5")
    assert time.monotonic() - started < 30
    assert result.code == 1, result.out + result.err
    cases = report_cases(tmp_path)
    assert cases["local"]["passed"] is True
    assert silent_host in cases["remote"]["error"]
    assert "nothing is fetched" in cases["remote"]["error"]


# --- 5. hostile trace text reaches no terminal ------------------------------------------------

OSC8 = "\x1b]8;;https://evil.example/\x07click me\x1b]8;;\x07"
MARKUP = "[link=https://evil.example/]markup[/link][bold]"
BIDI = "\u202eevil\u202c"
C1 = "\x9b2J\x9d0;title\x9c"


def test_traces_show_and_list_print_hostile_text_as_plain_characters(cli, tmp_path) -> None:
    store_url = f"sqlite:///{tmp_path}/t.db"
    hostile = f"{OSC8} {MARKUP} {BIDI} {C1} \x1b[2Jcleared\r\x1b[1Aup"
    row = {
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "timestamp": "2026-10-04T09:12:44Z",
        "input": [{"role": f"user{MARKUP}\x1b[31m", "content": hostile}],
        "output": hostile,
        "model": f"bot{MARKUP}{BIDI}",
        "error": hostile,
        "keys": {"intent": hostile[:200]},
    }
    assert (
        cli("traces", "import", str(jsonl(tmp_path / "t.jsonl", [row])), "--store", store_url).code
        == 0
    )
    for args in (("show", row["trace_id"]), ("list",)):
        result = cli("traces", *args, "--store", store_url)
        assert result.code == 0, result.err
        for bad in ("\x1b", "\x07", "\x9b", "\x9d", "\x9c", "\r", "\u202e", "\u202c", "]8;;"):
            assert bad not in result.out, (args, bad)
        assert "click me" in result.out
        assert "[link=https://evil.example/]" in result.out  # shown, not interpreted
    shown = cli("traces", "show", row["trace_id"], "--store", store_url)
    assert f"[user{MARKUP}]" in shown.out


def test_run_results_table_prints_hostile_answers_as_plain_characters(cli, tmp_path, echo) -> None:
    hostile = f"{OSC8} {MARKUP} {BIDI} {C1}"
    result = run_echo(
        cli, tmp_path, echo, [{"id": f"case{MARKUP}", "input": hostile, "expected": "nope"}]
    )
    assert result.code == 1, result.out + result.err
    for bad in ("\x1b", "\x07", "\x9b", "\u202e", "]8;;"):
        assert bad not in result.out, bad
    assert "[link=https://evil.example/]" in result.out


# --- 6. ab flags are checked before anything runs ---------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(example_dir(), tmp_path / "ex")
    return tmp_path / "ex"


def ab_args(project: Path, base_url: str, *extra: str) -> list[str]:
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
        f"prompt={project}/prompts/support-v3.txt,key.prompt_version=v3",
        "--b",
        f"prompt={project}/prompts/support-v4.txt,key.prompt_version=v4",
        "--store",
        f"sqlite:///{project}/ab.db",
        "--retries",
        "1",
        *extra,
    ]


@pytest.mark.parametrize(
    ("flags", "needle"),
    [
        (["--alpha", "0.5"], "--alpha 0.5: must be above 0 and below 0.5"),
        (["--alpha", "0"], "--alpha 0.0: must be above 0"),
        (["--alpha", "nan"], "--alpha nan: must be above 0"),
        (["--min-effect", "1"], "--min-effect 1.0: must be from 0 to below 1"),
        (["--min-effect", "-0.1"], "--min-effect -0.1: must be from 0 to below 1"),
        (["--min-effect", "inf"], "--min-effect inf: must be a number"),
        (["--metric", "pass", "--min-effect", "0", "--alpha", "0.5"], "--alpha 0.5"),
    ],
)
def test_ab_flags_the_maths_cannot_use_are_exit_2_before_anything_runs(
    cli, project, fake_service, service_stats, flags, needle
) -> None:
    result = cli(*ab_args(project, fake_service.base_url, *flags))
    assert result.code == 2, result.out + result.err
    assert needle in result.err
    assert "Traceback" not in result.err
    assert service_stats.get()["by_path"].get("/v1/chat/completions", 0) == 0
    with open_store(f"sqlite:///{project}/ab.db") as store:
        assert store.runs.find() == []


def test_ab_with_a_zero_floor_on_the_pass_metric_reports_a_verdict(
    cli, project, fake_service, tmp_path
) -> None:
    result = cli(
        *ab_args(
            project,
            fake_service.base_url,
            "--metric",
            "pass",
            "--min-effect",
            "0",
            "--json",
            "ab.json",
        )
    )
    assert result.code == 0, result.out + result.err
    report = json.loads((tmp_path / "ab.json").read_text())
    assert report["min_effect"] == 0 and report["metric"] == "pass"
    assert report["verdict"] in {"A wins", "B wins", "no significant difference"}


# --- 7. every retry counts, also those of calls that failed in the end ------------------------


def test_retries_of_calls_that_finally_failed_are_counted(
    cli, tmp_path, fake_service, service_stats
) -> None:
    cases = jsonl(
        tmp_path / "faults.jsonl",
        [
            {"id": "gives-up", "input": "refund [[fail:500x9]]", "expected": "x"},
            {"id": "recovers", "input": "refund [[fail:429x1]]", "expected": "x"},
            {"id": "clean", "input": "refund", "expected": "x"},
        ],
    )
    result = cli(
        "run", str(cases), "--base-url", fake_service.base_url, "--model", "support-bot",
        "--store", f"sqlite:///{tmp_path}/e.db", "--retries", "2", "--json", "out.json",
    )  # fmt: skip
    assert result.code == 1, result.out + result.err
    stats = json.loads((tmp_path / "out.json").read_text())["stats"]
    faults = service_stats.model("support-bot")["faults"]
    assert faults == 3 + 1  # gives-up: 3 attempts, all failed; recovers: 1
    assert stats["retries"] == 2 + 1  # every attempt after a first one
    assert stats["target_errors"] == 1
    assert "3 retries" in result.out


# --- 8. a run that stops leaves no report from an earlier run ---------------------------------


def test_an_old_json_report_is_removed_when_the_run_exits_3(cli, tmp_path, closed_port) -> None:
    cases = jsonl(tmp_path / "c.jsonl", [{"id": "a", "input": "x", "expected": "y"}])
    for name in ("out.json", "junit.xml", "summary.md"):
        (tmp_path / name).write_text('{"verdict": "pass"}')
    result = cli(
        "run", str(cases), "--base-url", f"http://127.0.0.1:{closed_port}/v1", "--model", "m",
        "--retries", "0", "--store", f"sqlite:///{tmp_path}/e.db",
        "--json", "out.json", "--junit", "junit.xml", "--markdown", "summary.md",
    )  # fmt: skip
    assert result.code == 3, result.out + result.err
    for name in ("out.json", "junit.xml", "summary.md"):
        assert not (tmp_path / name).exists(), name


def test_an_old_json_report_is_removed_when_the_store_cannot_open(cli, tmp_path) -> None:
    cases = jsonl(tmp_path / "c.jsonl", [{"id": "a", "input": "x", "expected": "y"}])
    (tmp_path / "afile").write_text("x")
    (tmp_path / "out.json").write_text('{"verdict": "pass"}')
    result = cli(
        "run", str(cases), "--base-url", "http://127.0.0.1:9/v1", "--model", "m",
        "--store", f"sqlite:///{tmp_path}/afile/sub/e.db", "--resume", "r-1", "--json", "out.json",
    )  # fmt: skip
    assert result.code == 3, result.out + result.err
    assert not (tmp_path / "out.json").exists()


# --- 10. hostile trace files are exit 2 with file:line ----------------------------------------


def test_traces_import_of_huge_numbers_and_deep_nesting_is_exit_2_with_file_line(
    cli, tmp_path
) -> None:
    huge = tmp_path / "huge.jsonl"
    huge.write_text(
        '{"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "timestamp": "2026-10-04T09:12:44Z",'
        ' "latency_ms": 1e400}\n'
    )
    nested: dict = {"x": 1}  # type: ignore[type-arg]
    for _ in range(300):
        nested = {"n": nested}
    deep = jsonl(
        tmp_path / "deep.jsonl",
        [
            {
                "trace_id": "4bf92f3577b34da6a3ce929d0e0e4737",
                "timestamp": "2026-10-04T09:12:44Z",
                "extra": nested,
            }
        ],
    )
    for path in (huge, deep):
        result = cli("traces", "import", str(path), "--store", f"sqlite:///{tmp_path}/t.db")
        assert result.code == 2, (path, result.out, result.err)
        assert f"{path}:1: " in result.err
        assert "Traceback" not in result.err


# --- 2. the config file is read with the same YAML bounds as case files ----------------------


def test_an_alias_bomb_in_the_config_file_is_exit_2_with_file_line(cli, tmp_path, echo) -> None:
    laughs = (
        '    a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
        + "".join(f"    a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10))
    )
    config = tmp_path / "evallock.yaml"
    config.write_text("target:\n  params:\n" + laughs)
    cases = jsonl(tmp_path / "c.jsonl", [{"id": "a", "input": "x", "expected": "x"}])
    started = time.monotonic()
    result = cli("run", str(cases), "--python", echo, "--config", str(config))
    assert time.monotonic() - started < 10
    assert result.code == 2, result.out + result.err
    assert f"{config}:" in result.err and "aliases expand to more than" in result.err
