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

from evallock.limits import MAX_DEPTH, MAX_NUMBER, check_depth
from evallock.records import Message, ToolCall

__all__ = [
    "MAX_COUNT",
    "Content",
    "count_of",
    "finite",
    "json_value",
    "last_user_text",
    "list_index",
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
    tool_calls: list[ToolCall] | None = None
    """The tool calls in the answer (None when the dialect saw none)."""
    tools: list[dict[str, Any]] | None = None
    """The tool definitions the request offered (None when the dialect saw none)."""

    def fill(self, other: Content) -> None:
        """Take ``other``'s value for every field that is still None here."""
        for f in fields(self):
            if getattr(self, f.name) is None:
                setattr(self, f.name, getattr(other, f.name))


def count_of(value: Any) -> int | None:
    """A token count: a whole number in ``[0, MAX_COUNT]``, else None (unknown, never 0).

    >>> count_of("12"), count_of(2**80), count_of("9" * 5000)
    (12, None, None)
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, str):
        text = value.strip()
        # Longer than MAX_COUNT anyway; int() of 4,301 digits would be a ValueError.
        if not (text.isascii() and text.isdecimal() and len(text) <= 12):
            return None
        value = int(text)
    if isinstance(value, int) and 0 <= value <= MAX_COUNT:
        return value
    return None


def list_index(text: str) -> int | None:
    """The index in a flattened attribute name (``llm.input_messages.<i>.…``), else None.

    >>> list_index("3"), list_index("²"), list_index("9" * 5000)
    (3, None, None)
    """
    # isdigit() alone takes "²", which int() refuses; a list that long never arrives.
    if text.isascii() and text.isdigit() and len(text) <= 9:
        return int(text)
    return None


def finite(value: Any, *, scale: float = 1.0) -> float | None:
    """A number (times ``scale``) as a float in ``[-1e300, 1e300]``, else None.

    NaN, infinities and 10**400 mean nothing here; the bound is what
    :func:`evallock.limits.check_finite` lets a trace store.

    >>> finite(0.5), finite(float("nan")), finite(10**400), finite(1e299, scale=1000)
    (0.5, None, None, None)
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            number = float(value) * scale
        except OverflowError:
            return None
        return number if math.isfinite(number) and abs(number) <= MAX_NUMBER else None
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


def json_value(value: Any, field: str) -> Any:
    """A JSON string parsed (structured values pass through); None when it is not JSON.

    Raises:
        FieldLimitError: the JSON is nested deeper than ``MAX_DEPTH`` (``field`` names it).
    """
    if isinstance(value, str | bytes):
        try:
            data = orjson.loads(value)
        except orjson.JSONDecodeError:
            return None
        # Fewer brackets than the limit cannot nest deeper: skip the walk (the common case).
        if isinstance(data, dict | list) and _brackets(value) > MAX_DEPTH:
            check_depth(field, data)
        return data
    return value


def _brackets(text: str | bytes) -> int:
    if isinstance(text, str):
        return text.count("[") + text.count("{")
    return text.count(b"[") + text.count(b"{")


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


def _json_text(value: Any) -> str:
    """Compact JSON of a structured value (bytes as base64, as ``plain_json`` has them)."""
    return orjson.dumps(plain_json(value)).decode()


def _tool_call(part: dict[str, Any]) -> dict[str, Any]:
    arguments = part.get("arguments")
    if not isinstance(arguments, str):
        arguments = _json_text(arguments) if arguments is not None else ""
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
            texts.append(response if isinstance(response, str) else _json_text(response))
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


def messages_from_genai(value: Any, field: str) -> list[Message] | None:
    """OTel GenAI ``gen_ai.input.messages``/``output.messages`` (JSON text or structured).

    Raises:
        FieldLimitError: JSON text nested deeper than ``MAX_DEPTH`` (``field`` names it).
    """
    data = json_value(value, field)
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        return None
    messages = [m for m in (_genai_message(node) for node in data) if m is not None]
    return messages or None
