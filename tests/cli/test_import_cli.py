"""``evallock import promptfoo``: a config in promptfoo's documented format, brought over."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data" / "promptfoo"


def test_a_promptfoo_config_becomes_cases_and_a_target_and_lists_what_did_not_map(
    cli: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    for name in ("promptfooconfig.yaml", "prompts.txt", "more_tests.csv"):
        shutil.copy(DATA / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    result = cli("import", "promptfoo", "promptfooconfig.yaml", "--out", "evals/golden.jsonl")
    assert result.code == 0, result.out + result.err
    cases = [json.loads(line) for line in Path("evals/golden.jsonl").read_text().splitlines()]
    by_id = {case["id"]: case for case in cases}
    # 4 inline tests, one with a 2-value list var (2 cases), and 2 CSV rows
    assert len(cases) == 6, [c["id"] for c in cases]
    first = by_id["pf-001"]
    assert first["input"] == (
        "Answer the customer on the consumer plan: I was charged twice, can I get a refund?"
    )
    assert first["description"] == "double charge"
    assert first["assert"] == [
        {"type": "not-icontains", "value": "as an AI"},  # defaultTest's, first
        {"type": "icontains", "value": "5 business days"},
        {"type": "regex", "value": "(?i)refund"},
    ]
    assert by_id["pf-002-1"]["vars"]["question"] == "Where is my order?"
    assert by_id["pf-002-2"]["vars"]["question"] == "How do I track my parcel?"
    assert by_id["pf-002-1"]["assert"][-1] == {
        "type": "contains-any",
        "value": ["tracking", "shipped"],
    }
    enterprise = by_id["pf-003"]
    assert enterprise["judge"]["rubric"].startswith("Says enterprise refunds")
    assert enterprise["keys"] == {"customer_tier": "enterprise"}
    assert "enterprise plan" in enterprise["input"]
    csv_rows = [c for c in cases if c["id"].startswith(("pf-004", "pf-005"))]
    assert {"type": "icontains", "value": "pause"} in csv_rows[0]["assert"]
    assert csv_rows[1]["judge"]["rubric"] == "mentions 30 days"
    config = Path("evallock.yaml").read_text()
    assert "base_url: http://127.0.0.1:8001/v1" in config and "model: support-bot" in config
    left = [line for line in result.out.splitlines() if line.startswith("not imported:")]
    text = "\n".join(left)
    assert "promptfooconfig.yaml:5: prompt 2 left out" in text  # the file:// prompt
    assert "prompt 3 left out" in text
    assert "promptfooconfig.yaml:11: provider 'anthropic:messages:claude-sonnet-4'" in text
    assert "javascript left out: evallock runs no code from a config" in text
    assert "contains-any: weight left out" in text
    assert "`outputPath` has no evallock equal" in text


def test_not_a_promptfoo_config_is_exit_2(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text("tests: []\n")
    result = cli("import", "promptfoo", str(tmp_path / "x.yaml"))
    assert result.code == 2 and "not a promptfoo config" in result.err


def test_evallock_run_takes_a_promptfoo_config_as_it_is(
    cli: Any, tmp_path: Path, monkeypatch: Any, fake_service: Any
) -> None:
    config = f"""
prompts:
  - "{{{{ question }}}}"
providers:
  - id: openai:chat:support-bot
    config:
      apiBaseUrl: {fake_service.base_url}
tests:
  - vars:
      question: Where is my order?
    assert:
      - type: icontains
        value: "not sure"
  - vars:
      question: What is the meaning of life?
    assert:
      - type: not-icontains
        value: "not sure"
"""
    (tmp_path / "promptfooconfig.yaml").write_text(config)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_API_KEY", "unused")
    result = cli(
        "run", "promptfooconfig.yaml", "--store", f"sqlite:///{tmp_path}/e.db", "--json", "r.json"
    )
    report = json.loads((tmp_path / "r.json").read_text())
    # without a system prompt the bot says it is not sure: the first passes, the second fails
    assert (report["n"], report["passed"], report["failed"]) == (2, 1, 1), result.out + result.err
    assert report["dataset"].endswith("promptfoo/promptfooconfig.jsonl")
    assert result.code == 1  # 50 % is below the gate's default 90 %
