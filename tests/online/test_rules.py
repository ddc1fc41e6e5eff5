"""Evaluator rules: which traces they take, deterministic sampling, refused settings."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from scipy import stats

from evallock.config import Settings
from evallock.errors import ConfigError
from evallock.online import Budget, EvaluatorRule
from evallock.records import Trace

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def trace(trace_id: str, **keys: str) -> Trace:
    return Trace(trace_id=trace_id, timestamp=T0, input="hi", output="hello", keys=keys)


def test_where_matches_every_key() -> None:
    rule = EvaluatorRule(name="refunds", where={"intent": "refund", "environment": "prod"})
    assert rule.takes(trace("a", intent="refund", environment="prod", customer_tier="pro"))
    assert not rule.takes(trace("b", intent="refund"))
    assert not rule.takes(trace("c", intent="billing", environment="prod"))


def test_sampling_is_deterministic_and_near_its_rate() -> None:
    rule = EvaluatorRule(name="tenth", sample=0.1)
    ids = [f"{n:032x}" for n in range(20_000)]
    taken = [i for i in ids if rule.samples(i)]
    assert taken == [i for i in ids if rule.samples(i)]  # the same answer every time
    # the count is Binomial(20000, 0.1) if the hash is uniform: a 99.9 % acceptance band
    lo, hi = stats.binom.ppf([0.0005, 0.9995], len(ids), 0.1)
    assert lo <= len(taken) <= hi
    other = EvaluatorRule(name="other", sample=0.1)
    overlap = sum(other.samples(i) for i in taken)
    assert overlap < len(taken) * 0.2  # evaluators sample independently of each other


def test_budget_names_the_limit_reached() -> None:
    budget = Budget(calls_per_day=10, cost_per_day=0.5)
    assert budget.spent(9, 10**9, 0.1) is None
    assert budget.spent(10, 0, 0.0) == "budget calls_per_day 10 spent"
    assert budget.spent(0, 0, 0.5) == "budget cost_per_day 0.5 spent"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"name": "Refund Quality"}, "lower-case letters, digits"),
        ({"name": "x", "sample": 1.5}, "sample must be in [0, 1]"),
        ({"name": "x", "pass_score": 6}, "pass_score must be 1-5"),
        (
            {"name": "x", "assert": [{"type": "regex", "value": "("}]},
            "evaluator x: assert[0]: regex",
        ),
        (
            {"name": "x", "budget": {"calls_per_day": -1}},
            "budget.calls_per_day must be a number ≥ 0",
        ),
    ],
)
def test_bad_rules_are_refused_naming_what(raw, message) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Settings.model_validate({"evaluators": [raw]})


def test_the_config_file_spelling() -> None:
    settings = Settings.model_validate(
        {
            "evaluators": [
                {"name": "fmt", "assert": [{"type": "max-length", "value": 500}]},
                {"name": "quality", "where": {"intent": "refund"}, "sample": 0.25},
            ]
        }
    )
    fmt, quality = settings.evaluators
    assert fmt.asserts == ({"type": "max-length", "value": 500},) and not fmt.judged
    assert quality.judged and quality.rubric is None  # no checks: the drift rubric
