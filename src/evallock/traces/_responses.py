"""The OpenAI Responses API (``POST /v1/responses``) in the shapes a trace keeps.

A request's ``instructions`` and ``input`` (a string, or a list of items: messages
whose content is a string or ``input_text`` parts, ``function_call`` items the
model made earlier and ``function_call_output`` items answering them) become chat
messages (interop §4). An answer's ``output`` items give the text (its
``output_text`` parts) and the tool calls (its ``function_call`` items); ``usage``
counts ``input_tokens`` / ``output_tokens``; a failed response has an ``error``
(an ``incomplete`` one was cut short, like a chat answer's ``length``: not an error).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from evallock.records import Message, ToolCall
from evallock.traces._messages import plain_json, text_of
from evallock.traces._tools import tool_call

__all__ = ["ResponsesAnswer", "responses_answer", "responses_messages"]


def _item_message(item: Mapping[str, Any]) -> Message | None:
    kind = item.get("type", "message")
    if kind == "message" and isinstance(item.get("role"), str):
        content = item.get("content")
        text = content if isinstance(content, str) else text_of(content)
        return {"role": item["role"], "content": text}
    if kind == "function_call":
        call = tool_call(item)
        if call is None:
            return None
        function = {"name": call.name, "arguments": call.arguments}
        return {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": call.id, "type": "function", "function": function}],
        }
    if kind == "function_call_output":
        output = item.get("output")
        text = output if isinstance(output, str) else text_of(output)
        return {"role": "tool", "tool_call_id": item.get("call_id"), "content": text}
    return None


def responses_messages(request: Mapping[str, Any]) -> list[Message] | None:
    """A Responses request's conversation as chat messages (None when it has none).

    >>> responses_messages({"instructions": "Be brief.", "input": "Refund?"})
    [{'role': 'system', 'content': 'Be brief.'}, {'role': 'user', 'content': 'Refund?'}]
    """
    messages: list[Message] = []
    instructions = request.get("instructions")
    if isinstance(instructions, str) and instructions:
        messages.append({"role": "system", "content": instructions})
    given = request.get("input")
    if isinstance(given, str):
        messages.append({"role": "user", "content": given})
    elif isinstance(given, list):
        for item in given:
            if isinstance(item, Mapping) and (message := _item_message(item)) is not None:
                messages.append(message)
    return plain_json(messages) if messages else None


@dataclass(slots=True)
class ResponsesAnswer:
    """What a response object says: its text, tool calls, model, usage and error."""

    text: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    model: str | None = None
    usage: dict[str, Any] | None = None
    error: str | None = None


def responses_answer(payload: Mapping[str, Any]) -> ResponsesAnswer:
    """Read a ``response`` object (a whole answer, or a stream's final event's ``response``).

    >>> answer = responses_answer({"model": "m", "status": "completed", "output": [
    ...     {"type": "message", "content": [{"type": "output_text", "text": "Hi."}]},
    ...     {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"}]})
    >>> answer.text, [c.name for c in answer.tool_calls]
    ('Hi.', ['f'])
    """
    answer = ResponsesAnswer(
        model=payload.get("model") if isinstance(payload.get("model"), str) else None,
        usage=payload.get("usage") if isinstance(payload.get("usage"), dict) else None,
    )
    texts: list[str] = []
    output = payload.get("output")
    for item in output if isinstance(output, list) else ():
        if not isinstance(item, Mapping):
            continue
        if item.get("type") == "message":
            text = text_of(item.get("content"))
            if text is not None:
                texts.append(text)
        elif item.get("type") == "function_call" and (call := tool_call(item)) is not None:
            answer.tool_calls.append(call)
    answer.text = "".join(texts) if texts else None
    error = payload.get("error")
    if isinstance(error, Mapping) and error.get("message"):
        answer.error = f"response failed: {error['message']}"
    elif payload.get("status") == "failed":
        answer.error = "response failed"
    # "incomplete" (max_output_tokens reached …) is an answer cut short, not a failure
    return answer
