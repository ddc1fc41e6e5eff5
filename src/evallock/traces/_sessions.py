"""A session's traces put back together as one conversation (chat messages, oldest first).

Clients record a conversation two ways, and both are read:

* **the whole history with each request** (the chat completions habit): a trace's
  messages repeat every earlier turn, so a trace whose user messages extend the
  conversation's so far (or repeat them in at least as many messages: a tool round)
  replaces it with its own messages;
* **one turn a request** (the Responses API with ``previous_response_id``, or spans of
  one request each): a trace's messages are only what is new, so they are added, less
  a repeat of the last user message (a request that only returns tool results asks
  the same turn again).

After each trace comes its answer: an assistant message with its text and its tool
calls, and a ``tool`` message for each call whose result the trace holds (a tool
span's) and the next request does not repeat. The app's system and developer
messages are left out: they are the app's, not the conversation's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evallock.records import Message, Trace
from evallock.traces._messages import message_text

__all__ = ["session_transcript", "user_texts"]

_INSTRUCTIONS = ("system", "developer")


def user_texts(messages: Sequence[Message]) -> list[str]:
    """The text of each user message, in order (empty ones left out)."""
    texts = []
    for message in messages:
        if isinstance(message, dict) and message.get("role") == "user":
            text = message_text(message)
            if text and text.strip():
                texts.append(text)
    return texts


def _said(trace: Trace) -> list[Message]:
    """What the trace's request sent of the conversation (its input as a user message
    when it recorded no messages)."""
    messages = [
        m
        for m in trace.messages or ()
        if isinstance(m, dict) and m.get("role") not in _INSTRUCTIONS
    ]
    if not messages and trace.input and trace.input.strip():
        messages = [{"role": "user", "content": trace.input}]
    return messages


def _answer(trace: Trace) -> list[Message]:
    """The trace's answer: its text and tool calls, and the results it holds (a call
    without an id gets one made of the trace's, so calls of two traces never meet)."""
    if trace.output is None and not trace.tool_calls:
        return []
    ids = [call.id or f"{trace.trace_id}-{index}" for index, call in enumerate(trace.tool_calls)]
    answer: dict[str, Any] = {"role": "assistant", "content": trace.output}
    if trace.tool_calls:
        answer["tool_calls"] = [
            {
                "id": ident,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for ident, call in zip(ids, trace.tool_calls, strict=True)
        ]
    said: list[Message] = [answer]
    for ident, call in zip(ids, trace.tool_calls, strict=True):
        if call.result is not None:
            said.append({"role": "tool", "tool_call_id": ident, "content": call.result})
    return said


def session_transcript(traces: Sequence[Trace]) -> list[Message]:
    """The session's conversation from its traces (oldest first), each answer after the
    request it answers; the last message is the last answer (when the last trace has one).
    """
    transcript: list[Message] = []
    for trace in traces:
        said = _said(trace)
        before, now = user_texts(transcript), user_texts(said)
        extends = len(now) >= len(before) and now[: len(before)] == before
        if extends and (len(now) > max(len(before), 1) or len(said) >= len(transcript)):
            transcript = list(said)  # the client resent the whole history
        else:
            last = before[-1] if before else None
            fresh = [
                m
                for m in said
                if not (m.get("role") == "user" and message_text(m) == last and last is not None)
            ]
            known = {m.get("tool_call_id") for m in transcript if m.get("role") == "tool"}
            transcript += [
                m for m in fresh if not (m.get("role") == "tool" and m.get("tool_call_id") in known)
            ]
        known = {m.get("tool_call_id") for m in transcript if m.get("role") == "tool"}
        transcript += [
            m
            for m in _answer(trace)
            if not (m.get("role") == "tool" and m.get("tool_call_id") in known)
        ]
    return transcript
