"""Times as people write them: ISO 8601 instants or durations back from now, in UTC.

One parser for every ``--since``/``--until``, ``GET /api/traces?since=`` and
``evallock drift`` window: ``2026-10-04``, ``2026-10-04T09:12:44Z`` (no zone
means UTC), or ``90s``, ``30m``, ``12h``, ``7d``, ``2w`` back from now.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

__all__ = ["parse_duration", "parse_time"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)\s*$", re.IGNORECASE)
_UNIT_S = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta | None:
    """``90m``, ``12h``, ``1d``, ``2w`` → a timedelta; None when it is not a duration.

    >>> parse_duration("1d")
    datetime.timedelta(days=1)
    """
    match = _DURATION.match(text)
    if not match:
        return None
    return timedelta(seconds=float(match.group(1)) * _UNIT_S[match.group(2).lower()])


def parse_time(value: str, *, now: datetime | None = None) -> datetime:
    """A time bound as timezone-aware UTC (``now`` is accepted too).

    Raises:
        ValueError: neither ISO 8601 nor a duration.

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
    duration = parse_duration(text)
    if duration is not None:
        return moment - duration
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        raise ValueError(
            f"{value!r}: expected an ISO 8601 time (2026-10-04T09:00:00Z) "
            "or a duration back from now (30m, 12h, 7d)"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
