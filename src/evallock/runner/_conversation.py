"""What a conversation case needs besides the target: tool results and the simulated user.

**Tool results.** A tool call is answered with the case's mocked ``tool_results`` for
that tool's name, else by the case's ``tool_handler``: a Python callable named
``module:function`` (imported with the working directory on the path) or
``path/to/tools.py:function`` (relative to the working directory), called as
``function(name, arguments)`` with the call's arguments parsed from JSON (the raw
text when they are not JSON). It may be a coroutine function; a plain function runs on
a worker thread, so one that does I/O does not stall the other cases. It returns the
result as text, or any value JSON can write. When it raises, the model gets
``error: <Type>: <message>`` as the tool's answer, as agent frameworks report a failed
tool, and the case goes on. A handler that cannot be imported fails the case, naming
it.

**The simulated user.** A case's ``user`` (a goal, a turn limit, maybe a persona) is
played by the run's judge model: after each answer it is shown the conversation from
the user's side (the assistant's answers as what it was told, its own earlier
messages as its own) and writes the user's next message, or ``[[DONE]]`` when the goal
is met or cannot be met. The conversation stops there or at ``max_turns`` user turns.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from evallock.errors import UsageError
from evallock.records import Completion, Message, SimulatedUser, ToolCall

__all__ = [
    "DONE_MARK",
    "SIMULATED_USER_PROMPT",
    "ToolHandlerError",
    "ToolHandlers",
    "simulated_reply",
    "simulator_messages",
    "tool_turn",
]

SIMULATED_USER_PROMPT = (
    "You are playing the user in a conversation with an assistant, to test the assistant. "
    "Stay in the user's role: write only the user's next message, in the user's words, "
    "never the assistant's. When your goal is met, or it is clear it cannot be met, reply "
    "with exactly [[DONE]]."
)
"""The start of the simulated user's system message (the bundled fake service knows it)."""

DONE_MARK = "[[DONE]]"
"""What the simulated user replies to end the conversation."""

_MAX_REPLY = 16_384
"""Longest simulated user message kept (characters)."""


class ToolHandlerError(UsageError):
    """A case's ``tool_handler`` cannot be imported or is not callable."""


def simulator_messages(user: SimulatedUser, conversation: list[Message]) -> list[Message]:
    """The simulated user's prompt: its brief, then the conversation from its side."""
    brief = f"{SIMULATED_USER_PROMPT}\n\nYour goal: {user.goal}"
    if user.persona:
        brief += f"\nWho you are: {user.persona}"
    messages: list[Message] = [{"role": "system", "content": brief}]
    for message in conversation:
        role = message.get("role")
        content = message.get("content")
        if not isinstance(content, str) or not content:
            continue  # tool results, and answers that were only tool calls
        if role == "user":
            messages.append({"role": "assistant", "content": content})
        elif role == "assistant":
            messages.append({"role": "user", "content": content})
    return messages


def simulated_reply(reply: str) -> str | None:
    """The user's next message from the simulator's reply; None when it ends the talk."""
    text = reply.strip()
    if not text or DONE_MARK in text:
        return None
    return text[:_MAX_REPLY]


def _arguments(call: ToolCall) -> Any:
    try:
        return orjson.loads(call.arguments) if call.arguments else {}
    except orjson.JSONDecodeError:
        return call.arguments


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return orjson.dumps(value, default=str).decode()


class ToolHandlers:
    """The cases' tool handlers, each imported once per run."""

    def __init__(self, root: Path | None = None) -> None:
        """Resolve paths and modules from ``root`` (the working directory by default)."""
        self._root = root or Path.cwd()
        self._loaded: dict[str, Callable[..., Any]] = {}

    def load(self, spec: str) -> Callable[..., Any]:
        """The callable ``spec`` names (``module:function`` or ``file.py:function``).

        Raises:
            ToolHandlerError: it cannot be imported, or is not callable.
        """
        found = self._loaded.get(spec)
        if found is not None:
            return found
        target, _, name = spec.rpartition(":")
        try:
            module = self._module(target)
        except ToolHandlerError:
            raise
        except Exception as exc:
            raise ToolHandlerError(
                f"tool_handler {spec!r}: cannot import {target!r}: {type(exc).__name__}: {exc}"
            ) from None
        function: Callable[..., Any] | None = getattr(module, name, None)
        if function is None or not callable(function):
            raise ToolHandlerError(f"tool_handler {spec!r}: {target!r} has no function {name!r}")
        self._loaded[spec] = function
        return function

    def _module(self, target: str) -> Any:
        if target.endswith(".py"):
            path = (self._root / target).resolve()
            if not path.is_file():
                raise ToolHandlerError(f"tool_handler: no file {target!r} (from {self._root})")
            spec = importlib.util.spec_from_file_location(f"_evallock_tools_{path.stem}", path)
            if spec is None or spec.loader is None:
                raise ToolHandlerError(f"tool_handler: cannot load {target!r}")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
        root = str(self._root)
        if root not in sys.path:
            sys.path.insert(0, root)
        return importlib.import_module(target)

    async def answer(self, spec: str, call: ToolCall) -> str:
        """What the handler returns for ``call``, as the tool message's text.

        Raises:
            ToolHandlerError: the handler cannot be loaded.
        """
        function = self.load(spec)
        arguments = _arguments(call)
        try:
            if inspect.iscoroutinefunction(function):
                result = await function(call.name, arguments)
            else:
                result = await asyncio.to_thread(function, call.name, arguments)
                if inspect.isawaitable(result):
                    result = await result
        except Exception as exc:
            return f"error: {type(exc).__name__}: {exc}"
        return _text(result)


async def tool_turn(
    answer: Completion,
    results: dict[str, str],
    handler: str | None,
    handlers: ToolHandlers,
) -> list[Message]:
    """The assistant's tool calls and each tool's result, as chat messages: the case's
    mocked result for the tool, else the handler's, else an error saying there is none."""
    ids = [call.id or f"call_{index}" for index, call in enumerate(answer.tool_calls)]
    calls = [
        {"id": ident, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
        for ident, c in zip(ids, answer.tool_calls, strict=True)
    ]
    turn: list[Message] = [
        {"role": "assistant", "content": answer.text or None, "tool_calls": calls}
    ]
    for ident, call in zip(ids, answer.tool_calls, strict=True):
        output = results.get(call.name)
        if output is None and handler is not None:
            output = await handlers.answer(handler, call)
        if output is None:
            output = f"error: the case gives no result for tool {call.name!r}"
        turn.append({"role": "tool", "tool_call_id": ident, "content": output})
    return turn
