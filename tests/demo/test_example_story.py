"""The example's story, checked end to end against the fake service.

The case loader and runner live elsewhere; this test keeps the story honest on
its own: render each prompt with the case's vars (Jinja2), ask the fake
service over HTTP, check the assertion types the example uses, and ask the
judge for the judged cases. Then: refund-v3 passes the 0.9 gate, refund-v4
does not, the lock fails only on v4, and v4 wins consumer cases v3 loses.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import httpx
import jinja2
import pytest

from evallock.demo import FakeService, example_dir

GATE = 0.9
JUDGE_SYSTEM = 'Grade the answer from 1 to 5. Reply with JSON: {"score": n, "reason": "..."}'


@dataclass(frozen=True)
class Outcome:
    case_id: str
    passed: bool
    answer: str
    tier: str
    lock: bool


def _cases() -> list[dict[str, Any]]:
    lines = (example_dir() / "golden.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _check(assertion: dict[str, Any], answer: str) -> bool:
    kind, value = assertion["type"], assertion["value"]
    if kind == "contains":
        return bool(value in answer)
    if kind == "icontains":
        return bool(value.lower() in answer.lower())
    if kind == "not-icontains":
        return bool(value.lower() not in answer.lower())
    if kind == "regex":
        return re.search(value, answer) is not None
    raise AssertionError(f"the story test does not know assertion type {kind!r}")


def _judge_score(client: httpx.Client, case: dict[str, Any], answer: str) -> int:
    def block(tag: str, text: str) -> str:
        escaped = text.replace("</", "<\\/")
        return f"<{tag}>\n{escaped}\n</{tag}>"

    user = "\n".join(
        [
            block("rubric", case["judge"]["rubric"]),
            block("question", case["input"]),
            block("reference", case["expected"]),
            block("answer", answer),
        ]
    )
    messages = [{"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": user}]
    response = client.post("/chat/completions", json={"model": "judge", "messages": messages})
    reply = response.json()["choices"][0]["message"]["content"]
    match = re.search(r"\{.*\}", reply, re.DOTALL)
    assert match, reply
    score: int = json.loads(match.group(0))["score"]
    return score


def _run(client: httpx.Client, prompt_file: str) -> dict[str, Outcome]:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    template = env.from_string((example_dir() / "prompts" / prompt_file).read_text("utf-8"))
    outcomes = {}
    for case in _cases():
        system = template.render({**case["vars"], "input": case["input"]})
        messages = [
            {"role": "system", "content": system},
            {"role": "user", "content": case["input"]},
        ]
        response = client.post(
            "/chat/completions", json={"model": "support-bot", "messages": messages}
        )
        answer = response.json()["choices"][0]["message"]["content"]
        passed = all(_check(assertion, answer) for assertion in case.get("assert", []))
        if case.get("judge"):
            passed &= _judge_score(client, case, answer) >= case["judge"]["pass_score"]
        outcomes[case["id"]] = Outcome(
            case_id=case["id"],
            passed=passed,
            answer=answer,
            tier=case["keys"]["customer_tier"],
            lock=bool(case.get("source", {}).get("lock")),
        )
    return outcomes


@pytest.fixture(scope="module")
def runs(service: FakeService) -> dict[str, dict[str, Outcome]]:
    with httpx.Client(base_url=service.base_url) as client:
        return {"v3": _run(client, "support-v3.txt"), "v4": _run(client, "support-v4.txt")}


def _pass_rate(outcomes: dict[str, Outcome]) -> float:
    return sum(o.passed for o in outcomes.values()) / len(outcomes)


def test_v3_passes_the_gate(runs: dict[str, dict[str, Outcome]]) -> None:
    failed = [o.case_id for o in runs["v3"].values() if not o.passed]
    assert _pass_rate(runs["v3"]) >= GATE, failed


def test_v4_fails_the_gate(runs: dict[str, dict[str, Outcome]]) -> None:
    assert _pass_rate(runs["v4"]) < GATE


def test_the_lock_fails_on_v4_only(runs: dict[str, dict[str, Outcome]]) -> None:
    locks = [o.case_id for o in runs["v3"].values() if o.lock]
    assert locks == ["refund-007"]
    assert runs["v3"]["refund-007"].passed
    v4_lock = runs["v4"]["refund-007"]
    assert not v4_lock.passed
    assert "30 days" in v4_lock.answer


def test_v4_wins_consumer_cases_and_loses_enterprise_ones(
    runs: dict[str, dict[str, Outcome]],
) -> None:
    v3, v4 = runs["v3"], runs["v4"]
    v4_wins = [cid for cid in v3 if v4[cid].passed and not v3[cid].passed]
    v3_wins = [cid for cid in v3 if v3[cid].passed and not v4[cid].passed]
    assert len(v4_wins) >= 2
    assert {v3[cid].tier for cid in v4_wins} == {"consumer"}
    assert v3_wins
    assert {v3[cid].tier for cid in v3_wins} == {"enterprise"}


def test_the_numbers_the_readme_tells(runs: dict[str, dict[str, Outcome]]) -> None:
    counts = {name: sum(o.passed for o in run.values()) for name, run in runs.items()}
    assert counts == {"v3": 26, "v4": 24}
    assert len(runs["v3"]) == 28
