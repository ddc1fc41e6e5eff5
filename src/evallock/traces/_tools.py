"""Tool calls: every spelling of a model's tool call read into one :class:`ToolCall`.

The spellings that arrive (interop §1–3, §5):

* OpenAI chat completions: ``{"id", "type": "function", "function": {"name",
  "arguments"}}`` (the proxy, OpenInference and OpenLLMetry messages, Langfuse output);
* the OTel GenAI ``parts`` form: ``{"type": "tool_call", "id", "name", "arguments"}``
  with ``arguments`` an object;
* the Responses API: ``{"type": "function_call", "call_id", "name", "arguments"}``;
* ours, as stored: ``{"id", "name", "arguments", "result"}``.

A result is what a tool answered: a ``tool`` message naming the call's id, or a tool
span (GenAI ``execute_tool``, OpenInference ``TOOL``) in the same trace.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from evallock.records import Message, ToolCall
from evallock.traces._messages import message_text, plain_json

__all__ = ["merge_calls", "tool_call", "tool_calls_in", "tool_results_in", "tool_span_call"]


def _text(value: Any) -> str | None:
    """A string as it is; another value as compact JSON; None as None."""
    if value is None or isinstance(value, str):
        return value
    return orjson.dumps(plain_json(value)).decode()


def tool_call(node: Any) -> ToolCall | None:
    """One tool call in any of the spellings above, or None when it names no tool.

    >>> tool_call({"id": "c1", "type": "function",
    ...            "function": {"name": "refund", "arguments": '{"days": 30}'}})
    ToolCall(name='refund', arguments='{"days": 30}', id='c1', result=None)
    >>> tool_call({"type": "tool_call", "id": "c1", "name": "refund", "arguments": {"days": 30}})
    ToolCall(name='refund', arguments='{"days":30}', id='c1', result=None)
    """
    if not isinstance(node, Mapping):
        return None
    function = node.get("function")
    source = function if isinstance(function, Mapping) else node
    name = source.get("name")
    if not isinstance(name, str) or not name:
        return None
    call_id = node.get("call_id") if node.get("type") == "function_call" else None
    call_id = call_id if call_id is not None else node.get("id")
    return ToolCall(
        name=name,
        arguments=_text(source.get("arguments")) or "",
        id=call_id if isinstance(call_id, str) and call_id else None,
        result=_text(node.get("result")),
    )


def tool_calls_in(messages: Iterable[Message] | None) -> list[ToolCall]:
    """The tool calls of the assistant messages in ``messages``, in order."""
    calls: list[ToolCall] = []
    for message in messages or ():
        found = message.get("tool_calls") if isinstance(message, Mapping) else None
        if isinstance(found, list):
            calls.extend(c for c in map(tool_call, found) if c is not None)
    return calls


def tool_results_in(messages: Iterable[Message] | None) -> dict[str, str]:
    """What each tool answered, by call id: the ``tool`` messages in ``messages``."""
    results: dict[str, str] = {}
    for message in messages or ():
        if not isinstance(message, Mapping) or message.get("role") != "tool":
            continue
        call_id = message.get("tool_call_id")
        if isinstance(call_id, str) and call_id:
            text = message_text(message)
            results[call_id] = text if text is not None else _text(message.get("content")) or ""
    return results


def tool_span_call(attributes: Mapping[str, Any]) -> ToolCall | None:
    """The call a tool span ran, with its result: GenAI ``execute_tool`` or OpenInference ``TOOL``.

    >>> tool_span_call({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "refund",
    ...                 "gen_ai.tool.call.id": "c1", "gen_ai.tool.call.result": "ok"})
    ToolCall(name='refund', arguments='', id='c1', result='ok')
    """
    if attributes.get("gen_ai.operation.name") == "execute_tool":
        name = attributes.get("gen_ai.tool.name")
        arguments = attributes.get("gen_ai.tool.call.arguments")
        result = attributes.get("gen_ai.tool.call.result")
        call_id = attributes.get("gen_ai.tool.call.id")
    elif attributes.get("openinference.span.kind") == "TOOL":
        name = attributes.get("tool.name")
        arguments = attributes.get("tool.parameters", attributes.get("input.value"))
        result = attributes.get("output.value")
        call_id = attributes.get("tool_call.id", attributes.get("tool.id"))
    else:
        return None
    if not isinstance(name, str) or not name:
        return None
    return ToolCall(
        name=name,
        arguments=_text(arguments) or "",
        id=call_id if isinstance(call_id, str) and call_id else None,
        result=_text(result),
    )


def merge_calls(
    calls: Iterable[ToolCall], results: Mapping[str, str], ran: Iterable[ToolCall] = ()
) -> list[ToolCall]:
    """The calls once each (by id, else by name and arguments), results filled in by id.

    ``ran`` are the calls tool spans report: each completes the call with its id
    (its result, its arguments when the model's are unknown), or is added when the
    model's own call was not recorded.

    >>> asked = [ToolCall(name="refund", arguments="{}", id="c1")]
    >>> merge_calls(asked + asked, {"c1": "done"})
    [ToolCall(name='refund', arguments='{}', id='c1', result='done')]
    """
    merged: dict[Any, ToolCall] = {}
    for call in calls:
        merged.setdefault(call.id or (call.name, call.arguments), call)
    for call in ran:
        key = call.id or (call.name, call.arguments)
        known = merged.get(key)
        if known is None:
            merged[key] = call
        else:
            merged[key] = ToolCall(
                name=known.name,
                arguments=known.arguments or call.arguments,
                id=known.id,
                result=known.result if known.result is not None else call.result,
            )
    out = []
    for call in merged.values():
        if call.result is None and call.id is not None and call.id in results:
            call = ToolCall(
                name=call.name, arguments=call.arguments, id=call.id, result=results[call.id]
            )
        out.append(call)
    return out
