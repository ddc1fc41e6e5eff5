"""Fixtures for grader tests: a context builder, a sync grade runner, test doubles."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest

from evallock.graders import (
    GradeContext,
    Grader,
    JudgeClient,
    VerdictCache,
    build_grader,
    parse_assertion,
)
from evallock.records import Case, Completion, Grade, Message, ToolCall


@dataclass
class RecordingJudge:
    """A protocol-level JudgeClient double: canned replies, records every call."""

    replies: list[str]
    model: str = "judge-model"
    calls: list[list[Message]] = field(default_factory=list)

    async def ask(self, messages: list[Message]) -> str:
        self.calls.append(messages)
        return self.replies[min(len(self.calls), len(self.replies)) - 1]


@dataclass
class DictCache:
    """A VerdictCache over a dict, counting puts."""

    data: dict[str, dict[str, Any]] = field(default_factory=dict)
    puts: int = 0

    def get(self, key: str) -> dict[str, Any] | None:
        return self.data.get(key)

    def put(self, key: str, verdict: dict[str, Any]) -> None:
        self.puts += 1
        self.data[key] = verdict


GradeFn = Callable[..., Grade]


def grade_now(
    grader: Grader,
    output: str = "",
    *,
    case: Case | None = None,
    latency_ms: float = 100.0,
    cost: float | None = None,
    tool_calls: tuple[ToolCall, ...] = (),
    transcript: tuple[Message, ...] = (),
    judge: JudgeClient | None = None,
    cache: VerdictCache | None = None,
) -> Grade:
    """Grade ``output`` synchronously."""
    ctx = GradeContext(
        case=case or Case(id="c1", input="What is the refund window?"),
        output=output,
        completion=Completion(
            text=output,
            latency_ms=latency_ms,
            cost=cost,
            tool_calls=tool_calls,
            transcript=transcript,
        ),
        judge=judge,
        cache=cache,
    )
    return anyio.run(grader.grade, ctx)


@pytest.fixture(scope="session")
def grade() -> GradeFn:
    """``grade(grader, output, **ctx)`` → Grade, run on an event loop."""
    return grade_now


@pytest.fixture(scope="session")
def check() -> GradeFn:
    """``check(raw_assertion, output, **ctx)``: parse, build and grade in one go."""

    def run(raw: Mapping[str, Any], output: str = "", **kwargs: Any) -> Grade:
        return grade_now(build_grader(parse_assertion(raw)), output, **kwargs)

    return run


@pytest.fixture(scope="session")
def make_judge() -> Callable[..., RecordingJudge]:
    """``make_judge(*replies, model=...)`` → a RecordingJudge."""

    def make(*replies: str, model: str = "judge-model") -> RecordingJudge:
        return RecordingJudge(replies=list(replies), model=model)

    return make


@pytest.fixture
def cache() -> DictCache:
    """An empty verdict cache."""
    return DictCache()
