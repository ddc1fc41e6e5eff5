"""Times as people write them: ISO 8601 instants or durations back from now, in UTC.

One parser for every ``--since``/``--until``, ``GET /api/traces?since=`` and
``evallock drift`` window: ``2026-10-04``, ``2026-10-04T09:12:44Z`` (no zone
means UTC), or ``90s``, ``30m``, ``12h``, ``7d``, ``2w`` back from now.
Times no datetime holds (``99999999999d`` back, ``0001-01-01T00:00:00+01:00``)
are refused with a ValueError like any other bad spelling, never an OverflowError.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

__all__ = ["parse_duration", "parse_time", "utc_now"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)\s*$", re.IGNORECASE)
_UNIT_S = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class _OutOfRange(ValueError):
    """A duration too long for a timedelta."""


def _duration(text: str) -> timedelta | None:
    match = _DURATION.match(text)
    if not match:
        return None
    try:
        return timedelta(seconds=float(match.group(1)) * _UNIT_S[match.group(2).lower()])
    except OverflowError:  # more than 999,999,999 days, or so many digits it is infinite
        raise _OutOfRange(f"{text.strip()[:40]!r}: a duration longer than any time") from None


def parse_duration(text: str) -> timedelta | None:
    """``90m``, ``12h``, ``1d``, ``2w`` → a timedelta; None when it is not a duration.

    A duration too long for a timedelta is not one either.

    >>> parse_duration("1d")
    datetime.timedelta(days=1)
    >>> parse_duration("9999999999999w") is None
    True
    """
    try:
        return _duration(text)
    except _OutOfRange:
        return None


def parse_time(value: str, *, now: datetime | None = None) -> datetime:
    """A time bound as timezone-aware UTC (``now`` is accepted too).

    Raises:
        ValueError: neither ISO 8601 nor a duration, or a time no datetime holds.

    >>> parse_time("2026-10-04T09:12:44Z").isoformat()
    '2026-10-04T09:12:44+00:00'
    >>> now = datetime(2026, 10, 4, 12, tzinfo=UTC)
    >>> parse_time("12h", now=now).isoformat()
    '2026-10-04T00:00:00+00:00'
    """
    text = value.strip()
    moment = now or datetime.now(UTC)
    if text == "now":
        return moment
    shown = repr(text[:40]) + ("…" if len(text) > 40 else "")
    duration = _duration(text)
    try:
        if duration is not None:
            return moment - duration
        iso = text.replace("Z", "+00:00") if text.endswith("Z") else text
        try:
            parsed = datetime.fromisoformat(iso)
        except ValueError:
            raise ValueError(
                f"{shown}: expected an ISO 8601 time (2026-10-04T09:00:00Z) "
                "or a duration back from now (30m, 12h, 7d)"
            ) from None
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{shown}: outside the years 1 to 9999 in UTC") from None
