"""Variant specs: ``model=bot-v4,prompt=prompts/v4.txt`` over a base target."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from evallock.errors import UsageError
from evallock.keys import normalise_key
from evallock.session import TargetSpec

__all__ = ["Variant", "apply_spec", "parse_spec"]

_TARGET_FIELDS = {"model", "prompt", "base_url", "python", "api_key_env"}


@dataclass(frozen=True, kw_only=True, slots=True)
class Variant:
    """One arm of a comparison: its name and its target (keys included)."""

    name: str
    """``A`` or ``B``."""
    target: TargetSpec
    """The target with the spec's overrides applied; its keys are the arm's run-level
    keys (the spec's ``key.*`` over the base target's)."""
    spec: str = ""
    """The spec as given, for reports."""


def parse_spec(spec: str, *, flag: str) -> dict[str, str]:
    """Split ``k=v,k=v`` into a mapping; a value may not contain a comma.

    Raises:
        UsageError: an item without ``=`` or an unknown name.

    >>> parse_spec("model=bot-v4,key.prompt_version=v4", flag="--b")
    {'model': 'bot-v4', 'key.prompt_version': 'v4'}
    """
    items: dict[str, str] = {}
    for raw in spec.split(","):
        if not raw.strip():
            continue
        name, sep, value = raw.partition("=")
        name = name.strip()
        if not sep:
            raise UsageError(f"{flag} {spec!r}: expected NAME=VALUE pairs, got {raw!r}")
        known = name in _TARGET_FIELDS or name.startswith(("key.", "param."))
        if not known:
            names = ", ".join(sorted(_TARGET_FIELDS | {"key.<name>", "param.<name>"}))
            raise UsageError(f"{flag}: unknown name {name!r} (known: {names})")
        items[name] = value.strip()
    return items


def apply_spec(name: str, base: TargetSpec, spec: str, *, flag: str) -> Variant:
    """The variant a spec makes of the base target (its keys included)."""
    items = parse_spec(spec, flag=flag)
    changes: dict[str, Any] = {k: v for k, v in items.items() if k in _TARGET_FIELDS}
    params = dict(base.params)
    for item, value in items.items():
        if item.startswith("param."):
            params[item[len("param.") :]] = _param_value(value)
    if params != base.params:
        changes["params"] = params
    variant_keys = dict(base.keys)
    for item, value in items.items():
        if item.startswith("key."):
            variant_keys[normalise_key(item[len("key.") :])] = value
    if variant_keys != base.keys:
        changes["keys"] = variant_keys
    return Variant(name=name, target=replace(base, **changes), spec=spec)


def _param_value(text: str) -> Any:
    """``0.2`` → 0.2, ``true`` → True, anything else stays text."""
    lowered = text.lower()
    if lowered in {"true", "false"}:
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text
