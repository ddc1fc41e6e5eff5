"""Rule graders: every text check passes and fails with a readable reason."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evallock.graders import MATCHES_EXPECTED, normalize_text
from evallock.graders.rules import MatchesExpected

ANSWER = "Yes; duplicate charges are refunded within 5 Business Days."

CASES: list[tuple[dict[str, Any], str, bool, str]] = [
    ({"type": "equals", "value": "42"}, "42", True, 'equals "42"'),
    ({"type": "equals", "value": "42"}, "42\n", False, 'expected "42", got "42\\n"'),
    ({"type": "equals", "value": 42}, "42", True, 'equals "42"'),
    ({"type": "equals", "value": {"a": [1, 2]}}, '{"a": [1,2]}', True, "equals the expected JSON"),
    ({"type": "equals", "value": {"a": 1}}, '{"a": 2}', False, 'expected JSON equal to the value, got "{\\"a\\": 2}"'),
    ({"type": "equals", "value": {"a": 1}}, "a=1", False, "expected JSON equal to the value, got text that is not JSON"),
    ({"type": "contains", "value": "5 Business Days"}, ANSWER, True, 'contains "5 Business Days"'),
    ({"type": "contains", "value": "5 business days"}, ANSWER, False, 'expected to contain "5 business days"'),
    ({"type": "icontains", "value": "5 BUSINESS days"}, ANSWER, True, 'contains "5 BUSINESS days"'),
    ({"type": "icontains", "value": "30 days"}, ANSWER, False, 'expected to contain "30 days"'),
    ({"type": "not-contains", "value": "30 days"}, ANSWER, True, 'does not contain "30 days"'),
    ({"type": "not-contains", "value": "refunded"}, ANSWER, False, 'expected not to contain "refunded"'),
    ({"type": "not-icontains", "value": "30 DAYS"}, ANSWER, True, 'does not contain "30 DAYS"'),
    ({"type": "not-icontains", "value": "YES"}, ANSWER, False, 'expected not to contain "YES"'),
    ({"type": "contains-any", "value": ["weeks", "Days"]}, ANSWER, True, 'contains "Days"'),
    ({"type": "contains-any", "value": ["weeks", "days"]}, ANSWER, False, 'expected to contain any of "weeks", "days"'),
    ({"type": "contains-all", "value": ["Yes", "refunded"]}, ANSWER, True, 'contains all of "Yes", "refunded"'),
    ({"type": "contains-all", "value": "Yes, 30 days"}, ANSWER, False, 'missing "30 days" (expected all of "Yes", "30 days")'),
    ({"type": "icontains-any", "value": ["WEEKS", "DAYS"]}, ANSWER, True, 'contains "DAYS"'),
    ({"type": "icontains-any", "value": ["weeks", "months"]}, ANSWER, False, 'expected to contain any of "weeks", "months"'),
    ({"type": "icontains-all", "value": ["YES", "days"]}, ANSWER, True, 'contains all of "YES", "days"'),
    ({"type": "icontains-all", "value": ["yes", "weeks", "months"]}, ANSWER, False, 'missing "weeks", "months" (expected all of "yes", "weeks", "months")'),
    ({"type": "regex", "value": r"\d+ \w+ days"}, ANSWER, False, r'expected to match /\d+ \w+ days/'),
    ({"type": "regex", "value": r"(?i)\d+ \w+ days"}, ANSWER, True, r"matched /(?i)\d+ \w+ days/"),
    ({"type": "not-regex", "value": r"\b30 days\b"}, ANSWER, True, r"did not match /\b30 days\b/"),
    ({"type": "not-regex", "value": r"\d+ Business"}, ANSWER, False, r'expected not to match /\d+ Business/, matched "5 Business"'),
    ({"type": "starts-with", "value": "Yes;"}, ANSWER, True, 'starts with "Yes;"'),
    ({"type": "starts-with", "value": "No"}, ANSWER, False, 'expected to start with "No", got "Yes; duplicate charges…"'),
    ({"type": "max-length", "value": 60}, ANSWER, True, "59 characters, at most 60"),
    ({"type": "max-length", "value": "20"}, ANSWER, False, "59 characters, expected at most 20"),
    ({"type": MATCHES_EXPECTED, "value": "duplicate charges are REFUNDED within 5 business days!"}, ANSWER, True,
     'contains the expected text "duplicate charges are refunded within 5 business days"'),
    ({"type": MATCHES_EXPECTED, "value": "refunded within 30 days."}, ANSWER, False,
     'expected to contain "refunded within 30 days" (ignoring case and spacing)'),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "output", "passed", "reason"), CASES)
def test_rule_passes_or_fails_with_reason(check, raw, output, passed, reason) -> None:
    grade = check(raw, output)
    assert (grade.passed, grade.reason) == (passed, reason)
    assert grade.score == (1.0 if passed else 0.0)
    assert grade.name == raw["type"]
    assert grade.error is None


def test_every_rule_type_has_a_pass_and_a_fail() -> None:
    seen = {(raw["type"], passed) for raw, _, passed, _ in CASES}
    for type_name in {t for t, _ in seen}:
        assert {(type_name, True), (type_name, False)} <= seen


@pytest.mark.parametrize(
    ("raw", "output", "passed", "reason"),
    [
        ({"type": "not-equals", "value": "no"}, "yes", True, 'as required, equals failed: expected "no", got "yes"'),
        ({"type": "not-equals", "value": "yes"}, "yes", False, 'expected the opposite of: equals "yes"'),
        ({"type": "not-starts-with", "value": "Sorry"}, "Sure", True, 'as required, starts-with failed: expected to start with "Sorry", got "Sure"'),
        ({"type": "not-max-length", "value": 3}, "abcd", True, "as required, max-length failed: 4 characters, expected at most 3"),
    ],
)  # fmt: skip
def test_any_type_can_be_negated_with_not_prefix(check, raw, output, passed, reason) -> None:
    grade = check(raw, output)
    assert (grade.name, grade.passed, grade.reason) == (raw["type"], passed, reason)


def test_long_values_are_cut_in_reasons(check) -> None:
    grade = check({"type": "contains", "value": "x" * 200}, "y")
    assert len(grade.reason) < 120
    assert grade.reason.endswith('…"')


def test_contains_any_accepts_a_comma_separated_string(check) -> None:
    assert check({"type": "contains-any", "value": "cat, dog"}, "a dog").passed


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("  Yes;  refunded\n within 5   DAYS.  ", "yes; refunded within 5 days"),
        ("Done!?…", "done"),
        ("Straße", "strasse"),
        ("...", ""),
        ("", ""),
    ],
)
def test_normalize_text(text, normal) -> None:
    assert normalize_text(text) == normal


@given(st.text(), st.text(), st.text())
def test_matches_expected_finds_expected_inside_any_answer(grade, before, expected, after) -> None:
    normal = normalize_text(expected)
    if not normal:
        return
    answer = f"{before} {expected.upper()} {after}"
    # upper() can change length of some characters; only plain-cased text is asserted.
    if normalize_text(expected.upper()) != normal:
        return
    assert grade(MatchesExpected(expected=normal), answer).passed


# A pattern that backtracks exponentially on this answer: with the stdlib `re` one
# search of it runs for hours; with the bounded search it gives up after 1 s.
REDOS = {"type": "regex", "value": "(a|aa)+$"}
REDOS_ANSWER = "a" * 60 + "b"


@pytest.mark.parametrize("kind", ["regex", "not-regex"])
def test_a_regex_that_backtracks_is_a_grader_error_not_a_stall(check, kind) -> None:
    import time

    started = time.monotonic()
    grade = check({**REDOS, "type": kind}, REDOS_ANSWER)
    assert time.monotonic() - started < 10
    assert (grade.passed, grade.error_kind) == (False, "grader")
    assert grade.error is not None and "gave up after 1 s" in grade.error
    assert "(a|aa)+$" in grade.error


def test_a_pattern_past_1000_characters_is_refused_at_load() -> None:
    from evallock.graders import parse_assertion

    parse_assertion({"type": "regex", "value": "a" * 1000})
    with pytest.raises(ValueError, match="regex: the pattern has 1,001 characters; at most 1,000"):
        parse_assertion({"type": "regex", "value": "a" * 1001})
