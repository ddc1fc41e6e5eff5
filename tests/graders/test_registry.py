"""The registry: load-time validation, promptfoo spellings, negation, plugins."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from evallock.graders import (
    ASSERTION_TYPES,
    AssertionSpec,
    GradeContext,
    build_grader,
    parse_assertion,
    register_assertion,
    registry,
)
from evallock.records import Assertion, Grade

BUILT_INS = {
    "contains", "contains-all", "contains-any", "equals", "icontains", "icontains-all",
    "icontains-any", "is-json", "json-schema", "latency-ms", "matches-expected", "max-length",
    "not-contains", "not-icontains", "not-regex", "numeric", "regex", "similar", "starts-with",
}  # fmt: skip


def test_built_ins_are_registered() -> None:
    assert set(ASSERTION_TYPES) >= BUILT_INS
    assert all(spec.summary for spec in ASSERTION_TYPES.values())


def test_unknown_type_names_the_known_ones_sorted() -> None:
    with pytest.raises(ValueError) as info:
        parse_assertion({"type": "llm-rubric", "value": "x"})
    message = str(info.value)
    assert message.startswith("unknown assertion type 'llm-rubric'; known: contains, contains-all")
    listed = message.split("known: ")[1].split(" (")[0].split(", ")
    assert listed == sorted(ASSERTION_TYPES)
    assert "\n" not in message


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("contains", "an assertion must be an object with a type, got str"),
        ({"value": "x"}, "an assertion needs a type"),
        ({"type": ""}, "an assertion needs a type"),
        ({"type": "contains"}, "contains needs a text value, got nothing"),
        ({"type": "contains", "value": ""}, "contains needs a non-empty text value"),
        ({"type": "icontains", "value": ["a"]}, "icontains needs a text value, got a list ['a']"),
        ({"type": "contains", "value": "x", "threshold": 0.5}, "contains takes no threshold"),
        ({"type": "contains", "value": "x", "metric": "tone"}, "contains: unknown key 'metric'; it takes type, value, weight"),
        ({"type": "contains", "value": "x", "weight": -1}, "contains weight must be ≥ 0, got -1"),
        ({"type": "contains", "value": "x", "weight": "heavy"}, "contains weight"),
        ({"type": "regex", "value": "(unclosed"}, "regex: invalid pattern /(unclosed/: missing ), unterminated subpattern at position 0"),
        ({"type": "not-regex", "value": "[z-a]"}, "not-regex: invalid pattern /[z-a]/: bad character range z-a at position 1"),
        ({"type": "json-schema"}, "json-schema needs a schema as its value"),
        ({"type": "json-schema", "value": {"type": 5}}, "json-schema: not a valid JSON schema at $.type:"),
        ({"type": "is-json", "value": {"minimum": "0"}}, "is-json: not a valid JSON schema at $.minimum: '0' is not of type 'number'"),
        ({"type": "numeric"}, "numeric value must be a number, got nothing"),
        ({"type": "numeric", "value": "about 4"}, "numeric value must be a number, got text 'about 4'"),
        ({"type": "numeric", "value": True}, "numeric value must be a number, got a boolean True"),
        ({"type": "numeric", "value": 4, "threshold": -1}, "numeric threshold (the tolerance) must be ≥ 0, got -1"),
        ({"type": "numeric", "value": 4, "threshold": "wide"}, "numeric threshold must be a number, got text 'wide'"),
        ({"type": "contains-any", "value": 5}, "contains-any needs a list of texts, got int 5"),
        ({"type": "contains-all", "value": [1, {"a": 1}]}, "contains-all needs a list of texts, got an item an object {'a': 1}"),
        ({"type": "icontains-any", "value": ["", ""]}, "icontains-any needs at least one non-empty text"),
        ({"type": "max-length", "value": 2.5}, "max-length value must be a whole number of characters ≥ 0, got 2.5"),
        ({"type": "latency-ms"}, "latency-ms needs a limit in milliseconds as its value"),
        ({"type": "latency-ms", "value": 0}, "latency-ms value must be > 0 ms, got 0"),
        ({"type": "latency", "value": 5, "threshold": 5}, "latency-ms: give the limit once"),
        ({"type": "matches-expected", "value": "?!"}, "matches-expected: the expected text is empty once normalised"),
        ({"type": "not-nonsense"}, "unknown assertion type 'not-nonsense'"),
    ],
)  # fmt: skip
def test_bad_assertions_are_rejected_at_load(raw, message) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message)) as info:
        parse_assertion(raw)
    assert "\n" not in str(info.value)


def test_parse_returns_the_canonical_assertion() -> None:
    assert parse_assertion({"type": "latency", "threshold": 900}) == Assertion(
        type="latency-ms", threshold=900.0
    )
    assert parse_assertion({"type": "not-latency", "threshold": 9}).type == "not-latency-ms"
    assert parse_assertion({"type": " numeric ", "value": "3", "threshold": "0.5"}) == Assertion(
        type="numeric", value="3", threshold=0.5
    )


def test_build_grader_rejects_what_parse_would() -> None:
    with pytest.raises(ValueError, match=r"^regex: invalid pattern"):
        build_grader(Assertion(type="regex", value="("))


@dataclass(frozen=True, kw_only=True, slots=True)
class WordCount:
    """A plugin's grader: at most ``limit`` words."""

    limit: int
    name: str = "word-count"

    async def grade(self, ctx: GradeContext) -> Grade:
        n = len(ctx.output.split())
        return Grade(
            name=self.name,
            passed=n <= self.limit,
            score=float(n <= self.limit),
            reason=f"{n} words",
        )


