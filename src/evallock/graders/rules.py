"""Rule graders: cheap text checks on the answer (contains, regex, starts-with …).

Each grader is a frozen dataclass whose fields are its settings, built once per
case by the registry; anything costly (compiling a pattern, normalising the
expected text) happens at build time, so ``grade`` does only the check.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

import orjson

from evallock.graders._base import AssertionSpec, GradeContext, Grader
from evallock.graders._common import (
    error_grade,
    fail_grade,
    pass_grade,
    quote,
    require_number,
    require_text,
    require_texts,
)
from evallock.graders._regex import BoundedPattern, PatternTimeout, compile_pattern
from evallock.records import Assertion, Grade

__all__ = [
    "MATCHES_EXPECTED",
    "Contains",
    "ContainsSet",
    "Equals",
    "MatchesExpected",
    "MaxLength",
    "Regex",
    "StartsWith",
    "assertion_types",
    "normalize_text",
]

MATCHES_EXPECTED = "matches-expected"
"""The assertion type the case loader emits for the short form ``grader: rules``."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Equals:
    """Passes when the answer is exactly ``value``; a JSON ``value`` is compared as JSON."""

    value: Any
    """Text, or an object/list that the answer must parse to."""
    name: str = "equals"

    async def grade(self, ctx: GradeContext) -> Grade:
        """Compare the answer with ``value``."""
        if isinstance(self.value, str):
            if ctx.output == self.value:
                return pass_grade(self.name, f"equals {quote(self.value)}")
            return fail_grade(self.name, f"expected {quote(self.value)}, got {quote(ctx.output)}")
        try:
            parsed = orjson.loads(ctx.output)
        except orjson.JSONDecodeError:
            return fail_grade(
                self.name, "expected JSON equal to the value, got text that is not JSON"
            )
        if parsed == self.value:
            return pass_grade(self.name, "equals the expected JSON")
        return fail_grade(self.name, f"expected JSON equal to the value, got {quote(ctx.output)}")


@dataclass(frozen=True, kw_only=True, slots=True)
class Contains:
    """Passes when the answer contains ``value`` (or, negated, does not)."""

    value: str
    """The text to look for."""
    ignore_case: bool = False
    """Compare case-folded text."""
    negate: bool = False
    """Pass when the text is absent."""
    name: str = "contains"

    async def grade(self, ctx: GradeContext) -> Grade:
        """Look for ``value`` in the answer."""
        if self.ignore_case:
            found = self.value.casefold() in ctx.output.casefold()
        else:
            found = self.value in ctx.output
        shown = quote(self.value)
        if found != self.negate:
            return pass_grade(
                self.name, f"{'does not contain' if self.negate else 'contains'} {shown}"
            )
        return fail_grade(self.name, f"expected {'not ' if self.negate else ''}to contain {shown}")


@dataclass(frozen=True, kw_only=True, slots=True)
class ContainsSet:
    """Passes when the answer contains any (or all) of ``values``."""

    values: tuple[str, ...]
    """The texts to look for."""
    require_all: bool = False
    """All must be present (``contains-all``) rather than any (``contains-any``)."""
    ignore_case: bool = False
    """Compare case-folded text."""
    name: str = "contains-any"

    async def grade(self, ctx: GradeContext) -> Grade:
        """Look for each of ``values`` in the answer."""
        output = ctx.output.casefold() if self.ignore_case else ctx.output
        present = [v for v in self.values if (v.casefold() if self.ignore_case else v) in output]
        listed = ", ".join(quote(v) for v in self.values)
        if self.require_all:
            missing = [v for v in self.values if v not in present]
            if not missing:
                return pass_grade(self.name, f"contains all of {listed}")
            gaps = ", ".join(quote(v) for v in missing)
            return fail_grade(self.name, f"missing {gaps} (expected all of {listed})")
        if present:
            return pass_grade(self.name, f"contains {quote(present[0])}")
        return fail_grade(self.name, f"expected to contain any of {listed}")


@dataclass(frozen=True, kw_only=True, slots=True)
class Regex:
    """Passes when ``pattern`` matches somewhere in the answer (or, negated, nowhere).

    A search that backtracks past the pattern's timeout (1 s) is a grader error
    on the case, never a stalled run.
    """

    pattern: BoundedPattern
    """The compiled pattern (``re.search`` semantics, like promptfoo's ``test``)."""
    negate: bool = False
    """Pass when the pattern does not match."""
    name: str = "regex"

    async def grade(self, ctx: GradeContext) -> Grade:
        """Search the answer for the pattern."""
        try:
            match = self.pattern.search(ctx.output)
        except PatternTimeout as exc:
            return error_grade(self.name, str(exc))
        shown = f"/{self.pattern.source}/"
        if match is None:
            if self.negate:
                return pass_grade(self.name, f"did not match {shown}")
            return fail_grade(self.name, f"expected to match {shown}")
        if self.negate:
            return fail_grade(self.name, f"expected not to match {shown}, matched {quote(match)}")
        return pass_grade(self.name, f"matched {shown}")


