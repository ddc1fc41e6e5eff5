"""``evallock traces import|list|show``: backfill, filters by time and key, hostile text, bad files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from evallock.store import open_store

from .test_serve_cli import register_commands

HOSTILE = "[bold red]not markup[/] \x1b[2J\x1b[31mred\x07 <script>x</script>"


@pytest.fixture(autouse=True)
def _commands() -> None:
    register_commands()


def jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


ROWS = [
    {
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "timestamp": "2026-10-04T09:12:44Z",
        "input": "When will order #R1041 ship?",
        "output": "It ships within 2 business days.",
        "latency_ms": 812.3456789,
        "tokens_in": 31,
        "tokens_out": 12,
        "cost": 0.00021,
        "error": None,
        "keys": {"prompt_version": "refund-v3", "intent": "shipping", "customer_tier": "consumer"},
        "extra": {"session_id": "s-77"},
        "feedback": "down",
    },
    {
        "trace_id": "89d60bc7acef1141d97392b18134d84b",
        "timestamp": "2026-10-05T10:00:00Z",
        "input": HOSTILE,
        "output": HOSTILE,
        "keys": {"prompt_version": "refund-v4", "intent": "refund"},
    },
    {
        "trace_id": "0af7651916cd43dd8448eb211c80319c",
        "timestamp": "2026-10-06T11:30:00Z",
        "input": "Can I get a refund?",
        "output": "Yes, within 30 days.",
        "keys": {"prompt_version": "refund-v4", "intent": "refund", "customer_tier": "enterprise"},
    },
]

OTLP_LINE = {
    "resourceSpans": [
        {
            "resource": {
                "attributes": [
                    {"key": "service.name", "value": {"stringValue": "billing-assistant"}}
                ]
            },
            "scopeSpans": [
                {
                    "spans": [
                        {
                            "traceId": "5b8efff798038103d269b633813fc60c",
                            "spanId": "eee19b7ec3c1b174",
                            "name": "chat gpt-4.1-mini",
                            "kind": 3,
                            "startTimeUnixNano": "1791025200000000000",
                            "endTimeUnixNano": "1791025201250000000",
                            "attributes": [
                                {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                                {
                                    "key": "gen_ai.request.model",
                                    "value": {"stringValue": "gpt-4.1-mini"},
                                },
                                {
                                    "key": "gen_ai.input.messages",
                                    "value": {
                                        "stringValue": '[{"role":"user","parts":[{"type":"text","content":"Refund after 40 days?"}]}]'
                                    },
                                },
                                {
                                    "key": "evallock.prompt_version",
                                    "value": {"stringValue": "refund-v4"},
                                },
                            ],
                        }
                    ]
                }
            ],
        }
    ]
}


def test_import_list_show(cli: Callable, store_url: str, tmp_path: Path) -> None:
    imported = cli("traces", "import", str(jsonl(tmp_path / "t.jsonl", ROWS)), "--store", store_url)
    assert imported.code == 0, imported.err
    assert "imported 3 traces (3 new) and 1 feedback items (1 new)" in imported.out
    again = cli("traces", "import", str(tmp_path / "t.jsonl"), "--store", store_url)
    assert "(0 new)" in again.out  # merged, not duplicated

    listed = cli("traces", "list", "--store", store_url)
    assert listed.code == 0
    assert listed.out.index("0af7651916cd43dd8448eb211c80319c") < listed.out.index(
        "4bf92f3577b34da6a3ce929d0e0e4736"
    )
    assert "prompt_version=refund-v3" in listed.out and "session_id=s-77" in listed.out
    assert "1–3 of 3" in listed.out

    v4 = cli(
        "traces",
        "list",
        "--key",
        "prompt_version=refund-v4",
        "--key",
        "customer_tier=enterprise",
        "--store",
        store_url,
    )
    assert (
        "0af7651916cd43dd8448eb211c80319c" in v4.out
        and "89d60bc7" not in v4.out
        and "4bf92f35" not in v4.out
    )
    window = cli(
        "traces", "list", "--since", "2026-10-05", "--until", "2026-10-06", "--store", store_url
    )
    assert "89d60bc7acef1141d97392b18134d84b" in window.out and "1–1 of 1" in window.out

    shown = cli("traces", "show", "4BF92F3577B34DA6A3CE929D0E0E4736", "--store", store_url)
    assert shown.code == 0
    for text in (
        "When will order #R1041 ship?",
        "It ships within 2 business days.",
        "key customer_tier",
        "feedback: 1",
        "- down",
    ):
        assert text in shown.out, text
    assert "812.3" in shown.out and "812.3456" not in shown.out  # rounded for reading
    assert "0.00021" in shown.out


def test_json_output(cli: Callable, store_url: str, tmp_path: Path) -> None:
    cli("traces", "import", str(jsonl(tmp_path / "t.jsonl", ROWS)), "--store", store_url)
    listed = cli("traces", "list", "--json", "-", "--key", "intent=shipping", "--store", store_url)
    data = json.loads(listed.out)
    assert data["total"] == 1 and data["traces"][0]["keys"]["session_id"] == "s-77"
    cli(
        "traces",
        "show",
        ROWS[0]["trace_id"],
        "--json",
        str(tmp_path / "one.json"),
        "--store",
        store_url,
    )
    one = json.loads((tmp_path / "one.json").read_text())
    assert one["trace"]["output"] == ROWS[0]["output"] and one["feedback"][0]["rating"] == "down"


def test_otlp_json_export_files(cli: Callable, store_url: str, tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl"
    path.write_text(json.dumps(OTLP_LINE) + "\n")
    assert cli("traces", "import", str(path), "--store", store_url).code == 0
    with open_store(store_url) as store:
        trace = store.traces.get("5b8efff798038103d269b633813fc60c")
    assert trace is not None and trace.input == "Refund after 40 days?"
    assert trace.keys["prompt_version"] == "refund-v4"


def test_hostile_text_is_shown_as_plain_text(cli: Callable, store_url: str, tmp_path: Path) -> None:
    cli("traces", "import", str(jsonl(tmp_path / "t.jsonl", ROWS)), "--store", store_url)
    with open_store(store_url) as store:
        assert store.traces.get(ROWS[1]["trace_id"]).input == HOSTILE  # stored as given
    for args in (("list",), ("show", ROWS[1]["trace_id"])):
        result = cli("traces", *args, "--store", store_url)
        assert result.code == 0
        assert "[bold red]not markup[/]" in result.out  # not interpreted as markup
        assert "\x1b" not in result.out and "\x07" not in result.out  # no terminal control


def test_bad_files_and_ids(cli: Callable, store_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        json.dumps(ROWS[0])
        + "\n"
        + '{"trace_id": "xyz", "timestamp": "2026-10-04T09:12:44Z"}\n{not json\n'
    )
    result = cli("traces", "import", str(bad), "--store", store_url)
    assert result.code == 2
    assert f"{bad}:2:" in result.err and f"{bad}:3:" in result.err
    with open_store(store_url) as store:
        assert store.traces.count() == 0  # nothing of the file was stored
    assert cli("traces", "import", str(tmp_path / "missing.jsonl"), "--store", store_url).code == 2
    unknown = cli("traces", "show", "e" * 32, "--store", store_url)
    assert unknown.code == 2 and "no trace" in unknown.err
    assert cli("traces", "show", "not-an-id", "--store", store_url).code == 2
    since = cli("traces", "list", "--since", "last week", "--store", store_url)
    assert since.code == 2 and "--since" in since.err
    key = cli("traces", "list", "--key", "novalue", "--store", store_url)
    assert key.code == 2


@pytest.mark.parametrize(
    "args", [["traces"], ["traces", "import"], ["traces", "list"], ["traces", "show"]]
)
def test_help_ends_with_an_example(cli: Callable, args: list[str]) -> None:
    result = cli(*args, "--help")
    assert result.code == 0 and "Example: evallock" in result.out


def test_show_gives_the_template_vars_and_the_judge_scores_with_reasons(
    cli: Callable, store_url: str, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from evallock.records import StoredDriftReport

    row = {
        **ROWS[0],
        "vars": {"plan": "enterprise", "seats": [1, 2]},
        "tool_calls": [{"id": "call_1", "name": "order_status", "arguments": HOSTILE,
                        "result": "shipped"}],
    }  # fmt: skip
    assert (
        cli("traces", "import", str(jsonl(tmp_path / "t.jsonl", [row])), "--store", store_url).code
        == 0
    )
    now = datetime.now(UTC)
    with open_store(store_url) as store:
        for score, reason in ((5, "matches the policy"), (None, "reply could not be parsed")):
            report = StoredDriftReport(
                window_start=now, window_end=now, judge_version="judge@abc", alert=False, body={}
            )
            store.reports.add_drift_report(
                report, [(row["trace_id"], score, reason + " " + HOSTILE)]
            )
    shown = cli("traces", "show", row["trace_id"], "--store", store_url)
    assert shown.code == 0, shown.err
    assert "var plan" in shown.out and "enterprise" in shown.out
    assert "[tool call] order_status (call_1)" in shown.out and "result: shipped" in shown.out
    assert "judge scores: 2" in shown.out
    assert "- 5/5 by judge@abc" in shown.out and "matches the policy" in shown.out
    assert "- error by judge@abc" in shown.out
    assert "\x1b" not in shown.out and "[bold red]not markup[/]" in shown.out
    data = json.loads(
        cli("traces", "show", row["trace_id"], "--store", store_url, "--json", "-").out
    )
    assert [j["score"] for j in data["judge"]] == [None, 5]  # newest first
    assert data["trace"]["vars"] == {"plan": "enterprise", "seats": [1, 2]}
    assert data["trace"]["tool_calls"] == [
        {"name": "order_status", "arguments": HOSTILE, "id": "call_1", "result": "shipped"}
    ]
