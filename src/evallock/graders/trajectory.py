"""Trajectory graders: the tool calls the target answered with (``tool-called``,
``tool-not-called``, ``tool-sequence``, ``max-tool-calls``).

A case offers tools (``tools``: OpenAI's definitions); the target may answer with tool
calls instead of (or beside) text; these checks read them from the completion, in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import orjson

from evallock.graders._base import AssertionSpec, GradeContext, Grader
from evallock.graders._common import fail_grade, pass_grade, require_number
from evallock.graders._jsonschema import compile_schema
from evallock.graders.structured import schema_problem
from evallock.records import Assertion, Grade, ToolCall

__all__ = ["MaxToolCalls", "MaxTurns", "ToolCalled", "ToolSequence", "assertion_types"]

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

SequenceMode = Literal["exact", "in-order", "subset"]


def _names(calls: tuple[ToolCall, ...]) -> list[str]:
    return [call.name for call in calls]


def _arguments(call: ToolCall) -> Any:
    try:
        return orjson.loads(call.arguments) if call.arguments else {}
    except orjson.JSONDecodeError:
        return None


@dataclass(frozen=True, kw_only=True, slots=True)
class ToolCalled:
    """Passes when some call is to ``tool`` (with arguments that include ``arguments`` and
    match ``schema``, if given); ``negate`` (``tool-not-called``) passes when none is."""

    tool: str
    arguments: dict[str, Any] = field(default_factory=dict)
    """Key-value pairs the call's JSON arguments must include (equal values)."""
    schema: Validator | None = None
    """A compiled JSON Schema the call's JSON arguments must match."""
    negate: bool = False
    name: str = "tool-called"

    def _mismatch(self, call: ToolCall) -> str | None:
        """Why ``call`` is not the call wanted (None: it is)."""
        if call.name != self.tool:
            return "another tool"
        if not self.arguments and self.schema is None:
            return None
        given = _arguments(call)
        if not isinstance(given, dict):
            return "its arguments are not a JSON object"
        if any(given.get(key) != value for key, value in self.arguments.items()):
            return "other arguments"
        if self.schema is not None:
            mismatch, error = schema_problem(self.schema, given)
            if mismatch is not None:
                return "its arguments " + mismatch.replace("does not match", "do not match", 1)
            return error
        return None

    async def grade(self, ctx: GradeContext) -> Grade:
        """Look for the call among the completion's tool calls."""
        calls = ctx.completion.tool_calls
        why = [self._mismatch(c) for c in calls]
        found = next((c for c, w in zip(calls, why, strict=True) if w is None), None)
        shown = ", ".join(_names(calls)) or "no tool"
        wanted = self.tool + (
            f" with {orjson.dumps(self.arguments).decode()}" if self.arguments else ""
        )
        if self.schema is not None:
            wanted += " (arguments matching the schema)"
        if self.negate:
            if found is None:
                return pass_grade(self.name, f"{wanted} not called (called: {shown})")
            return fail_grade(self.name, f"{wanted} was called (called: {shown})")
        if found is not None:
            return pass_grade(self.name, f"called {wanted}")
        near = next((w for w in why if w not in (None, "another tool")), None)
        if near is not None:
            return fail_grade(self.name, f"expected a call to {wanted}; it was called, but {near}")
        return fail_grade(self.name, f"expected a call to {wanted}; called: {shown}")


@dataclass(frozen=True, kw_only=True, slots=True)
class ToolSequence:
    """Passes when the calls' tool names follow ``tools``: ``exact`` (the same list),
    ``in-order`` (the list appears in this order, other calls between allowed) or
    ``subset`` (each listed tool called, in any order)."""

    tools: tuple[str, ...]
    mode: SequenceMode = "in-order"
    name: str = "tool-sequence"

    async def grade(self, ctx: GradeContext) -> Grade:
        """Compare the called tools with the expected sequence."""
        called = _names(ctx.completion.tool_calls)
        expected = list(self.tools)
        if self.mode == "exact":
            ok = called == expected
        elif self.mode == "subset":
            ok = all(tool in called for tool in expected)
        else:
            remaining = iter(called)
            ok = all(any(tool == seen for seen in remaining) for tool in expected)
        shown = " → ".join(called) or "no tool"
        wanted = " → ".join(expected)
        if ok:
            return pass_grade(self.name, f"called {shown} ({self.mode} of {wanted})")
        return fail_grade(self.name, f"called {shown}; expected {self.mode} {wanted}")


