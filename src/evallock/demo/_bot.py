"""The support bot: a deterministic "model" that answers from its system prompt.

The client sends a rendered prompt template as the system message; the bot
reads its policy lines (see :mod:`evallock.demo._policy`) and answers the
user's last message with the best-matching line. Change the prompt file and
the answers change, exactly as they would with a real model, only
reproducibly.
"""

from __future__ import annotations

from typing import Any

from evallock.demo._policy import best_line, parse_policy

__all__ = ["FALLBACK", "answer_support", "last_user_text", "message_text", "system_text"]

FALLBACK = "I'm not sure, let me connect you with a human."
"""What the bot says when no policy line matches the question."""


def message_text(message: Any) -> str:
    """The text of one chat message: a string content, or its text parts joined.

    >>> message_text({"role": "user", "content": [{"type": "text", "text": "hi"}]})
    'hi'
    """
    if not isinstance(message, dict):
        return ""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [
            part["text"]
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        ]
        return "\n".join(parts)
    return ""


def last_user_text(messages: list[Any]) -> str:
    """The text of the last ``user`` message, or ``""`` when there is none."""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return message_text(message)
    return ""


def system_text(messages: list[Any]) -> str:
    """Every ``system`` and ``developer`` message's text, joined by newlines."""
    return "\n".join(
        message_text(message)
        for message in messages
        if isinstance(message, dict) and message.get("role") in ("system", "developer")
    )


def answer_support(messages: list[Any]) -> str:
    """Answer the conversation from the policy lines of its system prompt.

    Args:
        messages: the request's chat messages.

    Returns:
        The best-matching policy line's text (after the prompt's greeting, if
        it has one), or :data:`FALLBACK` when nothing matches.

    >>> prompt = "Greeting: Hi!\\n- [charged twice] Refunded within 5 business days."
    >>> answer_support([{"role": "system", "content": prompt},
    ...                 {"role": "user", "content": "I was charged twice"}])
    'Hi! Refunded within 5 business days.'
    """
    policy = parse_policy(system_text(messages))
    line = best_line(policy.lines, last_user_text(messages))
    text = line.answer if line is not None else FALLBACK
    return f"{policy.greeting} {text}" if policy.greeting else text
