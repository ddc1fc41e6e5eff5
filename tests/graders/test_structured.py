"""Structured graders: JSON, JSON Schema, numbers in the answer, latency."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evallock.graders.structured import JsonCheck, compile_schema, first_number

SCHEMA = {
    "type": "object",
    "properties": {"score": {"type": "integer"}, "email": {"type": "string", "format": "email"}},
    "required": ["score"],
}

CASES: list[tuple[dict[str, Any], str, bool, str]] = [
    ({"type": "is-json"}, ' {"a": 1} ', True, "valid JSON"),
    ({"type": "is-json", "value": SCHEMA}, '{"score": 3}', True, "valid JSON, matches the schema"),
    ({"type": "is-json", "value": SCHEMA}, '{"score": "3"}', False, "does not match the schema at $.score: '3' is not of type 'integer'"),
    ({"type": "json-schema", "value": SCHEMA}, '{"score": 5, "email": "a@b.example"}', True, "valid JSON, matches the schema"),
    ({"type": "json-schema", "value": SCHEMA}, "[]", False, "does not match the schema at $: [] is not of type 'object'"),
    ({"type": "json-schema", "value": SCHEMA}, '{"score": 1, "email": "nope"}', False, "does not match the schema at $.email: 'nope' is not a 'email'"),
    ({"type": "json-schema", "value": '{"type": "array"}'}, "[1]", True, "valid JSON, matches the schema"),
    ({"type": "numeric", "value": 42}, "The answer is 42.", True, "found 42, expected 42 ± 0"),
    ({"type": "numeric", "value": 42}, "The answer is 41", False, "found 41, expected 42 ± 0"),
    ({"type": "numeric", "value": 3.14, "threshold": 0.01}, "pi ≈ 3.1416", True, "found 3.1416, expected 3.14 ± 0.01"),
    ({"type": "numeric", "value": "1234.5"}, "It costs $1,234.50 in total", True, "found 1234.5, expected 1234.5 ± 0"),
    ({"type": "numeric", "value": 7}, "no idea", False, "no number in the answer, expected 7 ± 0"),
    ({"type": "latency-ms", "value": 1000}, "x", True, "answered in 812 ms, at most 1000 ms"),
    ({"type": "latency-ms", "value": 500}, "x", False, "answered in 812 ms, expected at most 500 ms"),
    ({"type": "latency", "threshold": 900}, "x", True, "answered in 812 ms, at most 900 ms"),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "output", "passed", "reason"), CASES)
def test_structured_passes_or_fails_with_reason(check, raw, output, passed, reason) -> None:
    grade = check(raw, output, latency_ms=812.0)
    assert (grade.passed, grade.reason) == (passed, reason)
    assert grade.score == (1.0 if passed else 0.0)
    assert grade.error is None


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("42", 42.0),
        ("about -3.5 degrees", -3.5),
        ("−7 (unicode minus)", -7.0),
        ("$1,234,567.89", 1234567.89),
        ("1,2,3", 1.0),
        ("order #R1041 ships in 2 days", 2.0),
        ("version v2 costs .5 dollars", 0.5),
        ("pages 3-5", 3.0),
        ("6.02e23 atoms", 6.02e23),
        ("45%", 45.0),
        ("nothing here", None),
    ],
)
def test_first_number(text, number) -> None:
    assert first_number(text) == number


@given(st.integers(-(10**12), 10**12), st.text(alphabet="abc xyz:!?"))
def test_first_number_reads_any_integer_after_words(n, words) -> None:
    assert first_number(f"{words} {n} and 7") == float(n)


def test_is_json_fails_on_prose_around_json(check) -> None:
    grade = check({"type": "is-json"}, 'Sure! {"a": 1}')
    assert not grade.passed
    assert grade.reason.startswith("not valid JSON: ")
    assert "line 1 column 1" in grade.reason


def test_float_noise_is_tolerated(check) -> None:
    assert check({"type": "numeric", "value": 0.3}, "0.30000000000000004").passed


def test_unresolvable_ref_is_a_grader_error(grade) -> None:
    grader = JsonCheck(validator=compile_schema({"$ref": "#/$defs/missing"}), name="json-schema")
    result = grade(grader, "{}")
    assert (result.passed, result.error_kind) == (False, "grader")
    assert result.error is not None
    assert result.error.startswith("schema could not be applied:")


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"type": "wat"}, "json-schema: not a valid JSON schema at $.type:"),
        ({"required": "score"}, "json-schema: not a valid JSON schema at $.required:"),
        ("{not json", "json-schema: the schema is not valid JSON:"),
        ([1, 2], "json-schema: the schema must be a JSON object, got list"),
    ],
)
def test_compile_schema_rejects_bad_schemas(schema, message) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("$", r"\$").replace(".", r"\.")):
        compile_schema(schema)


def test_a_remote_ref_is_never_fetched_and_is_a_grader_error_naming_it(grade, monkeypatch) -> None:
    import urllib.request

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("a remote $ref was fetched")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    url = "http://203.0.113.1/schema.json"  # TEST-NET-3: never answers
    result = grade(JsonCheck(validator=compile_schema({"$ref": url}), name="json-schema"), "{}")
    assert (result.passed, result.error_kind) == (False, "grader")
    assert result.error is not None and url in result.error
    assert "nothing is fetched" in result.error


@pytest.mark.parametrize(
    ("schema", "answer"),
    [
        ({"type": "string", "pattern": "(a|aa)+$"}, '"' + "a" * 60 + 'b"'),
        ({"type": "object", "patternProperties": {"(a|aa)+$": {}}}, '{"' + "a" * 60 + 'b": 1}'),
        (
            {
                "type": "object",
                "patternProperties": {"(a|aa)+$": {}},
                "additionalProperties": False,
            },
            '{"' + "a" * 60 + 'b": 1}',
        ),
    ],
)
def test_schema_patterns_that_backtrack_are_a_grader_error_not_a_stall(
    grade, schema, answer
) -> None:
    import time

    started = time.monotonic()
    result = grade(JsonCheck(validator=compile_schema(schema), name="json-schema"), answer)
    assert time.monotonic() - started < 10
    assert result.error_kind == "grader" and "gave up after 1 s" in (result.error or "")


@pytest.mark.parametrize(
    ("schema", "answer", "passed", "needle"),
    [
        ({"type": "string", "pattern": "^[0-9]+$"}, '"123"', True, ""),
        ({"type": "string", "pattern": "^[0-9]+$"}, '"12a"', False, "does not match '^[0-9]+$'"),
        ({"patternProperties": {"^x_": {"type": "integer"}}}, '{"x_a": 1}', True, ""),
        ({"patternProperties": {"^x_": {"type": "integer"}}}, '{"x_a": "no"}', False, "$.x_a"),
        ({"properties": {"a": {}}, "patternProperties": {"^x_": {}}, "additionalProperties": False},
         '{"a": 1, "x_b": 2}', True, ""),
        ({"properties": {"a": {}}, "patternProperties": {"^x_": {}}, "additionalProperties": False},
         '{"a": 1, "y": 2}', False, "'y' does not match any of the regexes: '^x_'"),
        ({"properties": {"a": {}}, "additionalProperties": False},
         '{"a": 1, "y": 2, "z": 3}', False, "Additional properties are not allowed ('y', 'z' were unexpected)"),
        ({"properties": {"a": {}}, "additionalProperties": {"type": "integer"}},
         '{"a": "s", "y": "t"}', False, "$.y"),
    ],
)  # fmt: skip
def test_bounded_pattern_keywords_keep_jsonschema_semantics(
    grade, schema, answer, passed, needle
) -> None:
    result = grade(JsonCheck(validator=compile_schema(schema), name="json-schema"), answer)
    assert result.error is None
    assert result.passed is passed
    assert needle in result.reason


def nested(depth: int) -> dict:  # type: ignore[type-arg]
    schema: dict = {"type": "object"}  # type: ignore[type-arg]
    for _ in range(depth - 1):
        schema = {"properties": {"a": schema}}
    return schema


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"pattern": "a" * 1001}, "json-schema: pattern: the pattern has 1,001 characters"),
        ({"patternProperties": {"(": {}}}, "json-schema: patternProperties: invalid pattern /(/"),
        ({"$schema": "http://example.com/my-meta"}, "json-schema: unknown $schema 'http://example.com/my-meta'"),
        ({"unevaluatedProperties": False, "patternProperties": {"^a": {}}}, "json-schema: unevaluatedProperties together with patternProperties"),
        (nested(200), "json-schema: the schema is nested deeper than 64 levels"),
    ],
)  # fmt: skip
def test_schemas_that_could_not_be_bounded_are_refused_at_load(schema, message) -> None:
    with pytest.raises(ValueError) as caught:
        compile_schema(schema)
    assert str(caught.value).startswith(message)


def test_data_keywords_are_not_read_as_schemas() -> None:
    compile_schema({"const": {"pattern": "("}, "examples": [{"pattern": "(("}]})


CONTAINS_JSON: list[tuple[dict[str, Any], str, bool, str]] = [
    ({"type": "contains-json"}, 'Sure! Here it is:\n```json\n{"color": "yellow"}\n```', True, "contains JSON (1 value(s))"),
    ({"type": "contains-json"}, "Colors [see below] and {braces} but no JSON", False, "no JSON object or array in the answer"),
    ({"type": "contains-json"}, "a list [1, 2] then an object {\"a\": [3]}", True, "contains JSON (2 value(s))"),
    ({"type": "contains-json", "value": SCHEMA}, 'First {"x": 1}, then {"score": 4}.', True, "contains JSON that matches the schema"),
    ({"type": "contains-json", "value": SCHEMA}, 'Only {"score": "high"} here', False, "1 JSON value(s), none matches: does not match the schema at $.score: 'high' is not of type 'integer'"),
    ({"type": "not-contains-json"}, "plain prose", True, "as required, contains-json failed: no JSON object or array in the answer"),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "output", "passed", "reason"), CONTAINS_JSON)
def test_contains_json_finds_json_inside_prose(check, raw, output, passed, reason) -> None:
    grade = check(raw, output)
    assert (grade.passed, grade.reason) == (passed, reason)


def test_contains_json_tries_a_bounded_number_of_starts() -> None:
    from evallock.graders.structured import MAX_JSON_STARTS, json_values_in

    hostile = "[" * 50_000  # every start parses to the end and fails
    assert json_values_in(hostile) == []
    # the JSON after the first MAX_JSON_STARTS starts is not looked for
    late = "{x " * MAX_JSON_STARTS + '{"a": 1}'
    assert json_values_in(late) == []
    assert json_values_in("{x " * (MAX_JSON_STARTS - 1) + '{"a": 1}') == [{"a": 1}]


COST: list[tuple[dict[str, Any], float | None, bool, str]] = [
    ({"type": "cost", "threshold": 0.002}, 0.0015, True, "cost $0.001500, at most $0.002"),
    ({"type": "cost", "threshold": 0.001}, 0.0015, False, "cost $0.001500, expected at most $0.001"),
    ({"type": "cost", "value": 0.01}, 0.0015, True, "cost $0.001500, at most $0.01"),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "cost", "passed", "reason"), COST)
def test_cost_compares_the_answers_cost_with_the_limit(check, raw, cost, passed, reason) -> None:
    grade = check(raw, "x", cost=cost)
    assert (grade.passed, grade.reason, grade.error) == (passed, reason, None)


def test_cost_without_a_cost_is_a_grader_error_that_says_how_to_get_one(check) -> None:
    grade = check({"type": "cost", "threshold": 0.01}, "x", cost=None)
    assert (grade.passed, grade.error_kind) == (False, "grader")
    assert grade.error is not None and "target.price" in grade.error


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"type": "cost"}, "cost needs a limit in USD as its threshold"),
        ({"type": "cost", "threshold": -1}, "cost threshold must be ≥ 0 USD, got -1"),
        ({"type": "cost", "threshold": 1, "value": 1}, "cost: give the limit once"),
    ],
)
def test_cost_refuses_a_missing_or_bad_limit(raw, message) -> None:
    from evallock.graders import parse_assertion

    with pytest.raises(ValueError, match=message):
        parse_assertion(raw)
