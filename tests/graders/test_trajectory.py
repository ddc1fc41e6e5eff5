"""Trajectory checks: the tool calls a target answered with."""

from __future__ import annotations

from typing import Any

import pytest

from evallock.graders import parse_assertion
from evallock.records import ToolCall

CALLS = (
    ToolCall(name="lookup_order", arguments='{"order": "R1041", "verbose": true}', id="c1"),
    ToolCall(name="refund", arguments='{"order": "R1041"}', id="c2"),
    ToolCall(name="notify", arguments="not json", id="c3"),
)

CASES: list[tuple[dict[str, Any], bool, str]] = [
    ({"type": "tool-called", "value": "refund"}, True, "called refund"),
    ({"type": "tool-called", "value": "cancel"}, False, "expected a call to cancel; called: lookup_order, refund, notify"),
    ({"type": "tool-called", "value": "lookup_order", "arguments": {"order": "R1041"}}, True, 'called lookup_order with {"order":"R1041"}'),
    ({"type": "tool-called", "value": "lookup_order", "arguments": {"order": "R9"}}, False, 'expected a call to lookup_order with {"order":"R9"}; it was called, but other arguments'),
    ({"type": "tool-called", "value": "notify", "arguments": {"x": 1}}, False, 'expected a call to notify with {"x":1}; it was called, but its arguments are not a JSON object'),
    ({"type": "tool-called", "value": "refund", "schema": {"type": "object", "required": ["order"], "properties": {"order": {"pattern": "^R[0-9]+$"}}}}, True, "called refund (arguments matching the schema)"),
    ({"type": "tool-called", "value": "lookup_order", "schema": {"type": "object", "additionalProperties": False, "properties": {"order": {}}}}, False, "expected a call to lookup_order (arguments matching the schema); it was called, but its arguments do not match the schema at $: Additional properties are not allowed ('verbose' was unexpected)"),
    ({"type": "tool-not-called", "value": "refund", "schema": {"required": ["amount"]}}, True, "refund (arguments matching the schema) not called (called: lookup_order, refund, notify)"),
    ({"type": "tool-not-called", "value": "cancel"}, True, "cancel not called (called: lookup_order, refund, notify)"),
    ({"type": "tool-not-called", "value": "refund"}, False, "refund was called (called: lookup_order, refund, notify)"),
    ({"type": "tool-sequence", "value": ["lookup_order", "notify"]}, True, "called lookup_order → refund → notify (in-order of lookup_order → notify)"),
    ({"type": "tool-sequence", "value": ["notify", "lookup_order"]}, False, "called lookup_order → refund → notify; expected in-order notify → lookup_order"),
    ({"type": "tool-sequence", "value": ["notify", "lookup_order"], "mode": "subset"}, True, "called lookup_order → refund → notify (subset of notify → lookup_order)"),
    ({"type": "tool-sequence", "value": ["lookup_order", "refund"], "mode": "exact"}, False, "called lookup_order → refund → notify; expected exact lookup_order → refund"),
    ({"type": "max-tool-calls", "value": 3}, True, "3 tool calls, at most 3"),
    ({"type": "max-tool-calls", "value": 2}, False, "3 tool calls, expected at most 2"),
    ({"type": "not-tool-called", "value": "refund"}, False, "expected the opposite of: called refund"),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "passed", "reason"), CASES)
def test_trajectory_checks_read_the_tool_calls(check, raw, passed, reason) -> None:
    grade = check(raw, "", tool_calls=CALLS)
    assert (grade.passed, grade.reason) == (passed, reason)


def test_no_tool_calls_is_an_empty_trajectory(check) -> None:
    assert not check({"type": "tool-called", "value": "refund"}, "Refunds take 5 days.").passed
    assert check({"type": "max-tool-calls", "value": 0}, "Refunds take 5 days.").passed


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"type": "tool-called"}, "tool-called needs the tool's name as its value"),
        ({"type": "tool-called", "value": "x", "arguments": [1]}, "tool-called arguments must be an object"),
        ({"type": "tool-sequence", "value": "x"}, "tool-sequence needs a list of tool names"),
        ({"type": "tool-sequence", "value": ["x"], "mode": "any"}, "tool-sequence mode must be exact, in-order or subset"),
        ({"type": "max-tool-calls", "value": 1.5}, "max-tool-calls value must be a whole number"),
        ({"type": "tool-called", "value": "x", "schema": {"type": 7}}, "tool-called schema: not a valid JSON schema"),
    ],
)  # fmt: skip
def test_bad_trajectory_checks_are_refused_at_load(raw, message) -> None:
    with pytest.raises(ValueError, match=message):
        parse_assertion(raw)
