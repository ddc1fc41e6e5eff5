"""Bounded patterns: regular expressions from case files, matched against answers.

Both sides are hostile: a case file may carry a pattern that backtracks
exponentially (``(a|aa)+$``) and a target may answer with the text that makes
it do so. The stdlib :mod:`re` cannot be interrupted, so a single such search
would hold the event loop, and the run, for hours. Patterns here are compiled
with the `regex <https://pypi.org/project/regex/>`_ package, whose searches
take a ``timeout``; a search that runs out of time raises
:class:`PatternTimeout`, which graders turn into a grader error on the case.
A pattern longer than :data:`MAX_PATTERN` characters is refused when the case
file is loaded.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "MAX_PATTERN",
    "PATTERN_TIMEOUT",
    "BoundedPattern",
    "PatternTimeout",
    "compile_pattern",
]

MAX_PATTERN = 1_000
"""Longest pattern accepted, in characters."""
PATTERN_TIMEOUT = 1.0
"""Seconds one search (or one grade's searches together) may take."""


class PatternTimeout(Exception):
    """A search ran out of time: the pattern backtracks too much on this text."""


@dataclass(frozen=True, slots=True)
class BoundedPattern:
    """A compiled pattern whose searches stop after ``timeout`` seconds."""

    source: str
    """The pattern as written."""
    _compiled: Any = field(repr=False, compare=False)
    timeout: float = PATTERN_TIMEOUT
    """Seconds a search may take."""

    def search(self, text: str, *, deadline: float | None = None) -> str | None:
        """The first match in ``text`` (its text), or None.

        Args:
            text: the text to search.
            deadline: a ``time.monotonic()`` instant the search must end by, when it
                shares a budget with other searches; else ``timeout`` from now.

        Raises:
            PatternTimeout: the search ran out of time.
        """
        budget = self.timeout if deadline is None else deadline - time.monotonic()
        if budget <= 0:
            raise self._timed_out()
        try:
            match = self._compiled.search(text, timeout=budget)
        except TimeoutError:
            raise self._timed_out() from None
        return None if match is None else str(match[0])

    def _timed_out(self) -> PatternTimeout:
        shown = self.source if len(self.source) <= 80 else self.source[:79] + "…"
        return PatternTimeout(
            f"pattern /{shown}/ gave up after {self.timeout:g} s on this answer"
            " (it backtracks too much; simplify it)"
        )


def compile_pattern(source: str, what: str, *, timeout: float = PATTERN_TIMEOUT) -> BoundedPattern:
    """Compile a pattern from a case file, refusing one too long or invalid.

    Args:
        source: the pattern.
        what: how to name it in errors, e.g. ``regex``.
        timeout: seconds each search may take.

    Raises:
        ValueError: the pattern is longer than :data:`MAX_PATTERN` or does not compile.

    >>> compile_pattern(r"\\d+ days", "regex").search("in 5 days")
    '5 days'
    """
    if len(source) > MAX_PATTERN:
        raise ValueError(
            f"{what}: the pattern has {len(source):,} characters; at most {MAX_PATTERN:,}"
        )
    shown = source if len(source) <= 80 else source[:79] + "…"
    # Imported here: only cases with a pattern need the regex package (some 6 ms).
    import regex  # type: ignore[import-untyped]

    try:
        # The stdlib's compiler first: its syntax is what users write and its messages
        # are the familiar ones; compiling is quick, only searching can run away.
        re.compile(source)
        compiled = regex.compile(source)
    except (re.error, regex.error, ValueError, OverflowError, RecursionError) as exc:
        raise ValueError(f"{what}: invalid pattern /{shown}/: {exc}") from None
    return BoundedPattern(source, compiled, timeout)
