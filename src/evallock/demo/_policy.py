"""Policy lines: the ``- [keywords] answer`` format the demo bot and judge read.

A support prompt lists its policy one line at a time::

    - [refund, charged twice, duplicate] Duplicate charges are refunded within 5 business days.

The bracketed keywords say which questions a line answers; the rest of the line
is the answer. :func:`best_line` picks the line whose keywords best match a
question: every keyword found as a whole phrase in the question scores its
number of words (so ``charged twice`` outweighs ``refund``), and a tie goes to
the line written first. The same rule serves the bot (which answers from the
prompt it is sent) and the judge (which looks questions up in the bundled
knowledge base), so both stay deterministic.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

__all__ = ["Policy", "PolicyLine", "best_line", "normalise", "parse_policy", "strip_markers"]

_LINE = re.compile(r"^\s*[-*]\s*\[([^\]]+)\]\s*(\S.*?)\s*$", re.MULTILINE)
_GREETING = re.compile(r"^\s*greeting:\s*(\S.*?)\s*$", re.MULTILINE | re.IGNORECASE)
_NON_WORD = re.compile(r"[^a-z0-9]+")
_MARKER = re.compile(r"\[\[[^\[\]]*\]\]")


@dataclass(frozen=True, kw_only=True, slots=True)
class PolicyLine:
    """One policy line: the phrases that select it and the answer it gives."""

    keywords: tuple[str, ...]
    """Normalised keyword phrases, each padded with one space on both sides."""
    weights: tuple[int, ...]
    """Words per keyword phrase: what a match of that phrase scores."""
    answer: str
    """The answer text, as written in the prompt."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Policy:
    """Everything the bot reads from a system prompt."""

    lines: tuple[PolicyLine, ...]
    """Policy lines in prompt order (the order breaks ties)."""
    greeting: str | None = None
    """Text put before every answer, from a ``Greeting: …`` line."""


def normalise(text: str) -> str:
    """Lower-case words separated by single spaces, padded by a space on both sides.

    Padding makes ``" phrase " in normalised`` a whole-phrase test.

    >>> normalise("Charged TWICE, really?!")
    ' charged twice really '
    """
    return f" {' '.join(_NON_WORD.sub(' ', text.lower()).split())} "


def strip_markers(text: str) -> str:
    """Remove ``[[…]]`` fault-injection markers from a message.

    >>> strip_markers("Where is my order? [[sleep:50]]")
    'Where is my order? '
    """
    return _MARKER.sub("", text) if "[[" in text else text


@functools.lru_cache(maxsize=512)
def parse_policy(prompt: str) -> Policy:
    """Read the policy lines and the greeting of a prompt; other lines are ignored.

    Cached: a run sends the same rendered prompt many times.

    >>> policy = parse_policy("Be kind.\\n- [refund, money back] Refunds take 5 days.")
    >>> policy.lines[0].answer, policy.lines[0].weights
    ('Refunds take 5 days.', (1, 2))
    """
    lines: list[PolicyLine] = []
    for match in _LINE.finditer(prompt):
        phrases = [normalise(part) for part in match.group(1).split(",")]
        phrases = [phrase for phrase in phrases if phrase.strip()]
        if not phrases:
            continue
        lines.append(
            PolicyLine(
                keywords=tuple(phrases),
                weights=tuple(len(phrase.split()) for phrase in phrases),
                answer=match.group(2),
            )
        )
    greeting = _GREETING.search(prompt)
    return Policy(lines=tuple(lines), greeting=greeting.group(1) if greeting else None)


def best_line(lines: tuple[PolicyLine, ...], question: str) -> PolicyLine | None:
    """The line whose keywords best match ``question``; None when no keyword matches.

    Args:
        lines: candidate lines, in priority order for ties.
        question: the user's message (markers are ignored).

    >>> policy = parse_policy("- [refund] A.\\n- [charged twice, refund] B.\\n- [refund] C.")
    >>> best_line(policy.lines, "I was charged twice, refund please").answer
    'B.'
    >>> best_line(policy.lines, "refund?").answer
    'A.'
    >>> best_line(policy.lines, "hello") is None
    True
    """
    text = normalise(strip_markers(question))
    best: PolicyLine | None = None
    best_score = 0
    for line in lines:
        score = 0
        for phrase, weight in zip(line.keywords, line.weights, strict=True):
            if phrase in text:
                score += weight
        if score > best_score:
            best, best_score = line, score
    return best