@dataclass(frozen=True, kw_only=True, slots=True)
class MaxToolCalls:
    """Passes when the target made at most ``limit`` tool calls."""

    limit: int
    name: str = "max-tool-calls"

    async def grade(self, ctx: GradeContext) -> Grade:
        """Count the completion's tool calls."""
        count = len(ctx.completion.tool_calls)
        if count <= self.limit:
            return pass_grade(self.name, f"{count} tool calls, at most {self.limit}")
        return fail_grade(self.name, f"{count} tool calls, expected at most {self.limit}")


@dataclass(frozen=True, kw_only=True, slots=True)
class MaxTurns:
    """Passes when the exchange took at most ``limit`` user turns."""

    limit: int
    name: str = "max-turns"

    async def grade(self, ctx: GradeContext) -> Grade:
        """Count the exchange's user turns."""
        turns = ctx.completion.turns
        if turns <= self.limit:
            return pass_grade(self.name, f"{turns} turns, at most {self.limit}")
        return fail_grade(self.name, f"{turns} turns, expected at most {self.limit}")


def _tool_name(a: Assertion) -> str:
    if not isinstance(a.value, str) or not a.value.strip():
        raise ValueError(f"{a.type} needs the tool's name as its value")
    return a.value.strip()


def _build_called(a: Assertion, *, negate: bool) -> Grader:
    arguments = a.options.get("arguments", {})
    if not isinstance(arguments, dict):
        raise ValueError(f"{a.type} arguments must be an object of the values the call must have")
    schema = a.options.get("schema")
    validator = compile_schema(schema, f"{a.type} schema") if schema is not None else None
    return ToolCalled(
        tool=_tool_name(a), arguments=arguments, schema=validator, negate=negate, name=a.type
    )


def _build_sequence(a: Assertion) -> Grader:
    value = a.value
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{a.type} needs a list of tool names as its value")
    mode = a.options.get("mode", "in-order")
    if mode not in ("exact", "in-order", "subset"):
        raise ValueError(f"{a.type} mode must be exact, in-order or subset, got {mode!r}")
    return ToolSequence(tools=tuple(value), mode=mode, name=a.type)


def _whole(a: Assertion) -> int:
    limit = require_number(a.value, f"{a.type} value")
    if limit < 0 or limit != int(limit):
        raise ValueError(f"{a.type} value must be a whole number ≥ 0, got {a.value}")
    return int(limit)


def assertion_types() -> list[AssertionSpec]:
    """The trajectory assertion types, registered by :mod:`evallock.graders.registry`."""
    return [
        AssertionSpec(
            name="tool-called",
            build=lambda a: _build_called(a, negate=False),
            summary="the target called the tool named in `value` (with `arguments` included,"
            " and arguments matching the JSON Schema `schema`)",
            options=frozenset({"arguments", "schema"}),
        ),
        AssertionSpec(
            name="tool-not-called",
            build=lambda a: _build_called(a, negate=True),
            summary="the target did not call the tool named in `value`",
            options=frozenset({"arguments", "schema"}),
        ),
        AssertionSpec(
            name="tool-sequence",
            build=_build_sequence,
            summary="the called tools follow `value` (`mode`: exact, in-order, subset)",
            options=frozenset({"mode"}),
        ),
        AssertionSpec(
            name="max-tool-calls",
            build=lambda a: MaxToolCalls(limit=_whole(a), name=a.type),
            summary="the target made at most `value` tool calls",
        ),
        AssertionSpec(
            name="max-turns",
            build=lambda a: MaxTurns(limit=_whole(a), name=a.type),
            summary="the exchange took at most `value` user turns",
        ),
    ]
