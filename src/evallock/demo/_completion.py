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


def completion_body(
    shape: CompletionShape, content: str, finish_reason: str, usage: dict[str, Any]
) -> dict[str, Any]:
    """A non-streaming ``chat.completion`` object (interop §4.2)."""
    choices = [
        {
            "index": index,
            "message": {"role": "assistant", "content": content, "refusal": None},
            "logprobs": None,
            "finish_reason": finish_reason,
        }
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


def stream_events(
    shape: CompletionShape,
    content: str,
    finish_reason: str,
    usage: dict[str, Any] | None,
) -> Iterator[bytes]:
    """The SSE events of a streamed completion, ``data: [DONE]`` last (interop §4.3).

    Per choice: a role chunk, one chunk per word (with its leading space), a
    chunk with the ``finish_reason``. Then, when ``usage`` is given (the client
    sent ``stream_options.include_usage``), a usage chunk with ``choices: []``.
    """
    pieces = _PIECE.findall(content)
    for index in range(shape.n):
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
