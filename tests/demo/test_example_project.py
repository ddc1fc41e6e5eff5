"""The bundled example project: its files are there and agree with each other."""

from __future__ import annotations

import json
import re

import jinja2
import pytest
import yaml

from evallock.demo import example_dir
from evallock.demo._knowledge import KNOWLEDGE_BASE
from evallock.demo._policy import parse_policy


def _render(name: str, plan: str) -> str:
    source = (example_dir() / "prompts" / name).read_text(encoding="utf-8")
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    return env.from_string(source).render(plan=plan, input="hi")


def _cases() -> list[dict[str, object]]:
    lines = (example_dir() / "golden.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_example_files_are_bundled() -> None:
    root = example_dir()
    for name in (
        "evallock.yaml",
        "golden.jsonl",
        "README.md",
        "prompts/support-v3.txt",
        "prompts/support-v4.txt",
    ):
        assert (root / name).is_file(), name


def test_golden_cases_are_well_formed() -> None:
    cases = _cases()
    assert 24 <= len(cases) <= 30
    ids = [case["id"] for case in cases]
    assert len(set(ids)) == len(ids)
    for case in cases:
        keys = case["keys"]
        assert isinstance(keys, dict)
        assert keys["customer_tier"] in {"consumer", "pro", "enterprise"}
        assert keys["intent"]
        assert case.get("assert") or case.get("judge"), case["id"]
        if case.get("judge"):
            assert case.get("expected"), case["id"]
    locks = [
        case for case in cases if isinstance(case.get("source"), dict) and case["source"]["lock"]
    ]  # type: ignore[index]
    assert len(locks) == 1
    source = locks[0]["source"]
    assert isinstance(source, dict)
    assert re.fullmatch(r"[0-9a-f]{32}", source["trace_id"])
    assert source["kind"] == "feedback"
    assert locks[0]["keys"] == {"intent": "refund", "customer_tier": "enterprise"}


@pytest.mark.parametrize("plan", ["consumer", "pro", "enterprise"])
def test_prompts_render_for_every_plan(plan: str) -> None:
    for name in ("support-v3.txt", "support-v4.txt"):
        assert parse_policy(_render(name, plan)).lines


def test_enterprise_block_only_for_enterprise() -> None:
    assert "enterprise contracts" not in _render("support-v3.txt", "consumer")
    assert "enterprise contracts" in _render("support-v3.txt", "enterprise")


def test_knowledge_base_is_the_good_policy() -> None:
    known = {line.answer for line in parse_policy(KNOWLEDGE_BASE).lines}
    good = {line.answer for line in parse_policy(_render("support-v3.txt", "enterprise")).lines}
    assert good <= known
    v4 = {line.answer for line in parse_policy(_render("support-v4.txt", "enterprise")).lines}
    assert len(v4 - good) == 3  # two new consumer answers and the regressed enterprise one
    assert len((v4 - good) & known) == 2
    assert not any("account manager" in answer for answer in known)


def test_config_points_at_the_bundled_models() -> None:
    config = yaml.safe_load((example_dir() / "evallock.yaml").read_text(encoding="utf-8"))
    target = config["target"]
    assert target["model"] == "support-bot"
    assert target["base_url"].endswith("/v1")
    assert (example_dir() / target["prompt"]).is_file()
    assert target["keys"] == {"prompt_version": "refund-v3", "model_version": "support-bot-v1"}
    assert config["judge"]["model"] == "judge"
    assert config["gate"]["min_pass_rate"] == 0.9
