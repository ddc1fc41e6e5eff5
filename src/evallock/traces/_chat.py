"""Proxy traces: one trace summary for one chat completion (or response) the proxy relayed.

The proxy sees the OpenAI-style request and the answer (streamed or not) and
times both; this turns them into the same :class:`~evallock.records.Trace` that
OTLP ingest produces, so the rest of evallock does not care how a trace came in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from evallock.limits import check_depth, check_trace
from evallock.records import Message, ToolCall, Trace
from evallock.traces._ids import new_trace_id, normalise_trace_id
from evallock.traces._messages import count_of, finite, last_user_text, plain_json, text_of
from evallock.traces._responses import responses_messages

__all__ = ["trace_from_chat"]


def _count(usage: Mapping[str, Any] | None, *names: str) -> int | None:
    for name in names:
        value = count_of((usage or {}).get(name))
        if value is not None:
            return value
    return None


def _messages(request: Mapping[str, Any]) -> list[Message] | None:
    if "messages" not in request and "input" in request:  # the Responses API
        check_depth("input", request.get("input"))
        return responses_messages(request)
    raw = request.get("messages")
    if not isinstance(raw, list):
        return None
    check_depth("messages", raw)  # before plain_json walks it (recursively)
    messages = [plain_json(dict(message)) for message in raw if isinstance(message, Mapping)]
    return messages or None


def _tools(request: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The tool definitions a request offered (chat ``{"type": "function", "function":
    {…}}`` or the Responses API's flat ``{"type": "function", "name", …}``), as sent."""
    raw = request.get("tools")
    if not isinstance(raw, list):
        return []
    check_depth("tools", raw)
    return [plain_json(dict(tool)) for tool in raw if isinstance(tool, Mapping)]


def trace_from_chat(
    *,
    request: Mapping[str, Any],
    response_text: str | None,
    model: str | None,
    usage: Mapping[str, Any] | None,
    started_at: datetime,
    latency_ms: float,
    ttft_ms: float | None,
    error: str | None,
    keys: Mapping[str, str],
    trace_id: str | None = None,
    variables: Mapping[str, Any] | None = None,
    tool_calls: Sequence[ToolCall] = (),
) -> Trace:
    """The trace summary of one proxied chat completion.

    Args:
        request: the chat completion request body (``messages``, ``model``, ``tools`` …);
            a legacy completion's ``prompt`` and a Responses API request's
            ``instructions`` and ``input`` are read too.
        response_text: the answer (the streamed chunks joined), None on error.
        model: the model the response named; the request's ``model`` when None.
        usage: the response's ``usage`` (``prompt_tokens``/``completion_tokens``, or
            ``input_tokens``/``output_tokens``; a numeric ``cost`` is kept too).
        started_at: when the request reached the proxy (timezone-aware).
        latency_ms: until the last byte of the answer.
        ttft_ms: until the first content chunk, for streamed answers.
        error: what went wrong (upstream status and message), None on success.
        keys: shared and extra keys from ``X-Evallock-*`` headers; empty values dropped.
        trace_id: the trace id from ``traceparent`` (any case); a new one when None.
        variables: the prompt template's variables, when the client sent them.
        tool_calls: the tool calls in the answer.

    Raises:
        ValueError: a naive ``started_at`` or an unusable ``trace_id``.
        FieldLimitError: a field of the summary past its limit (``messages`` nested
            too deep, an ``input`` or ``output`` too long, a key value too long …).
    """
    if started_at.utcoffset() is None:
        raise ValueError("started_at is a naive datetime; pass a timezone-aware time")
    messages = _messages(request)
    if messages is not None:
        text = last_user_text(messages)
    else:
        prompt = request.get("prompt")
        text = text_of(prompt[-1] if isinstance(prompt, list) and prompt else prompt)
    requested = request.get("model")
    trace = Trace(
        trace_id=normalise_trace_id(trace_id) if trace_id is not None else new_trace_id(),
        timestamp=started_at,
        input=text,
        output=response_text,
        latency_ms=latency_ms,
        ttft_ms=ttft_ms,
        tokens_in=_count(usage, "prompt_tokens", "input_tokens"),
        tokens_out=_count(usage, "completion_tokens", "output_tokens"),
        cost=finite((usage or {}).get("cost")),
        model=model or (requested if isinstance(requested, str) else None),
        error=error,
        keys={name: value for name, value in keys.items() if value},
        source="proxy",
        messages=messages,
        vars=dict(variables or {}),
        tool_calls=list(tool_calls),
        tools=_tools(request),
    )
    check_trace(trace)
    return trace