@dataclass(frozen=True, kw_only=True, slots=True)
class StartsWith:
    """Passes when the answer starts with ``value`` exactly."""

    value: str
    """The expected beginning."""
    name: str = "starts-with"

    async def grade(self, ctx: GradeContext) -> Grade:
        """Check the beginning of the answer."""
        if ctx.output.startswith(self.value):
            return pass_grade(self.name, f"starts with {quote(self.value)}")
        cut = len(self.value) + 20
        start = ctx.output[:cut] + ("…" if len(ctx.output) > cut else "")
        return fail_grade(
            self.name, f"expected to start with {quote(self.value)}, got {quote(start)}"
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class MaxLength:
    """Passes when the answer has at most ``limit`` characters."""

    limit: int
    """The most characters allowed."""
    name: str = "max-length"

    async def grade(self, ctx: GradeContext) -> Grade:
        """Count the answer's characters."""
        n = len(ctx.output)
        if n <= self.limit:
            return pass_grade(self.name, f"{n} characters, at most {self.limit}")
        return fail_grade(self.name, f"{n} characters, expected at most {self.limit}")


def normalize_text(text: str) -> str:
    """Case-fold, collapse whitespace and strip trailing punctuation (for ``grader: rules``)."""
    folded = " ".join(text.casefold().split())
    end = len(folded)
    while end and (folded[end - 1].isspace() or unicodedata.category(folded[end - 1])[0] == "P"):
        end -= 1
    return folded[:end]


@dataclass(frozen=True, kw_only=True, slots=True)
class MatchesExpected:
    """The short form ``grader: rules``: the answer must contain the expected text.

    Both texts are normalised by :func:`normalize_text` — case-folded, whitespace
    collapsed, trailing punctuation stripped — and the check passes when the
    normalised expected text is contained in the normalised answer. So
    ``"Yes; refunded within 5 business days."`` passes an answer that says
    ``"yes; refunded within 5 business  days, as usual"``.
    """

    expected: str
    """The expected text, already normalised."""
    name: str = MATCHES_EXPECTED

    async def grade(self, ctx: GradeContext) -> Grade:
        """Look for the normalised expected text in the normalised answer."""
        if self.expected in normalize_text(ctx.output):
            return pass_grade(self.name, f"contains the expected text {quote(self.expected)}")
        return fail_grade(
            self.name, f"expected to contain {quote(self.expected)} (ignoring case and spacing)"
        )


def _build_equals(a: Assertion) -> Grader:
    if isinstance(a.value, dict | list):
        return Equals(value=a.value)
    return Equals(value=require_text(a))


def _build_regex(a: Assertion) -> Grader:
    pattern = compile_pattern(require_text(a), a.type)
    return Regex(pattern=pattern, negate=a.type == "not-regex", name=a.type)


def _build_max_length(a: Assertion) -> Grader:
    limit = require_number(a.value, f"{a.type} value")
    if limit < 0 or limit != int(limit):
        raise ValueError(f"{a.type} value must be a whole number of characters ≥ 0, got {a.value}")
    return MaxLength(limit=int(limit))


def _build_matches_expected(a: Assertion) -> Grader:
    expected = normalize_text(require_text(a))
    if not expected:
        raise ValueError(f"{a.type}: the expected text is empty once normalised")
    return MatchesExpected(expected=expected)


def _contains(*, ignore_case: bool, negate: bool, name: str) -> AssertionSpec:
    def build(a: Assertion) -> Grader:
        return Contains(value=require_text(a), ignore_case=ignore_case, negate=negate, name=name)

    what = "contains" if not negate else "does not contain"
    case = ", ignoring case" if ignore_case else ""
    return AssertionSpec(name=name, build=build, summary=f"the answer {what} the value{case}")


def _contains_set(*, require_all: bool, ignore_case: bool, name: str) -> AssertionSpec:
    def build(a: Assertion) -> Grader:
        return ContainsSet(
            values=require_texts(a), require_all=require_all, ignore_case=ignore_case, name=name
        )

    which = "all" if require_all else "any"
    case = ", ignoring case" if ignore_case else ""
    return AssertionSpec(
        name=name, build=build, summary=f"the answer contains {which} of the listed texts{case}"
    )


def assertion_types() -> list[AssertionSpec]:
    """The rule assertion types, registered by :mod:`evallock.graders.registry`."""
    return [
        AssertionSpec(
            name="equals", build=_build_equals, summary="the answer is exactly the value"
        ),
        _contains(ignore_case=False, negate=False, name="contains"),
        _contains(ignore_case=True, negate=False, name="icontains"),
        _contains(ignore_case=False, negate=True, name="not-contains"),
        _contains(ignore_case=True, negate=True, name="not-icontains"),
        _contains_set(require_all=False, ignore_case=False, name="contains-any"),
        _contains_set(require_all=True, ignore_case=False, name="contains-all"),
        _contains_set(require_all=False, ignore_case=True, name="icontains-any"),
        _contains_set(require_all=True, ignore_case=True, name="icontains-all"),
        AssertionSpec(name="regex", build=_build_regex, summary="the pattern matches the answer"),
        AssertionSpec(
            name="not-regex",
            build=_build_regex,
            summary="the pattern matches nowhere in the answer",
        ),
        AssertionSpec(
            name="starts-with",
            build=lambda a: StartsWith(value=require_text(a)),
            summary="the answer starts with the value",
        ),
        AssertionSpec(
            name="max-length",
            build=_build_max_length,
            summary="the answer has at most `value` characters",
        ),
        AssertionSpec(
            name=MATCHES_EXPECTED,
            build=_build_matches_expected,
            summary="the answer contains the expected text, normalised",
        ),
    ]
