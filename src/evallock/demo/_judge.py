"""The demo judge: a deterministic LLM judge that grades by content-word recall.

The judge grader sends a system message asking for a 1–5 JSON verdict and a
user message made of tagged blocks, each tag on its own line::

    <rubric>
    …
    </rubric>
    <question>
    …
    </question>
    <reference>          (optional)
    …
    </reference>
    <answer>
    …
    </answer>

Closing tags inside block content arrive escaped as ``<\\/answer>``. Pairwise
requests carry ``<answer_a>`` and ``<answer_b>`` instead of ``<answer>`` and get
``{"winner": "A"|"B"|"tie", "reason": …}`` back.

Scoring: with a reference, the share of the reference's content words found in
the answer (5 from 0.8, 4 from 0.6, 3 from 0.4, 2 from 0.2, else 1). Without
one (drift judging of production traces) the reference is the knowledge base's
answer to the question (to its last user turn when the question is a
conversation, else to the whole conversation), and an empty or "I'm not sure" answer scores 2. The
reply is wrapped three ways (plain JSON, a fenced block, JSON after a sentence)
chosen by a hash of the request, so parsers meet all three. Markers in the
answer test the parser further: ``[[judge:garbage]]`` gets prose with no
verdict, ``[[judge:out-of-range]]`` gets score 7 (pairwise: winner ``"C"``).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

import orjson

from evallock.demo._knowledge import knowledge_answer
from evallock.demo._policy import strip_markers

__all__ = ["GARBAGE_REPLY", "JudgeBlocks", "answer_judge", "parse_blocks", "recall_score"]

GARBAGE_REPLY = (
    "Honestly the answer reads well enough to me overall, "
    "though I would rather not put a number on it."
)
"""The reply to ``[[judge:garbage]]``: no JSON, no digits, nothing a parser can use."""

_BLOCK = re.compile(
    r"<(rubric|system_prompt|question|reference|answer|answer_a|answer_b)>\n?(.*?)\n?</\1>",
    re.DOTALL,
)
_SEED_FORM = re.compile(r"USER ASKED:\s*(.*?)\s*ASSISTANT REPLIED:\s*(.*)", re.DOTALL)
_WORD = re.compile(r"[a-z0-9]+")
_STOPWORD_TEXT = """
a an the is are was were be been am to of and or in on at for with by as from it its
this that these those i me my we our you your yours he she they them their there here
do does did can could will would shall should may might must have has had so if then
than any all yes no not just also very please
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_NOT_SURE = ("i'm not sure", "i am not sure", "not sure")


@dataclass(frozen=True, kw_only=True, slots=True)
class JudgeBlocks:
    """The tagged blocks of a judge request, unescaped; absent blocks are None."""

    rubric: str | None = None
    system_prompt: str | None = None
    question: str | None = None
    reference: str | None = None
    answer: str | None = None
    answer_a: str | None = None
    answer_b: str | None = None


def parse_blocks(content: str) -> JudgeBlocks:
    r"""Read the tagged blocks of a judge request (the first of each tag counts).

    >>> parse_blocks("<question>\nhi\n</question>\n<answer>\na <\\/answer> b\n</answer>").answer
    'a </answer> b'
    """
    found: dict[str, str] = {}
    for match in _BLOCK.finditer(content):
        found.setdefault(match.group(1), match.group(2).replace("<\\/", "</"))
    if not found:
        seed = _SEED_FORM.search(content)
        if seed:
            found = {"question": seed.group(1), "answer": seed.group(2)}
    return JudgeBlocks(**found)


def _content_words(text: str) -> set[str]:
    return {word for word in _WORD.findall(text.lower()) if word not in _STOPWORDS}


def recall_score(reference: str, answer: str) -> tuple[int, float]:
    """The 1–5 score and the recall of the reference's content words in the answer.

    >>> recall_score("Refunded within 5 business days.", "It is refunded within 5 business days")
    (5, 1.0)
    >>> recall_score("Refunded within 5 business days.", "Refunds take 30 days")
    (2, 0.2)
    """
    wanted = _content_words(reference)
    if not wanted:
        return 3, 0.0
    recall = len(wanted & _content_words(answer)) / len(wanted)
    for score, floor in ((5, 0.8), (4, 0.6), (3, 0.4), (2, 0.2)):
        if recall >= floor:
            return score, recall
    return 1, recall


def _last_turn(question: str) -> str:
    """The user's last message when the question is a conversation (``role: text`` lines,
    as the judge is shown one): the final answer answers it. Else the question.

    >>> _last_turn("user: Where is R1041?\\nassistant: It shipped.\\nuser: Refund?")
    'Refund?'
    """
    turns = [line[len("user: ") :] for line in question.splitlines() if line.startswith("user: ")]
    if len(turns) > 1 or (turns and "\nassistant: " in question):
        return turns[-1]
    return question


def _score_answer(blocks: JudgeBlocks, answer: str) -> tuple[int, str]:
    """Score one answer: against the reference, else against the knowledge base."""
    text = strip_markers(answer).strip()
    if blocks.reference is not None and blocks.reference.strip():
        score, recall = recall_score(blocks.reference, text)
        return score, f"covers {recall:.0%} of the reference answer's content words"
    if not text:
        return 2, "the answer is empty"
    if any(phrase in text.lower() for phrase in _NOT_SURE):
        return 2, "the answer does not address the question and defers to a human"
    question = blocks.question or ""
    known = knowledge_answer(_last_turn(question)) or knowledge_answer(question)
    if known is None:
        return 3, "no policy covers this question; the answer cannot be checked"
    score, recall = recall_score(known, text)
    return score, f"covers {recall:.0%} of the correct policy answer's content words"


def _wrap(verdict: dict[str, object], content: str) -> str:
    """Wrap the verdict one of three ways, chosen by a stable hash of the request."""
    body = orjson.dumps(verdict).decode()
    style = zlib.crc32(content.encode()) % 3
    if style == 0:
        return body
    if style == 1:
        return f"```json\n{body}\n```"
    return f"I compared the answer with the question and the rubric.\n{body}"


def answer_judge(content: str, *, position_bias: int = 0) -> str:
    """The judge's reply to one request's user message.

    Args:
        content: the last user message (the tagged blocks).
        position_bias: points added to answer A before a pairwise comparison;
            0 (the default) is an unbiased judge.

    Returns:
        The reply text: a wrapped JSON verdict, or prose for ``[[judge:garbage]]``.
    """
    blocks = parse_blocks(content)
    answers = [blocks.answer] if blocks.answer_a is None else [blocks.answer_a, blocks.answer_b]
    if any(a is not None and "[[judge:garbage]]" in a for a in answers):
        return GARBAGE_REPLY
    out_of_range = any(a is not None and "[[judge:out-of-range]]" in a for a in answers)
    verdict: dict[str, object]
    if blocks.answer_a is not None or blocks.answer_b is not None:
        score_a, _ = _score_answer(blocks, blocks.answer_a or "")
        score_b, _ = _score_answer(blocks, blocks.answer_b or "")
        biased_a = score_a + position_bias
        winner = "A" if biased_a > score_b else "B" if score_b > biased_a else "tie"
        winner = "C" if out_of_range else winner
        verdict = {"winner": winner, "reason": f"answer A scores {score_a}, answer B {score_b}"}
    elif blocks.answer is None:
        verdict = {"score": 1, "reason": "the request has no <answer> block to grade"}
    else:
        score, reason = _score_answer(blocks, blocks.answer)
        verdict = {"score": 7 if out_of_range else score, "reason": reason}
    return _wrap(verdict, content)
