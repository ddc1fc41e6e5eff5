"""Trace queries as people write them: time bounds and key filters.

Shared by ``GET /api/traces`` and ``evallock traces list`` (plain library code,
no web framework). A time is ISO 8601 (``2026-10-04``, ``2026-10-04T09:12:44Z``;
no zone means UTC) or a duration back from now (``90s``, ``30m``, ``12h``,
``7d``, ``2w``), as DESIGN §4 has it for ``drift --since``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from evallock.keys import normalise_key
from evallock.records import Trace
from evallock.store import Store
from evallock.times import parse_time

__all__ = ["TraceQuery", "key_filters", "parse_time"]

_KEY_NAME = re.compile(r"^[a-z0-9_.]{1,64}$")
MAX_LIMIT = 1000
"""Most traces one query returns."""


def key_filters(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Key filters from ``key.<name>=value`` query parameters (other parameters ignored).

    Raises:
        ValueError: a key name with characters other than letters, digits, ``_`` and ``.``.

    >>> key_filters([("key.Prompt-Version", "v4"), ("limit", "5")])
    {'prompt_version': 'v4'}
    """
    found: dict[str, str] = {}
    for name, value in pairs:
        if not name.startswith("key."):
            continue
        key = normalise_key(name[4:])
        if not _KEY_NAME.match(key):
            raise ValueError(f"{name}: use letters, digits, '_' and '.' in key names")
        found[key] = value
    return found


@dataclass(frozen=True, kw_only=True, slots=True)
class TraceQuery:
    """Which traces to list: a window ``[since, until)``, keys that must all match, a page."""

    since: datetime | None = None
    """Earliest start time (inclusive)."""
    until: datetime | None = None
    """Latest start time (exclusive)."""
    keys: dict[str, str] = field(default_factory=dict)
    """Keys that must all have these values."""
    limit: int = 100
    """Page size (at most :data:`MAX_LIMIT`)."""
    offset: int = 0
    """Traces to skip."""
    newest_first: bool = True
    """Order by start time, newest first (else oldest first)."""

    def run(self, store: Store) -> list[Trace]:
        """The page of traces this query selects from ``store``."""
        return store.list_traces(
            since=self.since,
            until=self.until,
            keys=self.keys,
            limit=min(self.limit, MAX_LIMIT),
            offset=self.offset,
            newest_first=self.newest_first,
        )

    def count(self, store: Store) -> int:
        """How many traces match, without the page."""
        return store.count_traces(since=self.since, until=self.until, keys=self.keys)
