"""OpenTelemetry GenAI conventions: the ``gen_ai.*`` inference span, old and new forms.

Three generations are read (interop §1): the newest puts the conversation on the
span as ``gen_ai.input.messages`` / ``gen_ai.output.messages`` (JSON text, or a
structured value); v1.28–v1.36 instrumentations (still the default of many)
send one *event* per message (``gen_ai.user.message`` … ``gen_ai.choice``), on the
span or as log records; the oldest put ``gen_ai.prompt`` / ``gen_ai.completion`` on
the span, as attributes, as ``gen_ai.content.*`` events or flattened
``gen_ai.prompt.<i>.content`` (OpenLLMetry). Usage names of every era are read too, and
openlit's ``gen_ai.usage.cost`` (0 there means "not in its price table": unknown).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from evallock.records import Message
from evallock.traces._batch import located
from evallock.traces._messages import (
    Content,
    count_of,
    finite,
    json_value,
    last_user_text,
    list_index,
    message_text,
    messages_from_genai,
    plain_json,
    text_of,
)
from evallock.traces._spans import Span
from evallock.traces._tools import tool_calls_in

__all__ = ["MESSAGE_EVENTS", "genai_content", "is_inference", "message_from_event"]

INFERENCE_OPERATIONS = frozenset({"chat", "text_completion", "generate_content", "completion"})
"""``gen_ai.operation.name`` values of a model call that produces text."""

MESSAGE_EVENTS: dict[str, str] = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
    "gen_ai.choice": "assistant",
}
"""The per-message events of v1.28–v1.36, and the role each one implies."""


def is_inference(attributes: dict[str, Any]) -> bool:
    """True for an OTel GenAI model-call span (chat, text completion …)."""
    operation = attributes.get("gen_ai.operation.name")
    if operation is not None:
        return isinstance(operation, str) and operation in INFERENCE_OPERATIONS
    # Before gen_ai.operation.name existed a model call was known by its request model.
    return "gen_ai.request.model" in attributes


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def message_from_event(name: str, attributes: dict[str, Any], body: Any) -> Message | None:
    """The message a v1.28–v1.36 event carries (in its log body, or span-event attributes).

    Raises:
        FieldLimitError: JSON text in it nested deeper than ``MAX_DEPTH``.
    """
    role = MESSAGE_EVENTS[name]
    payload = body if isinstance(body, dict) else None
    field = "body"
    if payload is None:
        field = "attributes.gen_ai.event.content"
        payload = json_value(attributes.get("gen_ai.event.content"), field)
    if not isinstance(payload, dict):
        field = "attributes"
        payload = {k: v for k, v in attributes.items() if k in ("content", "role", "message")}
    if name == "gen_ai.choice":
        inner = json_value(payload.get("message"), f"{field}.message")
        if isinstance(inner, dict):
            payload = inner
    if not payload:
        return None
    message: Message = {"role": str(payload.get("role") or role), "content": payload.get("content")}
    if payload.get("tool_calls"):
        message["tool_calls"] = payload["tool_calls"]
    if payload.get("id") is not None and role == "tool":
        message["tool_call_id"] = payload["id"]
    return message


def _legacy_messages(value: Any, field: str) -> list[Message] | None:
    """``gen_ai.prompt`` / ``gen_ai.completion``: JSON messages, or plain text."""
    data = json_value(value, field)
    if isinstance(data, list):
        return [m if isinstance(m, dict) else {"role": "user", "content": m} for m in data]
    if isinstance(value, str) and value:
        return [{"role": "user", "content": value}]
    return None


def _flattened(attributes: dict[str, Any], prefix: str) -> list[Message] | None:
    """OpenLLMetry's ``gen_ai.prompt.<i>.role`` / ``.content`` attributes, with the
    message's ``.tool_calls.<j>.name`` / ``.arguments`` / ``.id`` and ``.tool_call_id``."""
    found: dict[int, dict[str, Any]] = {}
    for key, value in attributes.items():
        if not key.startswith(prefix):
            continue
        index, _, field = key[len(prefix) :].partition(".")
        if (number := list_index(index)) is None:
            continue
        if field in ("role", "content", "tool_call_id"):
            found.setdefault(number, {})[field] = value
        elif field.startswith("tool_calls."):
            call, _, name = field[len("tool_calls.") :].partition(".")
            if name in ("id", "name", "arguments") and (at := list_index(call)) is not None:
                calls = found.setdefault(number, {}).setdefault("tool_calls", {})
                calls.setdefault(at, {})[name] = value
    if not found:
        return None
    messages: list[Message] = []
    for _, fields in sorted(found.items()):
        message: Message = {"role": fields.get("role", "user"), "content": fields.get("content")}
        if fields.get("tool_calls"):
            message["tool_calls"] = [call for _, call in sorted(fields["tool_calls"].items())]
        if fields.get("tool_call_id") is not None:
            message["tool_call_id"] = fields["tool_call_id"]
        messages.append(message)
    return messages


