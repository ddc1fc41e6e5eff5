"""``evallock import promptfoo``: a config in promptfoo's documented format, brought over."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

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
        "weight": 2.0,
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
    assert "`outputPath` has no evallock equal" in text


def test_not_a_promptfoo_config_is_exit_2(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text("tests: []\n")
    result = cli("import", "promptfoo", str(tmp_path / "x.yaml"))
    assert result.code == 2 and "not a promptfoo config" in result.err


def run_config(cli: Any, config: str, tmp_path: Path, monkeypatch: Any) -> tuple[Any, Any]:
    """`evallock run promptfooconfig.yaml` in ``tmp_path``: the result and its JSON report."""
    (tmp_path / "promptfooconfig.yaml").write_text(config)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_API_KEY", "unused")
    result = cli(
        "run", "promptfooconfig.yaml", "--store", f"sqlite:///{tmp_path}/e.db", "--json", "r.json"
    )
    return result, json.loads((tmp_path / "r.json").read_text())


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
    result, report = run_config(cli, config, tmp_path, monkeypatch)
    # without a system prompt the bot says it is not sure: the first passes, the second fails
    assert (report["n"], report["passed"], report["failed"]) == (2, 1, 1), result.out + result.err
    assert report["dataset"].endswith("promptfoo/promptfooconfig.jsonl")
    assert result.code == 1  # 50 % is below the gate's default 90 %


EXAMPLES = DATA / "examples"


def imported(cli: Any, config: Path, out: Path) -> tuple[list[dict[str, Any]], list[str], Any]:
    result = cli(
        "import", "promptfoo", str(config), "--out", str(out), "--settings", str(out) + ".yaml"
    )
    assert result.code == 0, result.out + result.err
    cases = [json.loads(line) for line in out.read_text().splitlines()]
    left = [line.removeprefix("not imported: ") for line in result.out.splitlines()]
    return cases, [line for line in left if line.startswith(str(config.parent))], result


def test_promptfoos_getting_started_example(cli: Any, tmp_path: Path) -> None:
    config = EXAMPLES / "getting-started" / "promptfooconfig.yaml"
    cases, left, _ = imported(cli, config, tmp_path / "c.jsonl")
    assert [(c["input"], c["assert"]) for c in cases] == [
        ("Convert this English to French: Hello world", [{"type": "contains", "value": "Bonjour le monde"}]),
        ("Convert this English to Spanish: Where is the library?", [{"type": "icontains", "value": "Dónde está la biblioteca"}]),
    ]  # fmt: skip
    assert left == [
        f"{config}:9: prompt 2 left out: evallock runs one prompt per target"
        " (compare two with `evallock ab --a prompt=… --b prompt=…`)",
        f"{config}:13: provider 'openai:o4-mini' left out: evallock runs one target"
        " (compare two with `evallock ab`)",
    ]
    settings = (tmp_path / "c.jsonl.yaml").read_text()
    assert "model: gpt-4.1" in settings and "base_url: https://api.openai.com/v1" in settings


def test_promptfoos_simple_test_example_with_a_ref_and_yaml_1_2_scalars(
    cli: Any, tmp_path: Path
) -> None:
    config = EXAMPLES / "simple-test" / "promptfooconfig.yaml"
    cases, left, _ = imported(cli, config, tmp_path / "c.jsonl")
    by_description = {c["description"]: c for c in cases}
    exact = by_description["Check for exact match"]
    # js-yaml reads `body: Yes` as the text Yes (YAML 1.2), not as true
    assert exact["input"] == "Rephrase this from English to Pirate: Yes"
    similar = by_description["Check for semantic similarity"]["assert"]
    assert similar == [{"type": "similar", "value": "Ahoy, world", "threshold": 0.75}]
    pirate = by_description["Use LLM to evaluate output"]
    assert pirate["judge"] == {"rubric": "Is spoken like a pirate"}
    assert pirate["assert"] == [{"type": "icontains", "value": "arrr"}]  # the $ref, resolved
    assert [line.split(": ", 1)[0].rsplit(":", 1)[1] for line in left] == ["3", "32", "34", "52"]
    assert "javascript left out" in left[1] and "python left out" in left[2]


def test_promptfoos_json_output_example(cli: Any, tmp_path: Path) -> None:
    config = EXAMPLES / "json-output" / "promptfooconfig.yaml"
    cases, left, _ = imported(cli, config, tmp_path / "c.jsonl")
    assert cases[0]["assert"] == [{"type": "is-json"}]
    schema_check, any_check = cases[1]["assert"]
    assert schema_check["type"] == "is-json" and schema_check["value"]["required"] == [
        "color",
        "countries",
    ]
    assert any_check["value"] == ["Guatemala", "Costa Rica", "India", "Indonesia"]
    assert left == [
        f"{config}:14: javascript left out: evallock runs no code from a config (write a grader"
        " plugin, entry point evallock.assertions)",
        f"{config}:22: options.transform left out: no evallock equal",
        f"{config}:36: javascript left out: evallock runs no code from a config (write a grader"
        " plugin, entry point evallock.assertions)",
        f"{config}:40: contains-any: transform left out: no evallock equal",
    ]


def test_promptfoos_scenarios_example_runs_every_var_set_through_every_test(
    cli: Any, tmp_path: Path
) -> None:
    config = EXAMPLES / "config-multiple-translations" / "promptfooconfig-scenarios.yaml"
    cases, left, _ = imported(cli, config, tmp_path / "c.jsonl")
    assert len(cases) == 9  # 3 var-sets × 3 tests
    german_morning = next(
        c
        for c in cases
        if c["vars"]["language"] == "German" and c["vars"]["input"] == "Good morning"
    )
    assert (
        german_morning["input"] == "You're a translator.  Translate this into German: Good morning"
    )
    # the assertion's value is rendered with the scenario's vars
    assert german_morning["assert"] == [
        {"type": "similar", "value": "Guten Morgen", "threshold": 0.9}
    ]
    assert german_morning["description"] == (
        "Translation accuracy with expected results / Translated Good Morning"
    )
    assert any("provider 'anthropic:claude-sonnet-5' left out" in line for line in left)


COVERAGE = DATA / "coverage"


def test_every_construct_is_imported_or_listed_with_its_file_and_line(
    cli: Any, tmp_path: Path
) -> None:
    config = COVERAGE / "promptfooconfig.yaml"
    cases, _, result = imported(cli, config, tmp_path / "c.jsonl")
    by_description = {c.get("description", c["id"]): c for c in cases}
    weighted = by_description["weighted with a threshold"]
    assert weighted["input"] == [
        {"role": "system", "content": "You answer for the pro plan."},
        {"role": "user", "content": "Charged twice?"},
    ]
    assert weighted["threshold"] == 0.6
    assert weighted["judge"] == {"rubric": "Promises a refund", "pass_score": 4}
    assert weighted["assert"] == [
        {"type": "latency-ms", "threshold": 5000},  # defaultTest's, from its file
        {"type": "contains-json", "value": {"type": "object", "required": ["refund"]}, "weight": 2.0},
        {"type": "cost", "threshold": 0.002},
        {"type": "not-icontains", "value": "stupid"},  # the $ref to assertionTemplates
        # the assert-set, flattened: its weight 2 shared 1:3, so the score is the same
        {"type": "icontains", "value": "refund", "weight": 0.5},
        {"type": "icontains", "value": "pro", "weight": 1.5},
    ]  # fmt: skip
    assert weighted["keys"] == {"team": "support", "intent": "refund"}  # tags and metadata
    factual = by_description["factual"]
    assert factual["expected"] == "Refunds take 5 business days." and factual["judge"] == {}
    assert factual["input"][1]["content"] == "What is the refund window?"
    assert "only for another provider" not in by_description
    assert "only for the refund prompt" in by_description  # its filter names the prompt's label
    assert by_description["from a YAML file"]["vars"]["question"] == "Yes"
    assert by_description["from JSONL"]["assert"][-1] == {
        "type": "contains-any",
        "value": "tracking, shipped",
    }
    rows = [c for c in cases if "description" not in c]
    assert rows[0]["assert"][1:] == [
        {"type": "similar", "value": "You can pause anytime", "threshold": 0.9},
        {"type": "not-contains", "value": "sorry"},
    ]
    assert rows[0]["threshold"] == 0.5
    assert rows[0]["keys"] == {"team": "support", "intent": "pause", "labels": "a,b,c"}
    assert rows[1]["assert"][1:] == [{"type": "cost", "threshold": 0.01}]
    plans = [c for c in cases if c.get("description") == "Plans / plan named"]
    assert [c["assert"][-1]["value"] for c in plans] == ["free", "pro"]

    settings = (tmp_path / "c.jsonl.yaml").read_text()
    assert "api: responses" in settings and "api_key_env: BOT_KEY" in settings
    assert "sk-never-copied" not in settings
    assert "judge:\n  base_url: http://127.0.0.1:8001/v1\n  model: judge" in settings
    assert "run:\n  concurrency: 8\n  trials: 3" in settings

    left = [line.removeprefix("not imported: ") for line in result.out.splitlines()]
    left = [line for line in left if line.startswith(str(COVERAGE))]
    expected = [
        ("default_test.yaml:11", "options.rubricPrompt left out"),
        ("promptfooconfig.yaml:9", "apiKey left out: secrets come from environment variables"),
        ("promptfooconfig.yaml:9", "provider transform left out"),
        ("promptfooconfig.yaml:17", "provider 'https://example.com/generate' left out"),
        ("promptfooconfig.yaml:18", "provider 'echo' left out"),
        ("promptfooconfig.yaml:22", "evaluateOptions.delay left out"),
        ("promptfooconfig.yaml:39", "assert-set threshold left out"),
        ("promptfooconfig.yaml:51", "llm-rubric left out: evallock asks the judge once per case"),
        ("promptfooconfig.yaml:53", "levenshtein left out: no evallock equal"),
        ("promptfooconfig.yaml:55", "levenshtein: metric left out"),
        ("promptfooconfig.yaml:62", "options.transform left out"),
        ("promptfooconfig.yaml:65", "test left out: its providers filter excludes the target"),
        ("promptfooconfig.yaml:72", "test providerOutput left out"),
        ("rows.csv:2", "column __metric left out"),
        ("rows.csv:3", "javascript left out"),
        ("tests.jsonl:2", "tests entry left out: not a test"),
        ("tests.yaml:11", "is-sql left out: no evallock equal"),
    ]
    assert len(left) == len(expected), "\n".join(left)
    for line, (place, what) in zip(left, expected, strict=True):
        assert line.startswith(f"{COVERAGE}/{place}: {what}"), line


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            "prompts: [x]\ntests:\n  - assert:\n      - $ref: '#/nowhere'\n",
            "promptfooconfig.yaml:4: $ref '#/nowhere' points at nothing",
        ),
        (
            "prompts: [x]\na: {$ref: '#/b'}\nb: {$ref: '#/a'}\n",
            "$ref '#/b' goes round in circles",
        ),
        (
            "prompts: [x]\ntests:\n  - $ref: 'other.yaml#/t'\n",
            "promptfooconfig.yaml:3: $ref 'other.yaml#/t': only #/… inside the config is read",
        ),
        (
            "prompts: [x]\ntests: file://missing.csv\n",
            "tests: ",
        ),
        (
            "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
            "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
            "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
            "g: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\nprompts: [x]\n",
            "refusing an alias bomb",
        ),
    ],
)  # fmt: skip
def test_a_config_that_cannot_be_read_whole_is_exit_2_with_the_place(
    cli: Any, tmp_path: Path, config: str, message: str
) -> None:
    (tmp_path / "promptfooconfig.yaml").write_text(config)
    result = cli(
        "import",
        "promptfoo",
        str(tmp_path / "promptfooconfig.yaml"),
        "--out",
        str(tmp_path / "c.jsonl"),
    )
    assert result.code == 2 and message in result.err, result.err
    assert not (tmp_path / "c.jsonl").exists()


def test_evallock_run_takes_the_configs_grader_and_repeat(
    cli: Any, tmp_path: Path, monkeypatch: Any, fake_service: Any
) -> None:
    """`defaultTest.options.provider` grades the llm-rubric checks, `evaluateOptions.repeat`
    asks each case that many times: as promptfoo would, with no evallock.yaml."""
    config = f"""
prompts: ["{{{{ question }}}}"]
providers:
  - id: openai:chat:support-bot
    config: {{apiBaseUrl: "{fake_service.base_url}"}}
evaluateOptions: {{repeat: 2}}
defaultTest:
  options:
    provider:
      id: openai:chat:judge
      config: {{apiBaseUrl: "{fake_service.base_url}"}}
tests:
  - vars: {{question: "Where is my order?"}}
    assert:
      - type: llm-rubric
        value: Tells the customer where the order is.
      - type: cost
        threshold: 1
"""
    result, report = run_config(cli, config, tmp_path, monkeypatch)
    (case,) = report["cases"]
    assert case["trials"] and len(case["trials"]) == 2, result.out + result.err
    # the judge was asked (a score on its 1-5 scale); the cost check could not be made
    assert case["judge_score"] in range(1, 6)
    assert case["error"] is not None and "target.price" in case["error"]
