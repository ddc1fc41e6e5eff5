"""Time windows: ``--since 1d --until now`` or ISO 8601 instants, always UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from evallock.errors import UsageError
from evallock.times import parse_duration, parse_time

__all__ = ["Window", "parse_duration", "parse_instant", "parse_window"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Window:
    """A half-open time window ``[start, end)`` in UTC."""

    start: datetime
    """Inclusive start."""
    end: datetime
    """Exclusive end."""

    def __str__(self) -> str:
        return f"{self.start:%Y-%m-%dT%H:%M:%SZ}..{self.end:%Y-%m-%dT%H:%M:%SZ}"


def parse_instant(text: str, *, now: datetime, flag: str) -> datetime:
    """An ISO 8601 instant (UTC when no offset), ``now``, or a duration back from ``now``.

    Raises:
        UsageError: neither form, naming the flag.
    """
    try:
        return parse_time(text, now=now)
    except ValueError as exc:
        raise UsageError(f"{flag} {exc}") from None


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
