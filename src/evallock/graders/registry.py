"""The assertion registry: type name → :class:`AssertionSpec`, and load-time validation.

Built-in families register exactly as a plugin would: a module-level
``assertion_types()`` returning specs, handed to :func:`register_assertion`.
Third-party packages can do the same through the ``evallock.assertions``
entry-point group (see :func:`load_plugins`).

Spelling that maps cleanly from promptfoo is accepted: ``value`` carries every
type's setting, ``threshold`` is a tolerance or limit where the type takes one,
``weight`` (default 1, 0 = reported only) is its share of the case's score,
``latency`` (limit in ``threshold``) means ``latency-ms``, ``similar:cosine``
means ``similar``, and any type may be prefixed with ``not-`` to invert it.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

import orjson

from evallock.graders import rules, similarity, structured, trajectory
from evallock.graders._base import AssertionSpec, GradeContext, Grader
from evallock.graders._common import fail_grade, pass_grade, require_number
from evallock.records import Assertion, Grade

__all__ = [
    "ASSERTION_ALIASES",
    "ASSERTION_TYPES",
    "Negated",
    "build_grader",
    "load_plugins",
    "parse_assertion",
    "register_assertion",
]

ASSERTION_TYPES: dict[str, AssertionSpec] = {}
"""Every known assertion type by name."""

ASSERTION_ALIASES: dict[str, str] = {"latency": "latency-ms", "similar:cosine": "similar"}
"""Other spellings (promptfoo's) of registered types."""

_PARSED: OrderedDict[bytes, Assertion] = OrderedDict()
"""Recently parsed assertions by canonical JSON: golden sets repeat the same few checks,
and building a grader to validate one costs far more than looking it up."""
_PARSED_SIZE = 1024

PLUGIN_GROUP = "evallock.assertions"
_BASE_KEYS = frozenset({"type", "value", "threshold", "weight"})
_NOT = "not-"


def register_assertion(spec: AssertionSpec, *, replace: bool = False) -> None:
    """Add an assertion type.

    Raises:
        ValueError: when the name is taken and ``replace`` is False.
    """
    if spec.name in ASSERTION_TYPES and not replace:
        raise ValueError(f"assertion type {spec.name!r} is already registered")
    ASSERTION_TYPES[spec.name] = spec
    _PARSED.clear()


def load_plugins() -> list[str]:
    """Register the assertion types of installed plugins; returns the names added.

    Each entry point in the ``evallock.assertions`` group names a callable that
    returns a list of :class:`AssertionSpec`, like the built-in families do.
    """
    added: list[str] = []
    for point in entry_points(group=PLUGIN_GROUP):
        factory: Callable[[], Iterable[AssertionSpec]] = point.load()
        for spec in factory():
            register_assertion(spec)
            added.append(spec.name)
    return added


@dataclass(frozen=True, kw_only=True, slots=True)
class Negated:
    """Any type prefixed with ``not-`` (promptfoo's rule): passes when ``inner`` fails."""

    inner: Grader
    """The grader whose verdict is inverted; its errors stay errors."""
    name: str
    """The written type, e.g. ``not-equals``."""

    async def grade(self, ctx: GradeContext) -> Grade:
        """Grade with ``inner`` and invert the verdict."""
        grade = await self.inner.grade(ctx)
        if grade.error is not None:
            return Grade(
                name=self.name,
                passed=False,
                score=0.0,
                reason=grade.reason,
                error=grade.error,
                error_kind=grade.error_kind,
            )
        if grade.passed:
            return fail_grade(self.name, f"expected the opposite of: {grade.reason}")
        return pass_grade(self.name, f"as required, {self.inner.name} failed: {grade.reason}")


@dataclass(frozen=True, kw_only=True, slots=True)
class _Resolved:
    """What a written type name means."""

    name: str
    """The canonical name (aliases resolved, ``not-`` kept)."""
    spec: AssertionSpec
    """The registered type that builds the grader."""
    negated: bool
    """True for a ``not-`` prefix on a type registered without it."""


def _canonical(name: str) -> str:
    return ASSERTION_ALIASES.get(name, name)


def _resolve(name: str) -> _Resolved:
    canonical = _canonical(name)
    if canonical in ASSERTION_TYPES:
        return _Resolved(name=canonical, spec=ASSERTION_TYPES[canonical], negated=False)
    if canonical.startswith(_NOT):
        base = _canonical(canonical[len(_NOT) :])
        if base in ASSERTION_TYPES:
            return _Resolved(name=_NOT + base, spec=ASSERTION_TYPES[base], negated=True)
    known = ", ".join(sorted(ASSERTION_TYPES))
    raise ValueError(
        f"unknown assertion type {name!r}; known: {known} (each may take a not- prefix)"
    )


def build_grader(assertion: Assertion) -> Grader:
    """The grader for one (already parsed) assertion.

    Raises:
        ValueError: an unknown type or a value the type cannot use.
    """
    resolved = _resolve(assertion.type)
    if not resolved.negated:
        return resolved.spec.build(assertion)
    inner = resolved.spec.build(dataclasses.replace(assertion, type=resolved.spec.name))
    return Negated(inner=inner, name=resolved.name)


def parse_assertion(raw: Mapping[str, Any]) -> Assertion:
    """Validate one ``assert`` item from a case file and return it as an :class:`Assertion`.

    The grader is built once here, so a pattern that does not compile, a schema
    that is not a JSON Schema or a missing number fails at load, not at run time.

    Raises:
        ValueError: with a one-line reason (the loader prefixes ``file:line:``).
    """
    if not isinstance(raw, Mapping):
        raise ValueError(f"an assertion must be an object with a type, got {type(raw).__name__}")
    try:
        memo: bytes | None = orjson.dumps(raw, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # not JSON data (a YAML date, say): validate without the memo
        memo = None
    if memo is not None and (known := _PARSED.get(memo)) is not None:
        _PARSED.move_to_end(memo)
        return known
    assertion = _parse_assertion(raw)
    if memo is not None:
        _PARSED[memo] = assertion
        if len(_PARSED) > _PARSED_SIZE:
            _PARSED.popitem(last=False)
    return assertion


def _parse_assertion(raw: Mapping[str, Any]) -> Assertion:
    type_name = raw.get("type")
    if not isinstance(type_name, str) or not type_name.strip():
        raise ValueError('an assertion needs a type, e.g. {"type": "icontains", "value": ...}')
    resolved = _resolve(type_name.strip())
    spec = resolved.spec
    unknown = sorted(set(raw) - _BASE_KEYS - spec.options)
    if unknown:
        allowed_keys = _BASE_KEYS | spec.options
        if not spec.takes_threshold:
            allowed_keys -= {"threshold"}
        allowed = ", ".join(sorted(allowed_keys))
        raise ValueError(f"{resolved.name}: unknown key {unknown[0]!r}; it takes {allowed}")
    threshold: float | None = None
    if raw.get("threshold") is not None:
        if not spec.takes_threshold:
            raise ValueError(f"{resolved.name} takes no threshold")
        threshold = require_number(raw["threshold"], f"{resolved.name} threshold")
    weight = 1.0
    if raw.get("weight") is not None:
        weight = require_number(raw["weight"], f"{resolved.name} weight")
        if not 0 <= weight <= 1e6:
            raise ValueError(f"{resolved.name} weight must be ≥ 0, got {raw['weight']}")
    assertion = Assertion(
        type=resolved.name,
        value=raw.get("value"),
        threshold=threshold,
        options={k: v for k, v in raw.items() if k in spec.options},
        weight=weight,
    )
    try:
        build_grader(assertion)
    except ValueError as exc:
        raise ValueError(" ".join(str(exc).splitlines())) from None
    except Exception as exc:  # a plugin's builder that raised something else
        raise ValueError(f"{resolved.name}: {type(exc).__name__}: {exc}") from None
    return assertion


def _register_builtins() -> None:
    for family in (rules, structured, similarity, trajectory):
        for spec in family.assertion_types():
            register_assertion(spec)


_register_builtins()
