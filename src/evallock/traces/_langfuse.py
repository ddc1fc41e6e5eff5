"""The Langfuse dialect: what a Langfuse SDK span says about the request.

Langfuse's SDK (v3 and later) exports OpenTelemetry spans whose content sits in
``langfuse.observation.*`` attributes, each a JSON string: ``input`` (a chat
message list, or any value), ``output`` (an assistant message, a string, or any
value), ``model.name``, ``usage_details`` (``{"input": n, "output": n}``, or the
OpenAI names) and ``cost_details`` (``{"total": x}``). A ``generation`` is a model
call. Trace-level input and output (``langfuse.trace.input``/``.output``) fill in
what the observation lacks.
"""

from __future__ import annotations

from typing import Any

import orjson

from evallock.traces._messages import (
    Content,
    count_of,
    finite,
    json_value,
    last_user_text,
    message_text,
    plain_json,
    text_of,
)
from evallock.traces._spans import Span
from evallock.traces._tools import tool_calls_in

__all__ = ["is_generation", "langfuse_content"]

_PREFIX = "langfuse.observation."


def is_generation(attributes: dict[str, Any]) -> bool:
    """True for a Langfuse ``generation`` observation (a model call)."""
    return attributes.get("langfuse.observation.type") == "generation"


def langfuse_content(span: Span) -> Content:
    """What the Langfuse attributes of one span say (empty for spans of other SDKs).

    >>> from evallock.traces._spans import Span
    >>> span = Span(trace_id="t", span_id="s", parent_span_id="", name="chat", start_ns=0,
    ...     end_ns=1, resource={}, attributes={"langfuse.observation.type": "generation",
    ...                 "langfuse.observation.input": '[{"role": "user", "content": "hi"}]',
    ...                 "langfuse.observation.output": '{"role": "assistant", "content": "hello"}',
    ...                 "langfuse.observation.usage_details": '{"input": 3, "output": 2}'})
    >>> found = langfuse_content(span)
    >>> found.input, found.output, found.tokens_in, found.tokens_out
    ('hi', 'hello', 3, 2)
    """
    a = span.attributes
    if not any(key.startswith(("langfuse.observation.", "langfuse.trace.")) for key in a):
        return Content()
    model = a.get(_PREFIX + "model.name")
    usage = json_value(a.get(_PREFIX + "usage_details"), "attributes.usage_details")
    usage = usage if isinstance(usage, dict) else {}
    cost = json_value(a.get(_PREFIX + "cost_details"), "attributes.cost_details")
    content = Content(
        model=model if isinstance(model, str) else None,
        tokens_in=count_of(_first(usage, "input", "prompt_tokens", "input_tokens")),
        tokens_out=count_of(_first(usage, "output", "completion_tokens", "output_tokens")),
        cost=finite(cost.get("total")) if isinstance(cost, dict) else None,
    )
    for prefix in (_PREFIX, "langfuse.trace."):
        given = _value(a.get(prefix + "input"), f"attributes.{prefix}input")
        if content.input is None and given is not None:
            content.messages, content.input = _input(given)
        answer = _value(a.get(prefix + "output"), f"attributes.{prefix}output")
        if content.output is None and answer is not None:
            content.output = _output(answer)
            content.tool_calls = tool_calls_in(_answer_messages(answer)) or None
    return content


def _value(raw: Any, field: str) -> Any:
    """An input or output attribute: JSON as its value, other text as itself (the SDK
    writes a streamed answer as the plain text it joined)."""
    value = json_value(raw, field)
    if value is None and isinstance(raw, str) and raw:
        return raw
    return value


def _first(usage: dict[str, Any], *names: str) -> Any:
    return next((usage[name] for name in names if usage.get(name) is not None), None)


def _input(value: Any) -> tuple[list[dict[str, Any]] | None, str | None]:
    """A chat message list gives messages and the user's last text; else the value as text."""
    if isinstance(value, list) and value and all(isinstance(m, dict) for m in value):
        messages = plain_json(value)
        return messages, last_user_text(messages)
    if isinstance(value, dict) and isinstance(value.get("messages"), list):
        return _input(value["messages"])
    return None, _as_text(value)


def _output(value: Any) -> str | None:
    if isinstance(value, dict) and isinstance(value.get("choices"), list):
        # an OpenAI completion object, as an @observe'd function that returns one records it
        value = _first_message(value["choices"])
    if isinstance(value, dict) and ("content" in value or "tool_calls" in value):
        return message_text(value)
    if isinstance(value, list) and value and isinstance(value[-1], dict):
        return message_text(value[-1])
    return _as_text(value)


def _first_message(choices: list[Any]) -> dict[str, Any]:
    first = choices[0] if choices and isinstance(choices[0], dict) else {}
    message = first.get("message")
    return message if isinstance(message, dict) else {"content": first.get("text")}


def _answer_messages(value: Any) -> list[dict[str, Any]]:
    """The assistant message(s) of an output value (a message, or a list ending in one)."""
    if isinstance(value, dict) and isinstance(value.get("choices"), list):
        return [_first_message(value["choices"])]
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [m for m in value if isinstance(m, dict)]
    return []


def _as_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    text = text_of(value) if isinstance(value, list) else None
    if text is not None:
        return text
    return orjson.dumps(plain_json(value)).decode()
