"""Structured graders: JSON answers (whole or within text), JSON Schema, numbers, latency, cost.

Schemas are checked and compiled into validators when the assertion is built
(at load time), so a bad schema is a ``file:line:`` error, not a run-time one;
:mod:`evallock.graders._jsonschema` keeps checking an answer bounded in time
(no remote ``$ref``, pattern searches with a timeout).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from evallock.graders._base import AssertionSpec, GradeContext, Grader
from evallock.graders._common import error_grade, fail_grade, pass_grade, require_number
from evallock.graders._jsonschema import compile_schema, pattern_budget
from evallock.graders._regex import PatternTimeout
from evallock.records import Assertion, Grade

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

__all__ = [
    "ContainsJson",
    "CostLimit",
    "JsonCheck",
    "LatencyMs",
    "Numeric",
    "assertion_types",
    "compile_schema",
    "first_number",
    "json_values_in",
    "schema_problem",
]

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


def schema_problem(validator: Validator, document: Any) -> tuple[str | None, str | None]:
    """``(mismatch, error)``: why the document does not match, or why it could not be checked."""
    from jsonschema import exceptions as schema_errors
    from referencing.exceptions import Unresolvable

    try:
        with pattern_budget():
            problem = schema_errors.best_match(validator.iter_errors(document))
    except PatternTimeout as exc:
        return None, f"schema could not be applied: {exc}"
    except RecursionError:
        return None, "schema could not be applied: the answer is nested too deeply"
    except Unresolvable as exc:
        return None, f"schema could not be applied: {_unresolvable(exc)}"
    except Exception as exc:  # the grader's own failure, never the run's
        return None, f"schema could not be applied: {_one_line(exc)}"
    if problem is None:
        return None, None
    return f"does not match the schema at {problem.json_path}: {problem.message}", None


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
        mismatch, error = schema_problem(self.validator, document)
        if error is not None:
            return error_grade(self.name, error)
        if mismatch is not None:
            return fail_grade(self.name, mismatch)
        return pass_grade(self.name, "valid JSON, matches the schema")


MAX_JSON_STARTS = 256
"""How many ``{`` / ``[`` positions :func:`json_values_in` tries before it gives up: the
answer is bounded, and so is the work of looking for JSON inside it."""


def json_values_in(text: str, *, limit: int = MAX_JSON_STARTS) -> list[object]:
    """The JSON objects and arrays written inside ``text`` (prose, a fenced block …), in order.

    Each ``{`` or ``[`` that starts a value that parses is taken whole, and the search
    goes on after it; at most ``limit`` starts are tried.
    """
    import json

    decoder = json.JSONDecoder()
    found: list[object] = []
    position = 0
    tried = 0
    while tried < limit:
        starts = [i for i in (text.find("{", position), text.find("[", position)) if i >= 0]
        if not starts:
            break
        start = min(starts)
        tried += 1
        try:
            value, end = decoder.raw_decode(text, start)
        except (ValueError, RecursionError):
            position = start + 1
            continue
        found.append(value)
        position = end
    return found


@dataclass(frozen=True, kw_only=True, slots=True)
class ContainsJson:
    """Passes when the answer contains a JSON object or array (matching ``validator``, if set).

    promptfoo's ``contains-json``: the JSON may sit in prose or a fenced block; with a
    schema, one of the values found must match it.
    """

    validator: Validator | None = None
    """The compiled JSON Schema, or None to check only that some JSON is there."""
    name: str = "contains-json"

    async def grade(self, ctx: GradeContext) -> Grade:
        """Look for JSON values in the answer and validate them."""
        values = json_values_in(ctx.output)
        if not values:
            return fail_grade(self.name, "no JSON object or array in the answer")
        if self.validator is None:
            return pass_grade(self.name, f"contains JSON ({len(values)} value(s))")
        first: str | None = None
        for value in values:
            mismatch, error = schema_problem(self.validator, value)
            if error is not None:
                return error_grade(self.name, error)
            if mismatch is None:
                return pass_grade(self.name, "contains JSON that matches the schema")
            first = first or mismatch
        return fail_grade(self.name, f"{len(values)} JSON value(s), none matches: {first}")


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


@dataclass(frozen=True, kw_only=True, slots=True)
class CostLimit:
    """Passes when the call cost at most ``limit`` USD.

    The cost is the service's own (``usage.cost``) or the target's ``price`` times the
    tokens; when neither is known the check cannot be made, and says why.
    """

    limit: float
    """The dearest call that passes, in USD."""
    name: str = "cost"

    async def grade(self, ctx: GradeContext) -> Grade:
        """Compare the completion's cost with the limit."""
        cost = ctx.completion.cost
        if cost is None:
            return error_grade(
                self.name,
                "no cost for this answer: the service reported none (usage.cost) and the"
                " target has no price (target.price: {input: USD/1M tokens, output: …})",
            )
        if cost <= self.limit:
            return pass_grade(self.name, f"cost ${cost:.6f}, at most ${_fmt(self.limit)}")
        return fail_grade(self.name, f"cost ${cost:.6f}, expected at most ${_fmt(self.limit)}")


def _build_is_json(a: Assertion) -> Grader:
    if a.value is None:
        return JsonCheck(name=a.type)
    return JsonCheck(validator=compile_schema(a.value, a.type), name=a.type)


def _build_json_schema(a: Assertion) -> Grader:
    if a.value is None:
        raise ValueError(f"{a.type} needs a schema as its value")
    return JsonCheck(validator=compile_schema(a.value, a.type), name=a.type)


def _build_contains_json(a: Assertion) -> Grader:
    if a.value is None:
        return ContainsJson(name=a.type)
    return ContainsJson(validator=compile_schema(a.value, a.type), name=a.type)


def _build_cost(a: Assertion) -> Grader:
    # promptfoo puts the limit in `threshold`; `value` works too, as for latency.
    limit = _limit(a, unit="USD", field="threshold", allow_zero=True)
    return CostLimit(limit=limit, name=a.type)


def _build_numeric(a: Assertion) -> Grader:
    value = require_number(a.value, f"{a.type} value")
    tolerance = 0.0 if a.threshold is None else require_number(a.threshold, f"{a.type} threshold")
    if tolerance < 0:
        raise ValueError(f"{a.type} threshold (the tolerance) must be ≥ 0, got {a.threshold}")
    return Numeric(value=value, tolerance=tolerance, name=a.type)


def _build_latency(a: Assertion) -> Grader:
    # promptfoo's `latency` puts the limit in `threshold`; ours in `value`. Either works.
    return LatencyMs(limit=_limit(a, unit="ms", field="value", allow_zero=False), name=a.type)


def _limit(a: Assertion, *, unit: str, field: str, allow_zero: bool) -> float:
    """The one limit a check gives in ``value`` or ``threshold`` (``field`` is where its
    docs put it), as a number ≥ 0 (> 0 unless ``allow_zero``)."""
    other = "threshold" if field == "value" else "value"
    if a.value is not None and a.threshold is not None:
        raise ValueError(f"{a.type}: give the limit once, as {field} ({unit}), not also as {other}")
    raw = a.value if a.value is not None else a.threshold
    if raw is None:
        words = "milliseconds" if unit == "ms" else unit
        raise ValueError(f"{a.type} needs a limit in {words} as its {field}")
    limit = require_number(raw, f"{a.type} {field}")
    if limit < 0 or (limit == 0 and not allow_zero):
        bound = "≥ 0" if allow_zero else "> 0"
        raise ValueError(f"{a.type} {field} must be {bound} {unit}, got {raw}")
    return limit


def assertion_types() -> list[AssertionSpec]:
    """The structured assertion types, registered by :mod:`evallock.graders.registry`."""
    return [
        AssertionSpec(
            name="is-json",
            build=_build_is_json,
            summary="the answer is JSON (valid against the schema in `value`, if given)",
        ),
        AssertionSpec(
            name="contains-json",
            build=_build_contains_json,
            summary="the answer contains a JSON object or array (one valid against the schema"
            " in `value`, if given)",
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
        AssertionSpec(
            name="cost",
            build=_build_cost,
            summary="the call cost at most `threshold` USD (the service's usage.cost, else"
            " target.price × tokens)",
            takes_threshold=True,
        ),
    ]
