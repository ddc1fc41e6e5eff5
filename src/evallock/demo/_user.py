"""The fake simulated user: plays the user of a conversation case deterministically.

A request whose system message is the runner's simulated-user brief
(:data:`evallock.runner.SIMULATED_USER_PROMPT`) is answered as the user would: the
goal (``Your goal: …``) lists the user's follow-ups separated by ``;``, and the
simulator's n-th turn says the n-th of them. When they are used up it says
``[[DONE]]``. Its own earlier messages arrive as ``assistant`` messages, the first
being the case's input, so the n-th turn is told apart by counting them.
"""

from __future__ import annotations

from typing import Any

from evallock.runner import DONE_MARK, SIMULATED_USER_PROMPT

__all__ = ["is_simulated_user", "simulated_user_answer"]


def _system(messages: list[Any]) -> str:
    first = messages[0] if messages else None
    content = first.get("content") if isinstance(first, dict) else None
    if isinstance(first, dict) and first.get("role") == "system" and isinstance(content, str):
        return content
    return ""


def is_simulated_user(messages: list[Any]) -> bool:
    """Whether the request asks the model to play the user."""
    return _system(messages).startswith(SIMULATED_USER_PROMPT)


def simulated_user_answer(messages: list[Any]) -> str:
    """The user's next message, or ``[[DONE]]``.

    >>> brief = {"role": "system", "content": SIMULATED_USER_PROMPT + "\\n\\nYour goal: a; b"}
    >>> said = [brief, {"role": "assistant", "content": "hi"}, {"role": "user", "content": "yes"}]
    >>> simulated_user_answer(said)
    'a'
    >>> simulated_user_answer(said + [{"role": "assistant", "content": "a"}])
    'b'
    >>> simulated_user_answer(said + [{"role": "assistant", "content": "a"}] * 2)
    '[[DONE]]'
    """
    goal = ""
    for line in _system(messages).splitlines():
        if line.startswith("Your goal:"):
            goal = line.removeprefix("Your goal:")
    steps = [step.strip() for step in goal.split(";") if step.strip()]
    said = sum(1 for m in messages if isinstance(m, dict) and m.get("role") == "assistant")
    turn = said - 1  # the first of its own messages is the case's input
    return steps[turn] if 0 <= turn < len(steps) else DONE_MARK
