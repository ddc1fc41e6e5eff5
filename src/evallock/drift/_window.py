"""Time windows: ``--since 1d --until now`` or ISO 8601 instants, always UTC."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from evallock.errors import UsageError

__all__ = ["Window", "parse_duration", "parse_instant", "parse_window"]

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True, kw_only=True, slots=True)
class Window:
    """A half-open time window ``[start, end)`` in UTC."""

    start: datetime
    """Inclusive start."""
    end: datetime
    """Exclusive end."""

    def __str__(self) -> str:
        return f"{self.start:%Y-%m-%dT%H:%M:%SZ}..{self.end:%Y-%m-%dT%H:%M:%SZ}"


def parse_duration(text: str) -> timedelta | None:
    """``90m``, ``12h``, ``1d``, ``2w`` → a timedelta; None when it is not a duration.

    >>> parse_duration("1d")
    datetime.timedelta(days=1)
    """
    match = _DURATION.match(text.strip().lower())
    if not match:
        return None
    return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})


def parse_instant(text: str, *, now: datetime, flag: str) -> datetime:
    """An ISO 8601 instant (UTC when no offset), ``now``, or a duration back from ``now``.

    Raises:
        UsageError: neither form.
    """
    text = text.strip()
    if text == "now":
        return now
    duration = parse_duration(text)
    if duration is not None:
        return now - duration
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"{flag} {text!r}: expected an ISO 8601 time (2026-10-04T09:00Z) or a duration like 1d"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_window(
    since: str | None, until: str | None, *, now: datetime | None = None, default: str = "1d"
) -> Window:
    """The window ``--since``/``--until`` name (default: the last day).

    Raises:
        UsageError: a bad time, or an empty or reversed window.
    """
    now = now or datetime.now(UTC)
    end = parse_instant(until or "now", now=now, flag="--until")
    start = parse_instant(since or default, now=now, flag="--since")
    if start >= end:
        raise UsageError(
            f"the window is empty: --since {start:%Y-%m-%dT%H:%M:%SZ} is not before "
            f"--until {end:%Y-%m-%dT%H:%M:%SZ}"
        )
    return Window(start=start, end=end)


def parse_range(text: str, *, now: datetime | None = None) -> Window:
    """``T..T`` (``--baseline-window``) → a window."""
    first, sep, second = text.partition("..")
    if not sep:
        raise UsageError(f"--baseline-window {text!r}: expected START..END")
    return parse_window(first or None, second or None, now=now)
