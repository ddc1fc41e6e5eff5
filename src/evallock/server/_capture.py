"""What the proxy records of an answer: the text, model, usage, error and time to first token.

A streamed answer is read as it passes through: :class:`StreamCapture` is fed
each chunk the upstream sends (after the chunk has been relayed unchanged) and
parses the server-sent events out of it: ``data:`` lines, the final usage chunk
of ``stream_options.include_usage``, ``[DONE]``, and an ``error`` object sent
mid-stream. A whole answer is read by :func:`capture_completion`. Usage the
upstream did not report stays None: unknown, never zero.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from evallock.records import ToolCall
from evallock.traces import responses_answer, tool_call, tool_calls_in

__all__ = [
    "Captured",
    "ResponsesStreamCapture",
    "StreamCapture",
    "UsageStrip",
    "capture_completion",
    "capture_response",
    "error_message",
]

_MAX_LINE = 8 * 1024 * 1024  # a "line" longer than this is not SSE: stop reading it


@dataclass(slots=True)
class Captured:
    """An answer as recorded."""

    text: str | None = None
    """The first choice's content."""
    tool_calls: list[ToolCall] = field(default_factory=list)
    """The first choice's tool calls."""
    model: str | None = None
    """The model the upstream says answered."""
    usage: dict[str, Any] | None = None
    """The upstream's ``usage`` object, when it sent one."""
    error: str | None = None
    """What went wrong, when something did."""
    ttft_ms: float | None = None
    """Milliseconds from the request to the first content chunk (streams only)."""


@dataclass(slots=True)
class StreamCapture:
    """Parses an OpenAI chat completion event stream chunk by chunk."""

    started: float
    """``time.perf_counter()`` when the proxy received the request."""
    done: bool = False
    """True once ``data: [DONE]`` arrived."""
    _parts: list[str] = field(default_factory=list)
    _tools: dict[int, dict[str, Any]] = field(default_factory=dict)
    _pending: bytes = b""
    _data: list[bytes] = field(default_factory=list)
    _result: Captured = field(default_factory=Captured)

    def feed(self, chunk: bytes) -> None:
        """Read one chunk as the upstream sent it (any split of lines and events)."""
        buffer = self._pending + chunk
        start = 0
        while True:
            end = buffer.find(b"\n", start)
            if end < 0:
                break
            self._line(buffer[start:end].rstrip(b"\r"))
            start = end + 1
        rest = buffer[start:]
        self._pending = rest if len(rest) <= _MAX_LINE else b""

    def result(self) -> Captured:
        """What was captured so far (call after the stream ended or broke)."""
        if self._pending:
            self._line(self._pending.rstrip(b"\r"))
            self._pending = b""
        self._dispatch()
        captured = self._result
        if self._parts:
            captured.text = "".join(self._parts)
        captured.tool_calls = [
            call for call in (tool_call(self._tools[i]) for i in sorted(self._tools)) if call
        ]
        return captured

    def _line(self, line: bytes) -> None:
        if not line:
            self._dispatch()
        elif line.startswith(b"data:"):
            self._data.append(line[5:].lstrip(b" "))

    def _dispatch(self) -> None:
        if not self._data:
            return
        payload = b"\n".join(self._data)
        self._data = []
        if payload.startswith(b"[DONE]"):
            self.done = True
            return
        try:
            event = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return
        if isinstance(event, dict):
            self._event(event)

    def _event(self, event: dict[str, Any]) -> None:
        result = self._result
        if "error" in event:
            result.error = "upstream error mid-stream: " + error_message(event)
        if isinstance(event.get("model"), str):
            result.model = event["model"]
        if isinstance(event.get("usage"), dict):
            result.usage = event["usage"]
        for choice in event.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta")
            if isinstance(delta, dict) and self._delta(delta) and result.ttft_ms is None:
                result.ttft_ms = (time.perf_counter() - self.started) * 1000

    def _delta(self, delta: dict[str, Any]) -> bool:
        """Take one delta; True when it carried content or a tool call."""
        got = False
        content = delta.get("content")
        if isinstance(content, str) and content:
            self._parts.append(content)
            got = True
        for call in delta.get("tool_calls") or ():
            if not isinstance(call, dict):
                continue
            got = True
            slot = self._tools.setdefault(int(call.get("index") or 0), {"arguments": ""})
            if call.get("id"):
                slot["id"] = call["id"]
            function = call.get("function")
            if isinstance(function, dict):
                if function.get("name"):
                    slot["name"] = function["name"]
                if isinstance(function.get("arguments"), str):
                    slot["arguments"] += function["arguments"]
        return got


