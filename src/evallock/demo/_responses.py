"""The fake service's Responses API (``POST /v1/responses``): request to chat, answer to events.

A request's ``instructions`` and ``input`` are read into the chat messages the demo
models answer (its ``function_call`` / ``function_call_output`` items as the
assistant's tool calls and the tools' answers), so both APIs answer alike. The
answer is a ``response`` object, or its event stream: ``response.created``, the
output item with its text deltas (or function-call argument deltas), and
``response.completed`` with the whole response and its ``usage`` (interop §4).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import orjson

from evallock.demo._bot import message_text
from evallock.demo._completion import count_tokens
from evallock.demo._request import Reject, model_request

__all__ = ["chat_messages", "parse_responses_request", "response_body", "response_events"]


def parse_responses_request(body: bytes) -> dict[str, Any]:
    """Parse a Responses request; bad JSON, no model or no input are 400s."""
    request = model_request(body)
    given = request.get("input")
    if not (isinstance(given, str) and given) and not (isinstance(given, list) and given):
        raise Reject(400, "'input' must be a non-empty string or array.", param="input")
    return request


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return message_text({"content": content})


def chat_messages(request: dict[str, Any]) -> list[dict[str, Any]]:
    """The request's conversation as chat messages."""
    messages: list[dict[str, Any]] = []
    if isinstance(request.get("instructions"), str):
        messages.append({"role": "system", "content": request["instructions"]})
    given = request["input"]
    if isinstance(given, str):
        return [*messages, {"role": "user", "content": given}]
    for item in given:
        if not isinstance(item, dict):
            continue
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role", "user")
            messages.append({"role": role, "content": _text(item.get("content"))})
        elif kind == "function_call":
            function = {"name": item.get("name"), "arguments": item.get("arguments", "")}
            call = {"id": item.get("call_id"), "type": "function", "function": function}
            messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            output = _text(item.get("output"))
            messages.append(
                {"role": "tool", "tool_call_id": item.get("call_id"), "content": output}
            )
    return messages


def _output(response_id: str, content: str, call: dict[str, Any] | None) -> list[dict[str, Any]]:
    if call is not None:
        return [
            {
                "type": "function_call",
                "id": "fc_" + response_id.removeprefix("resp_"),
                "call_id": call["id"],
                "name": call["name"],
                "arguments": call["arguments"],
                "status": "completed",
            }
        ]
    text = {"type": "output_text", "text": content, "annotations": [], "logprobs": []}
    return [
        {
            "type": "message",
            "id": "msg_" + response_id.removeprefix("resp_"),
            "status": "completed",
            "role": "assistant",
            "content": [text],
        }
    ]


def response_body(
    request: dict[str, Any],
    *,
    response_id: str,
    content: str,
    call: dict[str, Any] | None,
    input_tokens: int,
    incomplete: bool = False,
) -> dict[str, Any]:
    """A whole ``response`` object."""
    output_tokens = count_tokens(call["arguments"] if call else content)
    return {
        "id": response_id,
        "object": "response",
        "created_at": int(time.time()),
        "status": "incomplete" if incomplete else "completed",
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
        "instructions": request.get("instructions"),
        "model": request["model"],
        "output": _output(response_id, content, call),
        "parallel_tool_calls": True,
        "tool_choice": request.get("tool_choice", "auto"),
        "tools": request.get("tools", []),
        "temperature": 1.0,
        "top_p": 1.0,
        "text": {"format": {"type": "text"}},
        "usage": {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input_tokens + output_tokens,
        },
    }


def _event(kind: str, number: int, **fields: Any) -> bytes:
    data = orjson.dumps({"type": kind, "sequence_number": number, **fields})
    return b"event: " + kind.encode() + b"\ndata: " + data + b"\n\n"


def response_events(whole: dict[str, Any]) -> Iterator[bytes]:
    """The event stream of a response (``whole``, as :func:`response_body` made it)."""
    numbers = iter(range(1_000_000))
    started = {**whole, "status": "in_progress", "output": [], "usage": None}
    yield _event("response.created", next(numbers), response=started)
    yield _event("response.in_progress", next(numbers), response=started)
    for index, item in enumerate(whole["output"]):
        if item["type"] == "function_call":
            empty = {**item, "arguments": "", "status": "in_progress"}
            yield _event(
                "response.output_item.added", next(numbers), output_index=index, item=empty
            )
            arguments = item["arguments"]
            half = len(arguments) // 2
            for piece in (arguments[:half], arguments[half:]):
                yield _event(
                    "response.function_call_arguments.delta",
                    next(numbers),
                    item_id=item["id"],
                    output_index=index,
                    delta=piece,
                )
            yield _event(
                "response.function_call_arguments.done",
                next(numbers),
                item_id=item["id"],
                output_index=index,
                arguments=arguments,
            )
        else:
            empty = {**item, "status": "in_progress", "content": []}
            yield _event(
                "response.output_item.added", next(numbers), output_index=index, item=empty
            )
            part = item["content"][0]
            blank = {**part, "text": ""}
            where = {"item_id": item["id"], "output_index": index, "content_index": 0}
            yield _event("response.content_part.added", next(numbers), **where, part=blank)
            for piece in _pieces(part["text"]):
                yield _event(
                    "response.output_text.delta", next(numbers), **where, delta=piece, logprobs=[]
                )
            yield _event(
                "response.output_text.done", next(numbers), **where, text=part["text"], logprobs=[]
            )
            yield _event("response.content_part.done", next(numbers), **where, part=part)
        yield _event("response.output_item.done", next(numbers), output_index=index, item=item)
    final = "response.incomplete" if whole["status"] == "incomplete" else "response.completed"
    yield _event(final, next(numbers), response=whole)


def _pieces(text: str) -> list[str]:
    words = text.split(" ")
    return [word if i == 0 else " " + word for i, word in enumerate(words)]
