"""OpenInference conventions (Arize Phoenix): ``llm.*``, ``input.value``, annotations.

OpenInference flattens lists into indexed attribute names
(``llm.input_messages.0.message.content``), so messages are put back together
from the indices. ``input.value`` / ``output.value`` are the operation's input
and output on every span kind, used when no messages were captured. Inline
annotations (``annotations.<i>.annotation.*``, interop §2.3) become feedback.
"""

from __future__ import annotations

from typing import Any

from evallock.records import Message
from evallock.traces._messages import (
    Content,
    count_of,
    finite,
    json_value,
    last_user_text,
    list_index,
    message_text,
    plain_json,
)
from evallock.traces._spans import Span
from evallock.traces._tools import tool_calls_in

__all__ = ["inline_annotations", "is_llm", "openinference_content", "unflatten"]

_ANNOTATION_PREFIXES = (
    ("annotations.", "annotation."),
    ("evaluations.", "evaluation."),
    ("trace.annotations.", "annotation."),
    ("trace.evaluations.", "evaluation."),
)

# Lists are flattened from index 0, so a first item's name says there are any.
_ANNOTATION_MARKERS = tuple(f"{prefix}0.{inner}name" for prefix, inner in _ANNOTATION_PREFIXES)


def is_llm(attributes: dict[str, Any]) -> bool:
    """True for an OpenInference LLM span."""
    return attributes.get("openinference.span.kind") == "LLM"


def unflatten(attributes: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    """``prefix.<i>.<rest>`` attributes as a list (by index) of ``{rest: value}`` dicts.

    >>> unflatten({"x.1.b": 2, "x.0.a": 1, "y": 0}, "x.")
    [{'a': 1}, {'b': 2}]
    """
    found: dict[int, dict[str, Any]] = {}
    for key, value in attributes.items():
        if key.startswith(prefix):
            index, _, rest = key[len(prefix) :].partition(".")
            if rest and (number := list_index(index)) is not None:
                found.setdefault(number, {})[rest] = value
    return [found[i] for i in sorted(found)]


def _message(fields: dict[str, Any]) -> Message:
    message: Message = {"role": str(fields.get("message.role") or "user")}
    content = fields.get("message.content")
    if content is None:
        parts = unflatten(fields, "message.contents.")
        texts = [
            p["message_content.text"]
            for p in parts
            if p.get("message_content.type", "text") == "text"
            and isinstance(p.get("message_content.text"), str)
        ]
        content = "\n".join(texts) if texts else None
    message["content"] = content
    calls = unflatten(fields, "message.tool_calls.")
    if calls:
        message["tool_calls"] = [
            {
                "id": call.get("tool_call.id"),
                "type": "function",
                "function": {
                    "name": call.get("tool_call.function.name"),
                    "arguments": call.get("tool_call.function.arguments", ""),
                },
            }
            for call in calls
        ]
    if fields.get("message.tool_call_id") is not None:
        message["tool_call_id"] = fields["message.tool_call_id"]
    if fields.get("message.name") is not None:
        message["name"] = fields["message.name"]
    return message


def _messages(attributes: dict[str, Any], name: str) -> list[Message] | None:
    structured = attributes.get(name)
    if isinstance(structured, list):  # a few exporters send the list unflattened
        return [m for m in structured if isinstance(m, dict)] or None
    flat = unflatten(attributes, name + ".")
    return [_message(fields) for fields in flat] or None


def _text_value(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _requested_model(attributes: dict[str, Any]) -> str | None:
    """The model in ``llm.invocation_parameters`` (all a failed call says of its model)."""
    parameters = attributes.get("llm.invocation_parameters")
    if not isinstance(parameters, str) or '"model"' not in parameters:
        return None
    data = json_value(parameters, "attributes.llm.invocation_parameters")
    model = data.get("model") if isinstance(data, dict) else None
    return model if isinstance(model, str) and model else None


def openinference_content(span: Span) -> Content:
    """What the OpenInference attributes of one span say about the request."""
    a = span.attributes
    model = a.get("llm.response.model_name") or a.get("llm.model_name")
    model = model or a.get("llm.request.model_name") or _requested_model(a)
    content = Content(
        model=model if isinstance(model, str) else None,
        tokens_in=count_of(a.get("llm.token_count.prompt")),
        tokens_out=count_of(a.get("llm.token_count.completion")),
        cost=finite(a.get("llm.cost.total")),
    )
    if not any(key.startswith(("llm.", "input.", "output.")) for key in a):
        return content
    inputs = _messages(a, "llm.input_messages")
    if inputs:
        content.messages = inputs
        content.input = last_user_text(inputs)
    else:
        prompts = unflatten(a, "llm.prompts.")
        texts = [p.get("prompt.text") for p in prompts if isinstance(p.get("prompt.text"), str)]
        content.input = texts[-1] if texts else _text_value(a.get("input.value"))
    outputs = _messages(a, "llm.output_messages")
    if outputs:
        content.output = next((t for t in map(message_text, outputs) if t is not None), None)
        content.tool_calls = tool_calls_in(outputs) or None
    content.tools = _tools(a)
    if content.output is None and not content.tool_calls:
        # (an answer that is only tool calls has no text: output.value is its raw JSON)
        choices = unflatten(a, "llm.choices.")
        text = choices[0].get("completion.text") if choices else None
        content.output = text if isinstance(text, str) else _text_value(a.get("output.value"))
    return content


def _tools(attributes: dict[str, Any]) -> list[dict[str, Any]] | None:
    """``llm.tools.<i>.tool.json_schema``: each tool's definition, JSON text (None: none)."""
    tools = []
    for item in unflatten(attributes, "llm.tools."):
        schema = json_value(item.get("tool.json_schema"), "attributes.llm.tools")
        if isinstance(schema, dict):
            tools.append(plain_json(schema))
    return tools or None


def inline_annotations(attributes: dict[str, Any]) -> list[dict[str, Any]]:
    """Inline annotations and evaluations on a span, each ``{name, score, label, …}``.

    Only those with a name and a score or label are returned (OpenInference
    requires a name and at least one of score, label or explanation; an
    explanation alone is not a rating).
    """
    if not any(marker in attributes for marker in _ANNOTATION_MARKERS):
        return []
    found: list[dict[str, Any]] = []
    for prefix, inner in _ANNOTATION_PREFIXES:
        for index, fields in enumerate(unflatten(attributes, prefix)):
            item = {
                key[len(inner) :]: value for key, value in fields.items() if key.startswith(inner)
            }
            if isinstance(item.get("name"), str) and (
                item.get("score") is not None or item.get("label") is not None
            ):
                field = f"attributes.{prefix}{index}.{inner}metadata"
                item["metadata"] = json_value(item.get("metadata"), field)
                item["_index"] = f"{prefix}{index}"
                found.append(item)
    return found
