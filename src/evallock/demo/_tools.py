"""Tool calls in the fake service: a deterministic model that calls the tools it is offered.

A request that offers function ``tools`` (and does not say ``tool_choice: "none"``)
and ends with the user's turn is answered with one tool call: the tool whose name
(``_`` read as a space) appears in the user's text, else the first tool (or the one
``tool_choice`` names), with arguments ``{"query": <the user's text>}``. A request
that ends with ``tool`` messages is answered in text from what the tools returned.
So the agent path (call, run the tool, answer) runs with no paid API, the same way
every time.
"""

from __future__ import annotations

from typing import Any

import orjson

from evallock.demo._bot import last_user_text, message_text

__all__ = ["planned_call", "tool_answer"]


def _function_names(tools: Any) -> list[str]:
    names: list[str] = []
    for tool in tools if isinstance(tools, list) else ():
        function = tool.get("function") if isinstance(tool, dict) else None
        name = function.get("name") if isinstance(function, dict) else None
        if not isinstance(name, str) and isinstance(tool, dict):
            name = tool.get("name")  # the Responses API's flat tool shape
        if isinstance(name, str) and name:
            names.append(name)
    return names


def _chosen(choice: Any, names: list[str], text: str) -> str | None:
    if isinstance(choice, dict):
        function = choice.get("function")
        named = function.get("name") if isinstance(function, dict) else choice.get("name")
        return named if named in names else None
    lowered = text.lower()
    return next((n for n in names if n.replace("_", " ").lower() in lowered), names[0])


def planned_call(
    request: dict[str, Any], messages: list[Any], call_id: str
) -> dict[str, Any] | None:
    """The tool call to answer with, as ``{"id", "name", "arguments"}``; None to answer in text.

    >>> tools = [{"type": "function", "function": {"name": "order_status"}}]
    >>> planned_call({"tools": tools}, [{"role": "user", "content": "where is it"}], "call_1")
    {'id': 'call_1', 'name': 'order_status', 'arguments': '{"query":"where is it"}'}
    """
    names = _function_names(request.get("tools"))
    choice = request.get("tool_choice")
    if not names or choice == "none" or not messages:
        return None
    last = messages[-1]
    if not isinstance(last, dict) or last.get("role") != "user":
        return None
    text = last_user_text(messages)
    name = _chosen(choice, names, text)
    if name is None:
        return None
    arguments = orjson.dumps({"query": text}).decode()
    return {"id": call_id, "name": name, "arguments": arguments}


def tool_answer(messages: list[Any]) -> str | None:
    """The text answer to a conversation that ends with tool results; None when it does not.

    >>> tool_answer([{"role": "tool", "tool_call_id": "c1", "content": "shipped"}])
    'The tools say: shipped'
    """
    results: list[str] = []
    for message in reversed(messages):
        if not isinstance(message, dict) or message.get("role") != "tool":
            break
        results.append(message_text(message))
    if not results:
        return None
    return "The tools say: " + "; ".join(reversed(results))
