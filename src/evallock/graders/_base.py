"""The Grader protocol and what a grader is given: the case, the answer, a judge.

Also :class:`AssertionSpec`, the registry entry that turns an ``assert`` item
into a grader; built-in types and plugins register the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from evallock.records import Assertion, Case, Completion, Grade, Message

__all__ = ["AssertionSpec", "GradeContext", "Grader", "JudgeClient", "VerdictCache"]


class JudgeClient(Protocol):
    """The judge model, with retries applied by the runner.

    ``ask`` raises :class:`evallock.errors.JudgeError` when the judge stays
    unreachable after retries; a reply that cannot be parsed is the grader's
    business (a judge error *on the case*, counted and shown).
    """

    @property
    def model(self) -> str:
        """The judge model's name; part of ``judge_version``."""
        ...

    async def ask(self, messages: list[Message]) -> str:
        """Send the judge prompt, return the reply text."""
        ...


class VerdictCache(Protocol):
    """Judge verdicts cached by ``judge_version`` + input + output (+ reference)."""

    def get(self, key: str) -> dict[str, Any] | None:
        """The cached verdict (``{"score": int, "reason": str}``) or None."""
        ...

    def put(self, key: str, verdict: dict[str, Any]) -> None:
        """Remember a verdict that parsed; unparseable replies are never cached."""
        ...


@dataclass(frozen=True, kw_only=True, slots=True)
class GradeContext:
    """Everything a grader may look at for one answer."""

    case: Case
    """The case being graded."""
    output: str
    """The target's answer."""
    completion: Completion
    """The full completion (latency, tokens …)."""
    judge: JudgeClient | None = None
    """The judge, when the run has one configured."""
    cache: VerdictCache | None = None
    """Where judge verdicts are cached."""


class Grader(Protocol):
    """Grades one answer; a grader's own failure is a :class:`Grade` with ``error`` set."""

    # A read-only property so that frozen dataclasses satisfy the protocol.
    @property
    def name(self) -> str:
        """The grader's name, e.g. ``icontains`` or ``judge``; it names its grades."""
        ...

    async def grade(self, ctx: GradeContext) -> Grade:
        """Return the verdict on ``ctx.output``."""
        ...


@dataclass(frozen=True, kw_only=True, slots=True)
class AssertionSpec:
    """One assertion type: how to build (and so validate) its grader from an ``Assertion``."""

    name: str
    """The type name as written in case files, e.g. ``icontains``."""
    build: Callable[[Assertion], Grader]
    """Builds the grader; raises ``ValueError`` with a one-line reason for a bad value."""
    summary: str
    """One line for help and docs: what passes."""
    takes_threshold: bool = False
    """Whether ``threshold`` means something to this type (otherwise it is rejected)."""
    options: frozenset[str] = frozenset()
    """Further keys this type accepts beside ``type``, ``value`` and ``threshold``."""
