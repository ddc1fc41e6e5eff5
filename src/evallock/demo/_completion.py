"""Completion bodies: chat completions and stream chunks in the OpenAI shape.

Everything here is pure: it turns an answer text into the JSON a client of
``POST /v1/chat/completions`` expects (interop §4.2, §4.3). Tokens are
whitespace-separated words, which is all a test or a benchmark needs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = [
    "CompletionShape",
    "completion_body",
    "count_tokens",
    "stream_events",
    "truncate",
    "usage_body",
]

_PIECE = re.compile(r"\s*\S+")
DONE = b"data: [DONE]\n\n"
FINGERPRINT = "fp_evallock_demo"


@dataclass(frozen=True, kw_only=True, slots=True)
class CompletionShape:
    """The fields every completion and chunk of one response share."""

    id: str
    """``chatcmpl-…``; the same on every chunk of a stream."""
    created: int
    """Unix seconds."""
    model: str
    """The model name the client asked for."""
    n: int = 1
    """How many choices (all identical: the demo models are deterministic)."""


def count_tokens(text: str) -> int:
    """Whitespace tokens in ``text``.

    >>> count_tokens("Refunds take  5 days.")
    4
    """
    return len(text.split())


def truncate(text: str, limit: int | None) -> tuple[str, str]:
    """Cut ``text`` to ``limit`` tokens; returns the text and its ``finish_reason``.

    >>> truncate("one two three", 2)
    ('one two', 'length')
    >>> truncate("one two", None)
    ('one two', 'stop')
    """
    if limit is None:
        return text, "stop"
    words = text.split()
    if len(words) <= limit:
        return text, "stop"
    return " ".join(words[:limit]), "length"


def usage_body(prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    """The ``usage`` object, with the detail objects real services send."""
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _tool_calls(call: dict[str, Any]) -> list[dict[str, Any]]:
    function = {"name": call["name"], "arguments": call["arguments"]}
    return [{"id": call["id"], "type": "function", "function": function}]


def completion_body(
    shape: CompletionShape,
    content: str,
    finish_reason: str,
    usage: dict[str, Any],
    call: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A non-streaming ``chat.completion`` object (interop §4.2); with ``call``
    (``{"id", "name", "arguments"}``) the answer is that tool call, without text."""
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
    if call is not None:
        message = {**message, "content": None, "tool_calls": _tool_calls(call)}
        finish_reason = "tool_calls"
    choices = [
        {"index": index, "message": message, "logprobs": None, "finish_reason": finish_reason}
        for index in range(shape.n)
    ]
    return {
        "id": shape.id,
        "object": "chat.completion",
        "created": shape.created,
        "model": shape.model,
        "choices": choices,
        "usage": usage,
        "service_tier": "default",
        "system_fingerprint": FINGERPRINT,
    }


def _chunk(shape: CompletionShape, choices: list[dict[str, Any]], usage: Any = None) -> bytes:
    body = {
        "id": shape.id,
        "object": "chat.completion.chunk",
        "created": shape.created,
        "model": shape.model,
        "system_fingerprint": FINGERPRINT,
        "choices": choices,
        "usage": usage,
    }
    return b"data: " + orjson.dumps(body) + b"\n\n"


def _call_chunks(shape: CompletionShape, call: dict[str, Any], index: int) -> Iterator[bytes]:
    """A streamed tool call: its id and name first, then the arguments in two pieces."""
    head = _tool_calls({**call, "arguments": ""})[0]
    first = {"role": "assistant", "content": None, "tool_calls": [{"index": 0, **head}]}
    yield _chunk(shape, [{"index": index, "delta": first, "finish_reason": None}])
    arguments = call["arguments"]
    half = len(arguments) // 2
    for piece in (arguments[:half], arguments[half:]):
        delta = {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}
        yield _chunk(shape, [{"index": index, "delta": delta, "finish_reason": None}])
    yield _chunk(shape, [{"index": index, "delta": {}, "finish_reason": "tool_calls"}])


def stream_events(
    shape: CompletionShape,
    content: str,
    finish_reason: str,
    usage: dict[str, Any] | None,
    call: dict[str, Any] | None = None,
) -> Iterator[bytes]:
    """The SSE events of a streamed completion, ``data: [DONE]`` last (interop §4.3).

    Per choice: a role chunk, one chunk per word (with its leading space), a
    chunk with the ``finish_reason``; with ``call``, the tool call's chunks instead.
    Then, when ``usage`` is given (the client sent ``stream_options.include_usage``),
    a usage chunk with ``choices: []``.
    """
    pieces = _PIECE.findall(content)
    for index in range(shape.n):
        if call is not None:
            yield from _call_chunks(shape, call, index)
            continue
        yield _chunk(
            shape,
            [
                {
                    "index": index,
                    "delta": {"role": "assistant", "content": ""},
                    "finish_reason": None,
                }
            ],
        )
        for piece in pieces:
            yield _chunk(
                shape,
                [{"index": index, "delta": {"content": piece}, "finish_reason": None}],
            )
        yield _chunk(shape, [{"index": index, "delta": {}, "finish_reason": finish_reason}])
    if usage is not None:
        yield _chunk(shape, [], usage)
    yield DONE
