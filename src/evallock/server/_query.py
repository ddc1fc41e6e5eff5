"""Trace queries as people write them: time bounds, key filters, and pages by cursor.

Shared by ``GET /api/traces`` and ``evallock traces list`` (plain library code,
no web framework). A time is ISO 8601 (``2026-10-04``, ``2026-10-04T09:12:44Z``;
no zone means UTC) or a duration back from now (``90s``, ``30m``, ``12h``,
``7d``, ``2w``), as DESIGN §4 has it for ``drift --since``.

Pages are read by cursor: each page's ``next_cursor`` names the position of its
last row (opaque to clients: URL-safe base64 of a small JSON array), and the
next page starts after it with one index range scan. ``offset`` is kept for
small jumps, up to :data:`MAX_OFFSET`: skipping rows costs reading them.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from evallock.keys import normalise_key
from evallock.limits import MAX_ID, MAX_KEY_VALUE, MAX_KEYS
from evallock.records import Trace
from evallock.store import Store, TracePosition, TraceSearch
from evallock.times import parse_time

__all__ = [
    "MAX_CURSOR",
    "MAX_LIMIT",
    "MAX_OFFSET",
    "TracePage",
    "TraceQuery",
    "decode_cursor",
    "encode_cursor",
    "key_filters",
    "parse_time",
    "trace_cursor",
    "trace_position",
]

_KEY_NAME = re.compile(r"^[a-z0-9_.]{1,64}$")
MAX_LIMIT = 1000
"""Most traces one query returns."""
MAX_OFFSET = 10_000
"""Largest ``offset`` a listing accepts; past it, page by cursor."""
MAX_CURSOR = 4096
"""Longest cursor accepted, in characters (a trace cursor is under 2 KB)."""
_NEWEST, _OLDEST = "traces-newest", "traces-oldest"


def encode_cursor(*parts: str | int) -> str:
    """An opaque cursor: URL-safe base64, unpadded, of the JSON array of ``parts``.

    >>> encode_cursor("traces-newest", "2026-10-04T09:00:00+00:00", "4bf9")
    'WyJ0cmFjZXMtbmV3ZXN0IiwiMjAyNi0xMC0wNFQwOTowMDowMCswMDowMCIsIjRiZjkiXQ'
    """
    return base64.urlsafe_b64encode(orjson.dumps(list(parts))).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str, kind: str, size: int) -> list[Any]:
    """The ``size`` parts after ``kind`` of a cursor :func:`encode_cursor` made.

    Raises:
        ValueError: not such a cursor (too long, not base64, not JSON, another kind).

    >>> decode_cursor(encode_cursor("traces-newest", "t", "id"), "traces-newest", 2)
    ['t', 'id']
    >>> decode_cursor("bm90IGEgY3Vyc29y", "traces-newest", 2)
    Traceback (most recent call last):
    ...
    ValueError: not a cursor this listing made; pass a next_cursor back unchanged
    """
    problem = "not a cursor this listing made; pass a next_cursor back unchanged"
    if len(cursor) > MAX_CURSOR:
        raise ValueError(f"longer than {MAX_CURSOR} characters; {problem}")
    try:
        raw = cursor.encode("ascii")
        data = base64.b64decode(raw + b"=" * (-len(raw) % 4), altchars=b"-_", validate=True)
        parts = orjson.loads(data)
    except (UnicodeError, binascii.Error, ValueError):
        raise ValueError(problem) from None
    if not isinstance(parts, list) or len(parts) != size + 1 or parts[0] != kind:
        raise ValueError(problem)
    return parts[1:]


def trace_cursor(trace: Trace, *, newest_first: bool) -> str:
    """The cursor of the page that follows ``trace`` in this order."""
    kind = _NEWEST if newest_first else _OLDEST
    return encode_cursor(kind, trace.timestamp.isoformat(), trace.trace_id)


def trace_position(cursor: str, *, newest_first: bool) -> TracePosition:
    """The position a trace cursor names, for a listing in this order.

    Raises:
        ValueError: not a trace cursor, or one made for the other order.
    """
    kind, other = (_NEWEST, _OLDEST) if newest_first else (_OLDEST, _NEWEST)
    try:
        moment, trace_id = decode_cursor(cursor, kind, 2)
    except ValueError:
        try:
            decode_cursor(cursor, other, 2)
        except ValueError:
            pass
        else:
            raise ValueError(
                "made for the other order (oldest_first); start again without a cursor"
            ) from None
        raise
    problem = "not a cursor this listing made; pass a next_cursor back unchanged"
    if not isinstance(moment, str) or not isinstance(trace_id, str):
        raise ValueError(problem)
    if len(trace_id) > MAX_ID or "\x00" in trace_id:  # no stored trace id is either
        raise ValueError(problem)
    try:
        timestamp = datetime.fromisoformat(moment)
    except ValueError:
        raise ValueError(problem) from None
    if timestamp.utcoffset() is None:
        raise ValueError(problem)
    return TracePosition(timestamp=timestamp, trace_id=trace_id)


def key_filters(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Key filters from ``key.<name>=value`` query parameters (other parameters ignored).

    Raises:
        ValueError: a key name with characters other than letters, digits, ``_`` and ``.``,
            a value longer than any stored key value, or more filters than a record has
            keys; the message starts with the parameter.

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
        if len(value) > MAX_KEY_VALUE:  # no stored value is longer
            raise ValueError(
                f"{name}: {len(value):,} characters; a key value has at most {MAX_KEY_VALUE}"
            )
        found[key] = value
        if len(found) > MAX_KEYS:
            raise ValueError(f"{name}: more than {MAX_KEYS} key filters")
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
    """Traces to skip (after ``after``, when there is one)."""
    newest_first: bool = True
    """Order by start time, newest first (else oldest first); ties by trace id."""
    after: TracePosition | None = None
    """Start after this position (from :func:`trace_position` of a page's cursor)."""
    search: TraceSearch | None = None
    """Text, error, rating and judge-score conditions (None: none)."""

    def run(self, store: Store) -> list[Trace]:
        """The page of traces this query selects from ``store``."""
        return self._read(store, min(self.limit, MAX_LIMIT))

    def page(self, store: Store) -> TracePage:
        """The page of traces, with the cursor of the next page when there is one."""
        limit = min(self.limit, MAX_LIMIT)
        found = self._read(store, limit + 1)  # one more says whether a next page exists
        if len(found) <= limit:
            return TracePage(traces=found, next_cursor=None)
        found = found[:limit]
        return TracePage(
            traces=found, next_cursor=trace_cursor(found[-1], newest_first=self.newest_first)
        )

    def _read(self, store: Store, limit: int) -> list[Trace]:
        return store.traces.find(
            since=self.since,
            until=self.until,
            keys=self.keys,
            limit=limit,
            offset=self.offset,
            newest_first=self.newest_first,
            after=self.after,
            search=self.search,
        )

    def count(self, store: Store) -> int:
        """How many traces match, without the page."""
        return store.traces.count(
            since=self.since, until=self.until, keys=self.keys, search=self.search
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class TracePage:
    """One page of a trace listing."""

    traces: list[Trace]
    """The page's traces, in the listing's order."""
    next_cursor: str | None
    """Pass as ``cursor`` for the next page; None on the last page."""
