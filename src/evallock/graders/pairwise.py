"""The pairwise judge: both answers side by side, asked in both orders.

A verdict that flips when the answers swap places is position bias, not
preference: it counts as a tie, and the share of consistent verdicts is reported.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from evallock.graders._base import JudgeClient, VerdictCache
from evallock.graders.judge import escape_tags, render_question
from evallock.records import Message

__all__ = [
    "PAIRWISE_SYSTEM",
    "PairwiseParseError",
    "PairwiseVerdict",
    "build_pairwise_messages",
    "judge_pair",
    "parse_pairwise_reply",
]

Winner = Literal["A", "B", "tie"]

PAIRWISE_SYSTEM = """\
You are a strict quality judge comparing two assistant answers to the same question.
Judge them against the rubric (and the reference answer, when one is given). Ignore
which answer comes first and how long each is. Reply ONLY with a JSON object:
{"winner": "A" | "B" | "tie", "reason": "<short reason>"}"""

_JSON = re.compile(r"\{[^{}]*\}", re.DOTALL)


class PairwiseParseError(ValueError):
    """The judge's reply names no winner A, B or tie."""


@dataclass(frozen=True, kw_only=True, slots=True)
class PairwiseVerdict:
    """The outcome of one case judged in both orders."""

    winner: Winner
    """``B`` or ``A`` when both orders agree, else ``tie``."""
    consistent: bool
    """True when the two orders gave the same verdict (ties included)."""
    first: Winner
    """The verdict with A shown first."""
    second: Winner
    """The verdict with B shown first, mapped back to A/B."""

    @property
    def value(self) -> float:
        """+1 when B wins, −1 when A wins, 0 for a tie or a flip."""
        return {"B": 1.0, "A": -1.0, "tie": 0.0}[self.winner]


def build_pairwise_messages(
    *, rubric: str, question: Any, first: str, second: str, reference: str | None
) -> list[Message]:
    """The judge messages with ``first`` as answer A and ``second`` as answer B."""
    parts = [
        f"<rubric>\n{escape_tags(rubric)}\n</rubric>",
        f"<question>\n{escape_tags(render_question(question))}\n</question>",
    ]
    if reference is not None:
        parts.append(f"<reference>\n{escape_tags(reference)}\n</reference>")
    parts.append(f"<answer_a>\n{escape_tags(first)}\n</answer_a>")
    parts.append(f"<answer_b>\n{escape_tags(second)}\n</answer_b>")
    return [
        {"role": "system", "content": PAIRWISE_SYSTEM},
        {"role": "user", "content": "\n".join(parts)},
    ]


def parse_pairwise_reply(text: str) -> Winner:
    """The winner named in a reply (plain, fenced or in prose).

    Raises:
        PairwiseParseError: no JSON object with a winner of A, B or tie.
    """
    for match in _JSON.finditer(text):
        try:
            data = orjson.loads(match.group(0))
        except orjson.JSONDecodeError:
            continue
        winner = str(data.get("winner", "")).strip() if isinstance(data, dict) else ""
        if winner.upper() in {"A", "B"}:
            return "A" if winner.upper() == "A" else "B"
        if winner.lower() == "tie":
            return "tie"
        if winner:
            raise PairwiseParseError(f"winner {winner!r} is not A, B or tie")
    raise PairwiseParseError(f"no JSON verdict in the reply: {text[:120]!r}")


async def judge_pair(
    *,
    client: JudgeClient,
    rubric: str,
    question: Any,
    answer_a: str,
    answer_b: str,
    reference: str | None = None,
    cache: VerdictCache | None = None,
) -> PairwiseVerdict:
    """Ask the judge with A first, then with B first; a flip is a tie.

    Raises:
        PairwiseParseError: a reply could not be parsed (a judge error on the case).
        JudgeError: the judge stayed unreachable.
    """

    async def ask(first: str, second: str) -> Winner:
        messages = build_pairwise_messages(
            rubric=rubric, question=question, first=first, second=second, reference=reference
        )
        key = (
            "pairwise:"
            + hashlib.sha256(
                orjson.dumps([client.model, messages], option=orjson.OPT_SORT_KEYS)
            ).hexdigest()
        )
        cached = cache.get(key) if cache is not None else None
        if cached is not None and cached.get("winner") in {"A", "B", "tie"}:
            return cached["winner"]  # type: ignore[no-any-return]
        winner = parse_pairwise_reply(await client.ask(messages))
        if cache is not None:
            cache.put(key, {"winner": winner})
        return winner

    first = await ask(answer_a, answer_b)
    swapped = await ask(answer_b, answer_a)
    second: Winner = {"A": "B", "B": "A", "tie": "tie"}[swapped]  # type: ignore[assignment]
    consistent = first == second
    return PairwiseVerdict(
        winner=first if consistent else "tie", consistent=consistent, first=first, second=second
    )