@dataclass(slots=True)
class UsageStrip:
    r"""Drops the usage-only event from a stream whose client did not ask for usage.

    The proxy asks the upstream for ``stream_options.include_usage`` so the trace
    gets token counts; a client that did not ask must not see the extra final
    event (``"choices": []`` and a ``usage`` object) its SDK never expected. Events
    pass through whole as soon as they are complete; only a partial event waits.

    >>> strip = UsageStrip()
    >>> strip.feed(b'data: {"choices": [{"delta": {"content": "hi"}}]}\n\ndata: {"cho')
    b'data: {"choices": [{"delta": {"content": "hi"}}]}\n\n'
    >>> strip.feed(b'ices": [], "usage": {"total_tokens": 3}}\n\ndata: [DONE]\n\n')
    b'data: [DONE]\n\n'
    """

    _pending: bytes = b""

    def feed(self, chunk: bytes) -> bytes:
        """The complete events of ``pending + chunk``, the usage-only one left out."""
        buffer = self._pending + chunk
        out: list[bytes] = []
        start = 0
        while True:
            end = _event_end(buffer, start)
            if end < 0:
                break
            event = buffer[start:end]
            if not _usage_only(event):
                out.append(event)
            start = end
        self._pending = buffer[start:]
        if len(self._pending) > _MAX_LINE:  # not SSE as we know it: stop holding it back
            out.append(self._pending)
            self._pending = b""
        return b"".join(out)

    def flush(self) -> bytes:
        """What is left when the stream ends (an unterminated last event)."""
        rest, self._pending = self._pending, b""
        return b"" if _usage_only(rest) else rest


def _event_end(buffer: bytes, start: int) -> int:
    """The end (past its blank line) of the first complete event from ``start``, or -1."""
    ends = [i for i in (buffer.find(b"\n\n", start), buffer.find(b"\r\n\r\n", start)) if i >= 0]
    if not ends:
        return -1
    first = min(ends)
    return first + (2 if buffer.startswith(b"\n\n", first) else 4)


def _usage_only(event: bytes) -> bool:
    if b'"usage"' not in event:
        return False
    payload = b"\n".join(
        line[5:].lstrip(b" ") for line in event.splitlines() if line.startswith(b"data:")
    )
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return False
    return (
        isinstance(data, dict) and data.get("choices") == [] and isinstance(data.get("usage"), dict)
    )


def _answer(status: int, body: bytes) -> dict[str, Any] | Captured:
    """A whole answer's JSON object, or what to record when it is an error or not JSON."""
    try:
        payload = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        payload = None
    if status >= 400:
        reason = error_message(payload) if isinstance(payload, dict) else _snippet(body)
        return Captured(error=f"upstream HTTP {status}: {reason}")
    if not isinstance(payload, dict):
        return Captured(error=f"upstream answered HTTP {status} with a body that is not JSON")
    return payload


def capture_completion(status: int, body: bytes) -> Captured:
    """Read a whole (non-streamed) answer, or an error answer."""
    payload = _answer(status, body)
    if isinstance(payload, Captured):
        return payload
    captured = Captured(
        model=payload.get("model") if isinstance(payload.get("model"), str) else None,
        usage=payload.get("usage") if isinstance(payload.get("usage"), dict) else None,
    )
    choices = payload.get("choices")
    first = choices[0] if isinstance(choices, list) and choices else None
    message = first.get("message") if isinstance(first, dict) else None
    if isinstance(message, dict):
        content = message.get("content")
        if isinstance(content, str):
            captured.text = content
        captured.tool_calls = tool_calls_in([message])
    return captured


def capture_response(status: int, body: bytes) -> Captured:
    """Read a whole Responses API answer (``POST /v1/responses``), or an error answer."""
    payload = _answer(status, body)
    return payload if isinstance(payload, Captured) else _from_response(payload)


def _from_response(payload: dict[str, Any]) -> Captured:
    answer = responses_answer(payload)
    return Captured(
        text=answer.text,
        tool_calls=answer.tool_calls,
        model=answer.model,
        usage=answer.usage,
        error=answer.error,
    )


@dataclass(slots=True)
class ResponsesStreamCapture(StreamCapture):
    """Parses a Responses API event stream: the final ``response.completed`` (or
    ``.failed`` / ``.incomplete``) event carries the whole response; the deltas before
    it time the first token and keep the text of a stream that breaks off."""

    def _event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind in ("response.output_text.delta", "response.function_call_arguments.delta"):
            delta = event.get("delta")
            if isinstance(delta, str) and delta:
                if self._result.ttft_ms is None:
                    self._result.ttft_ms = (time.perf_counter() - self.started) * 1000
                if kind == "response.output_text.delta":
                    self._parts.append(delta)
        elif kind in ("response.completed", "response.failed", "response.incomplete"):
            self.done = True
            if isinstance(event.get("response"), dict):
                final = _from_response(event["response"])
                final.ttft_ms = self._result.ttft_ms
                self._result = final
                self._parts = []  # the final response holds the whole text
        elif kind == "error":
            self._result.error = "upstream error mid-stream: " + error_message(event)

    def result(self) -> Captured:
        """What was captured so far (call after the stream ended or broke)."""
        if self._pending:
            self._line(self._pending.rstrip(b"\r"))
            self._pending = b""
        self._dispatch()
        if self._parts and self._result.text is None:
            self._result.text = "".join(self._parts)
        return self._result


def error_message(payload: Any) -> str:
    """The message of an OpenAI ``{"error": {...}}`` envelope (or of a bare error object)."""
    error = payload.get("error", payload) if isinstance(payload, dict) else payload
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])
    if isinstance(error, str):
        return error
    return "no message"


def _snippet(body: bytes) -> str:
    text = body[:200].decode("utf-8", "replace").strip()
    return text or "empty body"
