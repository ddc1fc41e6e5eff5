"""Structured graders: JSON answers, JSON Schema, numbers in the answer, latency.

Schemas are checked and compiled into validators when the assertion is built
(at load time), so a bad schema is a ``file:line:`` error, not a run-time one;
:mod:`evallock.graders._jsonschema` keeps checking an answer bounded in time
(no remote ``$ref``, pattern searches with a timeout).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson

from evallock.graders._base import AssertionSpec, GradeContext, Grader
from evallock.graders._common import error_grade, fail_grade, pass_grade, require_number
from evallock.graders._jsonschema import compile_schema, pattern_budget
from evallock.graders._regex import PatternTimeout
from evallock.records import Assertion, Grade

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

__all__ = ["JsonCheck", "LatencyMs", "Numeric", "assertion_types", "compile_schema", "first_number"]

# A number as people write it: optional sign, thousands separators, decimals,
# exponent. Not preceded by a letter/digit/dot, so "R1041" or "v2" are not numbers.
_NUMBER = re.compile(
    r"(?<![\w.])[-+\u2212]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?"
    r"|(?<![\w.])[-+\u2212]?\.\d+(?:[eE][-+]?\d+)?"
)


def first_number(text: str) -> float | None:
    """The first number written in ``text`` (``"$1,234.50"`` → 1234.5), or None."""
    match = _NUMBER.search(text)
    if match is None:
        return None
    return float(match[0].replace(",", "").replace("\u2212", "-"))


def _one_line(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 300 else text[:299] + "…"


def _unresolvable(exc: Exception) -> str:
    ref = str(getattr(exc, "ref", ""))
    if ref.startswith(("#", "/")) or not ref:
        return _one_line(exc)
    return (
        f"$ref {ref!r} is not in the schema; only references inside the schema are"
        " followed, nothing is fetched"
    )


def _fmt(x: float) -> str:
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)


@dataclass(frozen=True, kw_only=True, slots=True)
class JsonCheck:
    """Passes when the whole answer is JSON, valid against ``validator`` when one is set."""

    validator: Validator | None = None
    """The compiled JSON Schema, or None to check only that the answer parses."""
    name: str = "is-json"

    async def grade(self, ctx: GradeContext) -> Grade:
        """Parse the answer and validate it."""
        try:
            document = orjson.loads(ctx.output)
        except orjson.JSONDecodeError as exc:
            return fail_grade(self.name, f"not valid JSON: {exc}")
        if self.validator is None:
            return pass_grade(self.name, "valid JSON")
        from jsonschema import exceptions as schema_errors
        from referencing.exceptions import Unresolvable

        try:
            with pattern_budget():
                problem = schema_errors.best_match(self.validator.iter_errors(document))
        except PatternTimeout as exc:
            return error_grade(self.name, f"schema could not be applied: {exc}")
        except RecursionError:
            return error_grade(
                self.name, "schema could not be applied: the answer is nested too deeply"
            )
        except Unresolvable as exc:
            return error_grade(self.name, f"schema could not be applied: {_unresolvable(exc)}")
        except Exception as exc:  # the grader's own failure, never the run's
            return error_grade(self.name, f"schema could not be applied: {_one_line(exc)}")
        if problem is None:
            return pass_grade(self.name, "valid JSON, matches the schema")
        return fail_grade(
            self.name, f"does not match the schema at {problem.json_path}: {problem.message}"
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class Numeric:
    """Passes when the first number in the answer is ``value`` ± ``tolerance``."""

    value: float
    """The expected number."""
    tolerance: float = 0.0
    """Absolute tolerance (the assertion's ``threshold``)."""
    name: str = "numeric"

    async def grade(self, ctx: GradeContext) -> Grade:
        """Find the first number in the answer and compare it."""
        expected = f"{_fmt(self.value)} ± {_fmt(self.tolerance)}"
        found = first_number(ctx.output)
        if found is None:
            return fail_grade(self.name, f"no number in the answer, expected {expected}")
        if math.isclose(found, self.value, rel_tol=1e-9, abs_tol=self.tolerance):
            return pass_grade(self.name, f"found {_fmt(found)}, expected {expected}")
        return fail_grade(self.name, f"found {_fmt(found)}, expected {expected}")


@dataclass(frozen=True, kw_only=True, slots=True)
class LatencyMs:
    """Passes when the target answered within ``limit`` milliseconds."""

    limit: float
    """The slowest answer that passes, in ms."""
    name: str = "latency-ms"

    async def grade(self, ctx: GradeContext) -> Grade:
        """Compare the completion's latency with the limit."""
        took = ctx.completion.latency_ms
        if took <= self.limit:
            return pass_grade(
                self.name, f"answered in {took:.0f} ms, at most {_fmt(self.limit)} ms"
            )
        return fail_grade(
            self.name, f"answered in {took:.0f} ms, expected at most {_fmt(self.limit)} ms"
        )


def _build_is_json(a: Assertion) -> Grader:
    if a.value is None:
        return JsonCheck(name=a.type)
    return JsonCheck(validator=compile_schema(a.value, a.type), name=a.type)


def _build_json_schema(a: Assertion) -> Grader:
    if a.value is None:
        raise ValueError(f"{a.type} needs a schema as its value")
    return JsonCheck(validator=compile_schema(a.value, a.type), name=a.type)


def _build_numeric(a: Assertion) -> Grader:
    value = require_number(a.value, f"{a.type} value")
    tolerance = 0.0 if a.threshold is None else require_number(a.threshold, f"{a.type} threshold")
    if tolerance < 0:
        raise ValueError(f"{a.type} threshold (the tolerance) must be ≥ 0, got {a.threshold}")
    return Numeric(value=value, tolerance=tolerance, name=a.type)


def _build_latency(a: Assertion) -> Grader:
    # promptfoo's `latency` puts the limit in `threshold`; ours in `value`. Either works.
    if a.value is not None and a.threshold is not None:
        raise ValueError(f"{a.type}: give the limit once, as value (ms), not also as threshold")
    raw = a.value if a.value is not None else a.threshold
    if raw is None:
        raise ValueError(f"{a.type} needs a limit in milliseconds as its value")
    limit = require_number(raw, f"{a.type} value")
    if limit <= 0:
        raise ValueError(f"{a.type} value must be > 0 ms, got {raw}")
    return LatencyMs(limit=limit, name=a.type)


def assertion_types() -> list[AssertionSpec]:
    """The structured assertion types, registered by :mod:`evallock.graders.registry`."""
    return [
        AssertionSpec(
            name="is-json",
            build=_build_is_json,
            summary="the answer is JSON (valid against the schema in `value`, if given)",
        ),
        AssertionSpec(
            name="json-schema",
            build=_build_json_schema,
            summary="the answer is JSON valid against the schema in `value`",
        ),
        AssertionSpec(
            name="numeric",
            build=_build_numeric,
            summary="the first number in the answer is `value` ± `threshold` (default 0)",
            takes_threshold=True,
        ),
        AssertionSpec(
            name="latency-ms",
            build=_build_latency,
            summary="the target answered within `value` milliseconds",
            takes_threshold=True,
        ),
    ]
