"""The case schema at the file edge: one raw mapping in, one :class:`Case` out.

pydantic stays here, at the edge; the rest of evallock sees frozen records.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from evallock.graders import MATCHES_EXPECTED, parse_assertion
from evallock.records import Assertion, Case, CaseHead, CaseJudge, CaseSource, SimulatedUser

__all__ = ["case_from_raw", "case_head_from_raw"]

Scalar = str | int | float | bool


class _Message(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[Any] | None = None


class _Judge(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rubric: str | None = Field(default=None, min_length=1)
    pass_score: int = Field(default=4, ge=1, le=5)
    weight: float = Field(default=1.0, ge=0, le=1e6)


class _User(BaseModel):
    model_config = ConfigDict(extra="forbid")
    goal: str = Field(min_length=1, max_length=16_384)
    max_turns: int = Field(default=4, ge=1, le=65)
    persona: str | None = Field(default=None, max_length=16_384)


_HANDLER = r"^[A-Za-z0-9_./\\-]{1,240}:[A-Za-z_][A-Za-z0-9_]{0,63}$"


class _Source(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str = "manual"
    trace_id: str | None = None
    session_id: str | None = Field(default=None, max_length=256)
    lock: bool = False
    note: str | None = None


class _RawCase(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    id: str = Field(min_length=1, max_length=200)
    input: str | list[_Message]
    vars: dict[str, Any] = Field(default_factory=dict)
    expected: Any = None
    asserts: list[dict[str, Any]] = Field(default_factory=list, alias="assert")
    judge: _Judge | None = None
    grader: Literal["rules", "judge"] | None = None
    keys: dict[str, Scalar | None] = Field(default_factory=dict)
    source: _Source | None = None
    description: str | None = None
    threshold: float | None = Field(default=None, ge=0, le=1)
    tools: list[dict[str, Any]] = Field(default_factory=list, max_length=128)
    tool_results: dict[str, Any] = Field(default_factory=dict)
    turns: list[str] = Field(default_factory=list, max_length=64)
    user: _User | None = None
    tool_handler: str | None = Field(default=None, max_length=320)

    @field_validator("tool_handler")
    @classmethod
    def _handler_named(cls, value: str | None) -> str | None:
        if value is not None and not re.match(_HANDLER, value):
            raise ValueError("expected module:function or path/to/tools.py:function")
        return value

    @model_validator(mode="after")
    def _one_kind_of_follow_up(self) -> _RawCase:
        if self.turns and self.user is not None:
            raise ValueError("give the follow-ups as 'turns' or a simulated 'user', not both")
        return self

    @field_validator("tools")
    @classmethod
    def _tools_are_named(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for index, tool in enumerate(value):
            inner = tool.get("function")
            function: dict[str, Any] = inner if isinstance(inner, dict) else tool
            if not isinstance(function.get("name"), str) or not function["name"]:
                raise ValueError(f"tools[{index}]: a tool needs a name (function.name)")
        return value

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("input")
    @classmethod
    def _input_not_empty(cls, value: str | list[_Message]) -> str | list[_Message]:
        if not value:
            raise ValueError("must not be empty")
        return value


def _format_validation(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "case"
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown field"
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


def case_from_raw(raw: Any, *, line: int) -> Case:
    """Validate one raw case mapping and build the :class:`Case`.

    Raises:
        ValueError: with a one-line reason (the loader prefixes ``file:line:``).
    """
    if not isinstance(raw, dict):
        raise ValueError(f"a case must be an object, got {type(raw).__name__}")
    try:
        model = _RawCase.model_validate(raw)
    except ValidationError as exc:
        raise ValueError(_format_validation(exc)) from None
    expected = _expected_text(model.expected)
    asserts: list[Assertion] = []
    for index, item in enumerate(model.asserts):
        try:
            asserts.append(parse_assertion(item))
        except ValueError as exc:
            raise ValueError(f"assert[{index}]: {exc}") from None
    judge = _judge_spec(model, expected)
    if model.grader == "rules":
        if expected is None:
            raise ValueError("grader 'rules' needs 'expected'")
        asserts.append(_matches_expected(expected))
    if not asserts and judge is None:
        if expected is None:
            raise ValueError("nothing to grade with: give 'assert', 'judge', or 'expected'")
        asserts.append(_matches_expected(expected))
    return Case(
        id=model.id,
        input=model.input
        if isinstance(model.input, str)
        else [m.model_dump(exclude_none=True) for m in model.input],
        vars=model.vars,
        expected=expected,
        asserts=tuple(asserts),
        judge=judge,
        keys=_keys(model.keys),
        source=_source(model.source),
        threshold=model.threshold,
        tools=tuple(model.tools),
        tool_results={
            name: value if isinstance(value, str) else _json_text(value)
            for name, value in model.tool_results.items()
        },
        turns=tuple(model.turns),
        user=SimulatedUser(**model.user.model_dump()) if model.user is not None else None,
        tool_handler=model.tool_handler,
        line=line,
    )


def case_head_from_raw(raw: dict[str, Any], *, line: int) -> CaseHead:
    """The id, keys and provenance of a case that :func:`case_from_raw` already accepted.

    Builds the same values without validating the rest: reading a file again
    for results costs a few microseconds a case instead of a full validation.
    """
    case_id = raw["id"]
    source = raw.get("source")
    return CaseHead(
        id=str(case_id),
        keys=_keys(raw.get("keys") or {}),
        source=_source(_Source.model_validate(source)) if source is not None else None,
        line=line,
    )


def _keys(raw: dict[str, Any]) -> dict[str, str]:
    return {str(k): _text(v) for k, v in raw.items() if v is not None and v != ""}


def _source(model: _Source | None) -> CaseSource | None:
    return None if model is None else CaseSource(**model.model_dump())


def _matches_expected(expected: str) -> Assertion:
    try:
        return parse_assertion({"type": MATCHES_EXPECTED, "value": expected})
    except ValueError as exc:
        raise ValueError(f"expected: {exc}") from None


def _text(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _json_text(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _expected_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    import json

    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _judge_spec(model: _RawCase, expected: str | None) -> CaseJudge | None:
    # An empty rubric means "the run's --rubric, else the reference rubric" (graders.judge).
    if model.judge is not None:
        if model.judge.rubric is None and expected is None:
            raise ValueError("judge: give a 'rubric', or an 'expected' answer to grade against")
        return CaseJudge(
            rubric=model.judge.rubric or "",
            pass_score=model.judge.pass_score,
            weight=model.judge.weight,
        )
    if model.grader == "judge":
        if expected is None:
            raise ValueError("grader 'judge' needs 'expected' (the reference answer)")
        return CaseJudge(rubric="")
    return None
