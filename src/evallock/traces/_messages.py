"""Chat messages: every dialect's message shapes turned into OpenAI-style messages and text.

A trace summary keeps the input messages as ``{"role", "content"}`` dicts (the
shape the recording proxy sees) and two texts: the last user message and the
answer. The OTel GenAI ``parts`` form, OpenAI content-part lists and plain strings
all end here; what is not text (tool calls, images) is kept beside the text.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, fields
from typing import Any

import orjson

from evallock.records import Message

__all__ = [
    "MAX_COUNT",
    "Content",
    "count_of",
    "finite",
    "json_value",
    "last_user_text",
    "message_text",
    "messages_from_genai",
    "plain_json",
    "text_of",
]

MAX_COUNT = 2**31 - 1
"""The largest token count a trace keeps (the store's integer columns are 32-bit on PostgreSQL)."""


@dataclass(slots=True)
class Content:
    """What one dialect read off a span: the parts of a trace summary it can fill."""

    messages: list[Message] | None = None
    input: str | None = None
    output: str | None = None
    model: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost: float | None = None
    ttft_ms: float | None = None

    def fill(self, other: Content) -> None:
        """Take ``other``'s value for every field that is still None here."""
        for f in fields(self):
            if getattr(self, f.name) is None:
                setattr(self, f.name, getattr(other, f.name))


def count_of(value: Any) -> int | None:
    """A token count: a whole number in ``[0, MAX_COUNT]``, else None (unknown, never 0)."""
    if isinstance(value, bool):
        return None
    if (isinstance(value, float) and value.is_integer()) or (
        isinstance(value, str) and value.strip().isdecimal()
    ):
        value = int(value)
    if isinstance(value, int) and 0 <= value <= MAX_COUNT:
        return value
    return None


def finite(value: Any) -> float | None:
    """A finite number as float, else None (NaN and infinities mean nothing here)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
        return number if math.isfinite(number) else None
    return None


def plain_json(value: Any) -> Any:
    """A value any JSON encoder takes: bytes as base64, non-finite floats as None,
    lone surrogates (which a lenient JSON parser lets through) replaced."""
    if isinstance(value, str):
        if value.isascii():
            return value
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "replace").decode("utf-8")
        return value
    if isinstance(value, dict):
        return {plain_json(str(k)): plain_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_json(item) for item in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def json_value(value: Any) -> Any:
    """A JSON string parsed (structured values pass through); None when it is not JSON."""
    if isinstance(value, str | bytes):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return None
    return value


def text_of(content: Any) -> str | None:
    """The text in a message content: a string, or the text parts of a part list."""
    if content is None:
        return None
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [t for t in (_part_text(part) for part in content) if t is not None]
        return "\n".join(texts) if texts else None
    if isinstance(content, dict):
        return _part_text(content)
    return str(content)


def _part_text(part: Any) -> str | None:
    if isinstance(part, str):
        return part
    if not isinstance(part, dict):
        return None
    kind = part.get("type", "text")
    if kind not in ("text", "input_text", "output_text"):
        return None
    text = part.get("text", part.get("content"))
    return text if isinstance(text, str) else None


def message_text(message: Message) -> str | None:
    """The text of one message."""
    return text_of(message.get("content"))


def last_user_text(messages: list[Message]) -> str | None:
    """The text of the last user message (of the last message when no role is ``user``)."""
    for message in reversed(messages):
        if message.get("role") == "user":
            return message_text(message)
    return message_text(messages[-1]) if messages else None


def _tool_call(part: dict[str, Any]) -> dict[str, Any]:
    arguments = part.get("arguments")
    if not isinstance(arguments, str):
        arguments = orjson.dumps(arguments).decode() if arguments is not None else ""
    call: dict[str, Any] = {
        "type": "function",
        "function": {"name": part.get("name"), "arguments": arguments},
    }
    if part.get("id") is not None:
        call["id"] = part["id"]
    return call


def _genai_message(node: Any) -> Message | None:
    if not isinstance(node, dict):
        return None
    parts = node.get("parts")
    if not isinstance(parts, list):
        # Not the parts form: an OpenAI-style message already (some emitters send those).
        content = node.get("content")
        return {"role": str(node.get("role") or "user"), "content": content}
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    other: list[Any] = []
    message: Message = {"role": str(node.get("role") or "user")}
    for part in parts:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("content"), str):
            texts.append(part["content"])
        elif kind == "tool_call":
            calls.append(_tool_call(part))
        elif kind == "tool_call_response":
            message["tool_call_id"] = part.get("id")
            response = part.get("response")
            texts.append(response if isinstance(response, str) else orjson.dumps(response).decode())
        else:
            other.append(part)
    message["content"] = "\n".join(texts) if texts else None
    if calls:
        message["tool_calls"] = calls
    if other:
        message["parts"] = other
    if isinstance(node.get("name"), str):
        message["name"] = node["name"]
    return message


def messages_from_genai(value: Any) -> list[Message] | None:
    """OTel GenAI ``gen_ai.input.messages``/``output.messages`` (JSON text or structured)."""
    data = json_value(value)
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        return None
    messages = [m for m in (_genai_message(node) for node in data) if m is not None]
    return messages or None
