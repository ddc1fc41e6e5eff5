"""A production session read as a multi-turn case: the user's turns, the tools' answers.

A rating of a whole session (``session_id`` on the feedback) puts the conversation
forward, not just its last request. The session's traces, oldest first, say:

* **what the user said, turn by turn**: the user messages of the session's
  conversation as :func:`evallock.traces.session_transcript` puts it back together
  (from clients that resend the whole history and from those that send one turn a
  request);
* **what each tool returned**: the result of the first call of each tool (a tool
  span's result, or the ``tool`` message answering the call's id), which the case
  gives back as the mocked result when the target calls that tool;
* **which tools were offered**: the requests' tool definitions, once per name.

The first turn is the case's ``input``, the rest its ``turns``; the case runs the
conversation against the target and grades the final answer and the trajectory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from evallock.records import Conversation, Message, Trace
from evallock.traces import session_transcript, tool_calls_in, tool_results_in, user_texts

__all__ = ["MAX_CASE_TURNS", "SessionCase", "session_case"]

MAX_CASE_TURNS = 64
"""Most follow-up turns a case holds (the case schema's limit); a longer session keeps
its first turns."""
_MAX_TOOLS = 128


@dataclass(frozen=True, kw_only=True, slots=True)
class SessionCase:
    """What a session makes: the first user turn, the final answer and the conversation."""

    input: str
    """The user's first message: the case's ``input``."""
    output: str | None
    """The session's last answer (the bad one)."""
    conversation: Conversation
    """The follow-up turns, tool results and tool definitions."""


def _tool_results(transcript: Sequence[Message]) -> dict[str, str]:
    """What each tool answered first in the conversation, by tool name."""
    answered = tool_results_in(transcript)
    results: dict[str, str] = {}
    for call in tool_calls_in(transcript):
        if call.id is not None and call.id in answered:
            results.setdefault(call.name, answered[call.id])
    return results


def _tool_name(tool: dict[str, Any]) -> str | None:
    function = tool.get("function")
    name = function.get("name") if isinstance(function, dict) else tool.get("name")
    return name if isinstance(name, str) and name else None


def _tools(traces: Sequence[Trace]) -> tuple[dict[str, Any], ...]:
    tools: dict[str, dict[str, Any]] = {}
    for trace in traces:
        for tool in trace.tools:
            name = _tool_name(tool)
            if name is not None and name not in tools and len(tools) < _MAX_TOOLS:
                tools[name] = tool
    return tuple(tools.values())


def session_case(session_id: str, traces: Sequence[Trace]) -> SessionCase | None:
    """The multi-turn case a session's traces (oldest first) make; None when no user
    turn is in them."""
    transcript = session_transcript(traces)
    turns = user_texts(transcript)
    if not turns:
        return None
    last = traces[-1]
    answer = next((t.output for t in reversed(traces) if t.output), last.output)
    return SessionCase(
        input=turns[0],
        output=answer,
        conversation=Conversation(
            session_id=session_id,
            turns=tuple(turns[1 : MAX_CASE_TURNS + 1]),
            tool_results=_tool_results(transcript),
            tools=_tools(traces),
            trace_ids=tuple(t.trace_id for t in traces),
        ),
    )