def _from_events(span: Span) -> tuple[list[Message] | None, list[Message] | None]:
    inputs: list[Message] = []
    outputs: list[Message] = []
    for index, event in enumerate(span.events):
        if event.name in MESSAGE_EVENTS:
            with located(f"events[{index}]"):
                message = message_from_event(event.name, event.attributes, None)
            if message is not None:
                (outputs if event.name == "gen_ai.choice" else inputs).append(message)
        elif event.name == "gen_ai.content.prompt":
            prompt = event.attributes.get("gen_ai.prompt")
            inputs.extend(
                _legacy_messages(prompt, f"events[{index}].attributes.gen_ai.prompt") or []
            )
        elif event.name == "gen_ai.content.completion":
            completion = event.attributes.get("gen_ai.completion")
            field = f"events[{index}].attributes.gen_ai.completion"
            outputs.extend(_legacy_messages(completion, field) or [])
    return inputs or None, outputs or None


def _attribute_messages(
    attributes: dict[str, Any],
    name: str,
    read: Callable[[Any, str], list[Message] | None],
) -> list[Message] | None:
    """The messages in one attribute; a limit error names it (``attributes.<name>``)."""
    return read(attributes.get(name), f"attributes.{name}")


def _system_message(value: Any) -> Message | None:
    data = json_value(value, "attributes.gen_ai.system_instructions")
    if data is None and isinstance(value, str):
        data = value
    text = text_of(data)
    return None if text is None else {"role": "system", "content": text}


def _has_message(messages: list[Message] | None, wanted: Message) -> bool:
    return any(
        m.get("role") == wanted["role"] and message_text(m) == wanted["content"]
        for m in messages or ()
    )


def genai_content(span: Span) -> Content:
    """What the ``gen_ai.*`` attributes and events of one span say about the request.

    Raises:
        FieldLimitError: JSON text in an attribute nested deeper than ``MAX_DEPTH``
            (named from the span on: ``attributes.gen_ai.input.messages``).
    """
    a = span.attributes
    content = Content(
        model=_str(a.get("gen_ai.response.model")) or _str(a.get("gen_ai.request.model")),
        # openlit's, priced from its table; it writes 0 for a model the table lacks
        cost=finite(a.get("gen_ai.usage.cost")) or None,
        tokens_in=count_of(a.get("gen_ai.usage.input_tokens", a.get("gen_ai.usage.prompt_tokens"))),
        tokens_out=count_of(
            a.get("gen_ai.usage.output_tokens", a.get("gen_ai.usage.completion_tokens"))
        ),
    )
    # the conventions' name, then openlit's (both in seconds)
    first = a.get("gen_ai.response.time_to_first_chunk", a.get("gen_ai.server.time_to_first_token"))
    ttft_ms = finite(first, scale=1000.0)
    if ttft_ms is not None and ttft_ms >= 0:
        content.ttft_ms = ttft_ms
    inputs = _attribute_messages(a, "gen_ai.input.messages", messages_from_genai)
    outputs = _attribute_messages(a, "gen_ai.output.messages", messages_from_genai)
    if inputs is None and outputs is None:
        inputs = _attribute_messages(a, "gen_ai.prompt", _legacy_messages)
        inputs = inputs or _flattened(a, "gen_ai.prompt.")
        outputs = _attribute_messages(a, "gen_ai.completion", _legacy_messages)
        outputs = outputs or _flattened(a, "gen_ai.completion.")
    if inputs is None and outputs is None and span.events:
        inputs, outputs = _from_events(span)
    system = _system_message(a.get("gen_ai.system_instructions"))
    if system is not None and not _has_message(inputs, system):
        # openlit sends the instructions both ways: keep them once
        inputs = [system, *(inputs or [])]
    if inputs:
        content.messages = inputs
        content.input = last_user_text(inputs)
    if outputs:
        content.output = next((t for t in map(message_text, outputs) if t is not None), None)
        content.tool_calls = tool_calls_in(outputs) or None
    content.tools = _tool_definitions(a.get("gen_ai.tool.definitions"))
    return content


def _tool_definitions(value: Any) -> list[dict[str, Any]] | None:
    """``gen_ai.tool.definitions``: a JSON list (or its text) of tool objects; None otherwise."""
    value = json_value(value, "attributes.gen_ai.tool.definitions")
    if not isinstance(value, list | tuple):
        return None
    tools = [plain_json(dict(tool)) for tool in value if isinstance(tool, Mapping)]
    return tools or None