def _word_count_spec() -> AssertionSpec:
    def build(a: Assertion) -> WordCount:
        if not isinstance(a.value, int):
            raise ValueError("word-count needs a whole number")
        return WordCount(limit=a.value, name=a.type)

    return AssertionSpec(
        name="word-count", build=build, summary="at most `value` words", options=frozenset({"unit"})
    )


def test_a_plugin_registers_like_a_built_in(monkeypatch, check) -> None:
    monkeypatch.setattr(registry, "ASSERTION_TYPES", dict(ASSERTION_TYPES))
    register_assertion(_word_count_spec())
    assert check({"type": "word-count", "value": 3, "unit": "words"}, "one two").passed
    assert check({"type": "not-word-count", "value": 1}, "one two").passed
    assert parse_assertion({"type": "word-count", "value": 3, "unit": "w"}).options == {"unit": "w"}
    with pytest.raises(ValueError, match=r"^word-count needs a whole number"):
        parse_assertion({"type": "word-count", "value": "3"})
    with pytest.raises(ValueError, match="already registered"):
        register_assertion(_word_count_spec())
    register_assertion(_word_count_spec(), replace=True)


def test_a_plugin_builder_that_raises_other_errors_is_reported_as_value_error(monkeypatch) -> None:
    def build(a: Assertion) -> WordCount:
        raise KeyError("limit")

    monkeypatch.setattr(registry, "ASSERTION_TYPES", dict(ASSERTION_TYPES))
    register_assertion(AssertionSpec(name="oops", build=build, summary="never builds"))
    with pytest.raises(ValueError, match=r"^oops: KeyError: 'limit'$"):
        parse_assertion({"type": "oops"})


def test_load_plugins_registers_entry_points(monkeypatch) -> None:
    class Point:
        def load(self):
            return lambda: [_word_count_spec()]

    monkeypatch.setattr(registry, "ASSERTION_TYPES", dict(ASSERTION_TYPES))
    monkeypatch.setattr(
        registry, "entry_points", lambda group: [Point()] if group == registry.PLUGIN_GROUP else []
    )
    assert registry.load_plugins() == ["word-count"]
    assert "word-count" in registry.ASSERTION_TYPES
