"""JSON Schemas from case files, compiled into validators that stay bounded.

A schema in a case file is checked when the file loads; checking an answer
against it must then end promptly whatever the answer holds:

* ``$ref`` resolves only inside the schema (and to the JSON Schema meta-schemas):
  nothing is ever fetched, so a ``$ref`` to a host that never answers cannot hang
  a run; a reference that is not there is a grader error on the case naming it;
* ``pattern``, ``patternProperties`` and ``additionalProperties`` search with
  :mod:`evallock.graders._regex` under one time budget per answer, so a pattern
  that backtracks is a grader error on the case, not a stalled run;
  ``unevaluatedProperties`` beside ``patternProperties`` would search with the
  stdlib's unbounded :mod:`re`, so that pairing is refused at load time;
* the schema itself is at most :data:`MAX_SCHEMA_DEPTH` levels deep and each of
  its patterns at most :data:`~evallock.graders._regex.MAX_PATTERN` characters.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

import orjson

from evallock.graders._regex import PATTERN_TIMEOUT, BoundedPattern, compile_pattern

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

__all__ = ["MAX_SCHEMA_DEPTH", "compile_schema", "pattern_budget"]

MAX_SCHEMA_DEPTH = 64
"""Deepest nesting of objects and arrays in a schema."""

_DEADLINE: ContextVar[float | None] = ContextVar("evallock_schema_deadline", default=None)
_CLASSES: dict[type[Any], type[Any]] = {}
_DATA_KEYWORDS = frozenset({"const", "enum", "default", "examples"})


def compile_schema(schema: Any, what: str = "json-schema") -> Validator:
    """Check a JSON Schema and compile its bounded validator (with format checks).

    Args:
        schema: the schema, as an object or as JSON text (e.g. from a CSV cell).
        what: how to name the assertion in errors.

    Raises:
        ValueError: when it is not JSON, not a valid JSON Schema, too deep, has a
            pattern too long or invalid, names an unknown ``$schema``, or pairs
            ``unevaluatedProperties`` with ``patternProperties``.
    """
    if isinstance(schema, str):
        try:
            schema = orjson.loads(schema)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"{what}: the schema is not valid JSON: {exc}") from None
    if not isinstance(schema, dict):
        raise ValueError(f"{what}: the schema must be a JSON object, got {type(schema).__name__}")
    _check_shape(schema, what)
    # jsonschema is imported here, when a case uses json-schema, not on every start-up.
    from jsonschema import exceptions as schema_errors
    from jsonschema import validators
    from referencing import Registry

    # An explicit default keeps validator_for from warning (and from guessing) on an
    # unknown $schema; the registry below never fetches one either.
    cls: type[Validator] | None = validators.validator_for(schema, default=cast(Any, None))
    if cls is None:
        if "$schema" in schema:
            raise ValueError(f"{what}: unknown $schema {schema['$schema']!r}")
        cls = validators.Draft202012Validator
    try:
        cls.check_schema(schema)
    except schema_errors.SchemaError as exc:
        where = exc.json_path
        raise ValueError(f"{what}: not a valid JSON schema at {where}: {exc.message}") from None
    except RecursionError:
        raise ValueError(f"{what}: the schema is nested too deeply") from None
    bounded = _bounded_class(cls)
    registry: Registry[Any] = Registry(retrieve=_refuse_remote)  # type: ignore[call-arg]
    validator: Validator = bounded(schema, registry=registry, format_checker=cls.FORMAT_CHECKER)
    return validator


@contextlib.contextmanager
def pattern_budget(seconds: float = PATTERN_TIMEOUT) -> Iterator[None]:
    """Share one time budget among the pattern searches of the validations inside."""
    token = _DEADLINE.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def _refuse_remote(uri: str) -> Any:
    from referencing.exceptions import NoSuchResource

    # Raised inside jsonschema as Unresolvable: the grade becomes a grader error.
    raise NoSuchResource(ref=uri)  # type: ignore[call-arg]


def _check_shape(schema: dict[str, Any], what: str) -> None:
    """Depth, pattern lengths and the unbounded keyword pairing, without recursion."""
    stack: list[tuple[Any, int, bool]] = [(schema, 1, False)]
    uses_unevaluated = uses_pattern_properties = False
    while stack:
        node, depth, data = stack.pop()
        if depth > MAX_SCHEMA_DEPTH:
            raise ValueError(f"{what}: the schema is nested deeper than {MAX_SCHEMA_DEPTH} levels")
        if isinstance(node, list):
            stack.extend((item, depth + 1, data) for item in node)
            continue
        if not isinstance(node, dict):
            continue
        if data:  # inside const, enum, default or examples: values, not schemas
            stack.extend((value, depth + 1, True) for value in node.values())
            continue
        if isinstance(node.get("pattern"), str):
            compile_pattern(node["pattern"], f"{what}: pattern")
        properties = node.get("patternProperties")
        if isinstance(properties, dict):
            uses_pattern_properties = True
            for key in properties:
                compile_pattern(key, f"{what}: patternProperties")
        uses_unevaluated = uses_unevaluated or "unevaluatedProperties" in node
        stack.extend((value, depth + 1, key in _DATA_KEYWORDS) for key, value in node.items())
    if uses_unevaluated and uses_pattern_properties:
        raise ValueError(
            f"{what}: unevaluatedProperties together with patternProperties is not supported"
            " (its pattern searches could not be bounded in time)"
        )


@lru_cache(maxsize=512)
def _pattern(source: str) -> BoundedPattern:
    return compile_pattern(source, "pattern")


def _found(source: str, text: str) -> bool:
    """Whether ``source`` matches in ``text``, within the current budget."""
    deadline = _DEADLINE.get()
    if deadline is None:
        deadline = time.monotonic() + PATTERN_TIMEOUT
    return _pattern(source).search(text, deadline=deadline) is not None


def _bounded_class(cls: type[Any]) -> type[Any]:
    """``cls`` with its pattern keywords searching under the time budget."""
    found = _CLASSES.get(cls)
    if found is None:
        from jsonschema import validators

        found = validators.extend(  # type: ignore[no-untyped-call]
            cls,
            {
                "pattern": _pattern_keyword,
                "patternProperties": _pattern_properties_keyword,
                "additionalProperties": _additional_properties_keyword,
            },
        )
        _CLASSES[cls] = found
    return found


def _pattern_keyword(validator: Any, pattern: Any, instance: Any, schema: Any) -> Iterator[Any]:
    from jsonschema.exceptions import ValidationError

    if validator.is_type(instance, "string") and not _found(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties_keyword(
    validator: Any, properties: Any, instance: Any, schema: Any
) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in properties.items():
        for key, value in instance.items():
            if _found(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties_keyword(
    validator: Any, additional: Any, instance: Any, schema: Any
) -> Iterator[Any]:
    """jsonschema's own ``additionalProperties``, with the bounded search."""
    from jsonschema.exceptions import ValidationError

    if not validator.is_type(instance, "object"):
        return
    properties = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    extras = {
        key
        for key in instance
        if key not in properties and not any(_found(p, key) for p in patterns)
    }
    if validator.is_type(additional, "object"):
        for extra in sorted(extras):
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        joined = ", ".join(repr(each) for each in sorted(extras))
        if patterns:
            verb = "does" if len(extras) == 1 else "do"
            listed = ", ".join(repr(each) for each in sorted(patterns))
            yield ValidationError(f"{joined} {verb} not match any of the regexes: {listed}")
        else:
            verb = "was" if len(extras) == 1 else "were"
            yield ValidationError(
                f"Additional properties are not allowed ({joined} {verb} unexpected)"
            )
