"""The shared keys: the evidence tags carried by eval records and traces alike.

Offline and online can only be joined when both sides carry the same tags
(DESIGN §2). This module names them and maps every spelling a key arrives in
(config, ``--key k=v``, ``X-Evallock-Prompt-Version`` headers, ``evallock.*``
span attributes) onto one canonical snake_case name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from evallock.errors import UsageError

__all__ = [
    "DEFAULT_SLICE_KEYS",
    "DEPLOY_KEYS",
    "RUN_KEYS",
    "SHARED_KEYS",
    "TASK_KEYS",
    "Slice",
    "SplitKeys",
    "header_key",
    "merge_keys",
    "normalise_key",
    "parse_key_flags",
    "split_keys",
]

SHARED_KEYS: tuple[str, ...] = (
    "model_version",
    "prompt_version",
    "retriever_version",
    "guardrail_version",
    "dataset_id",
    "judge_version",
    "experiment",
    "intent",
    "customer_tier",
    "feature",
    "language",
)
"""Every shared key, in the order reports show them."""

DEPLOY_KEYS: tuple[str, ...] = (
    "model_version",
    "prompt_version",
    "retriever_version",
    "guardrail_version",
)
"""What a deploy changes: a change of any of these between runs marks a deploy."""
RUN_KEYS: tuple[str, ...] = (*DEPLOY_KEYS, "experiment")
"""Keys a run sets for all its cases: a slice on them picks one run per value."""
TASK_KEYS: tuple[str, ...] = ("intent", "customer_tier", "feature", "language")
"""What a request is about: copied from a trace to the case it becomes (a case never
carries the version keys: they come from the run), and the mix drift watches."""
DEFAULT_SLICE_KEYS: tuple[str, ...] = ("intent", "customer_tier")
"""The slices shown when none are asked for (the dashboard, ``coverage``)."""

_SHARED = frozenset(SHARED_KEYS)
_NAME = re.compile(r"^[a-z][a-z0-9_.]{0,63}$")
_HEADER_PREFIX = "x-evallock-"


def normalise_key(name: str) -> str:
    """Canonical spelling of a key name: lower case, ``-`` and spaces as ``_``.

    >>> normalise_key("Prompt-Version")
    'prompt_version'
    """
    return re.sub(r"[-\s]+", "_", name.strip()).lower()


def header_key(header: str) -> str | None:
    """The key an ``X-Evallock-<Key>`` header carries, or None for other headers.

    >>> header_key("X-Evallock-Customer-Tier")
    'customer_tier'
    """
    lower = header.lower()
    if not lower.startswith(_HEADER_PREFIX) or len(lower) == len(_HEADER_PREFIX):
        return None
    return normalise_key(lower[len(_HEADER_PREFIX) :])


@dataclass(frozen=True, kw_only=True)
class SplitKeys:
    """Keys sorted into the shared columns and the free-form ``extra`` object."""

    shared: dict[str, str] = field(default_factory=dict)
    """Values of the shared keys that were given (absent ones are simply missing)."""
    extra: dict[str, str] = field(default_factory=dict)
    """Every other key, by its normalised name."""


def split_keys(keys: Mapping[str, Any]) -> SplitKeys:
    """Split a mapping of keys into shared columns and ``extra``; values become strings.

    Empty values are dropped: a key that is unknown stays empty, never invented.
    """
    shared: dict[str, str] = {}
    extra: dict[str, str] = {}
    for raw, value in keys.items():
        if value is None or value == "":
            continue
        name = normalise_key(str(raw))
        text = value if isinstance(value, str) else _stringify(value)
        (shared if name in _SHARED else extra)[name] = text
    return SplitKeys(shared=shared, extra=extra)


def _stringify(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def merge_keys(*layers: Mapping[str, str] | None) -> dict[str, str]:
    """Merge key mappings; later layers win (config < case keys < ``--key`` flags)."""
    merged: dict[str, str] = {}
    for layer in layers:
        if layer:
            merged.update(layer)
    return merged


def parse_key_flags(flags: Iterable[str]) -> dict[str, str]:
    """Parse repeated ``--key k=v`` flags into a mapping of normalised names.

    Raises:
        UsageError: a flag without ``=`` or with an unusable name.

    >>> parse_key_flags(["prompt_version=refund-v4", "Customer-Tier=enterprise"])
    {'prompt_version': 'refund-v4', 'customer_tier': 'enterprise'}
    """
    out: dict[str, str] = {}
    for flag in flags:
        name, sep, value = flag.partition("=")
        key = normalise_key(name)
        if not sep or not _NAME.match(key):
            raise UsageError(f"--key {flag!r}: expected NAME=VALUE with a name like prompt_version")
        out[key] = value
    return out


MISSING_VALUE = "(none)"
"""How a slice's label shows a key the record does not carry."""


@dataclass(frozen=True, slots=True)
class Slice:
    """A slice of cases or traffic: the value of each key it is cut by.

    The one slice identity every per-slice result carries (A/B, drift, the
    offline ⋈ online join, coverage, the dashboard): hashable, ordered as the keys
    were asked, and labelled one way.

    >>> s = Slice.of(["customer_tier", "intent"], ["enterprise", None])
    >>> s.label, s.as_dict()
    ('customer_tier=enterprise,intent=(none)', {'customer_tier': 'enterprise', 'intent': None})
    """

    keys: tuple[str, ...]
    """The keys, in the order asked (``--by customer_tier,intent``)."""
    values: tuple[str | None, ...]
    """The slice's value of each key (None: the key is missing)."""

    def __post_init__(self) -> None:
        """Refuse a slice whose keys and values do not pair up.

        Raises:
            ValueError: more keys than values or the other way round.
        """
        if len(self.keys) != len(self.values):
            raise ValueError(f"a slice needs one value per key: {self.keys} / {self.values}")

    @classmethod
    def of(cls, keys: Sequence[str], values: Sequence[str | None]) -> Slice:
        """The slice with these values of these keys."""
        return cls(tuple(keys), tuple(values))

    @classmethod
    def from_keys(cls, keys: Sequence[str], record_keys: Mapping[str, str]) -> Slice:
        """The slice a record with ``record_keys`` falls in, cut by ``keys``."""
        return cls(tuple(keys), tuple(record_keys.get(k) or None for k in keys))

    def as_dict(self) -> dict[str, str | None]:
        """``{key: value}``, as the JSON reports print a slice's keys."""
        return dict(zip(self.keys, self.values, strict=True))

    def get(self, key: str) -> str | None:
        """The slice's value of ``key`` (None when missing or not a key of the slice)."""
        return self.as_dict().get(key)

    @property
    def label(self) -> str:
        """``customer_tier=enterprise,intent=(none)``."""
        return ",".join(
            f"{k}={MISSING_VALUE if v is None else v}"
            for k, v in zip(self.keys, self.values, strict=True)
        )

    def __str__(self) -> str:
        return self.label
