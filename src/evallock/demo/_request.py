"""Request handling of the fake service: reading, parsing and rejecting requests.

A request that cannot be answered raises :class:`Reject` anywhere in a handler;
the app's router turns it into an error response in the OpenAI shape
(interop §4.4): ``{"error": {"message", "type", "param", "code"}}``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from evallock.demo._faults import error_body

__all__ = [
    "Receive",
    "Reject",
    "Scope",
    "Send",
    "choice_count",
    "max_tokens",
    "model_not_found",
    "model_request",
    "parse_request",
    "read_body",
    "require_method",
]

Scope = MutableMapping[str, Any]
"""An ASGI connection scope."""
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
"""The ASGI ``receive`` callable."""
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
"""The ASGI ``send`` callable."""

_MAX_BODY = 16 * 1024 * 1024
_MAX_N = 8


class Reject(Exception):
    """A request answered with an error; raised inside a handler, sent by the router."""

    def __init__(
        self, status: int, message: str, *, param: str | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = error_body(status, message, code=code, param=param)


def require_method(method: str, allowed: str) -> None:
    """Reject a request whose method is not ``allowed`` (405)."""
    if method != allowed:
        raise Reject(405, f"Method {method} not allowed here; use {allowed}.")


async def read_body(receive: Receive) -> bytes:
    """The whole request body; one ``receive`` in the usual case of a single chunk."""
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        return body
    parts = bytearray(body)
    while message.get("more_body", False):
        message = await receive()
        parts += message.get("body", b"")
        if len(parts) > _MAX_BODY:
            raise Reject(413, "Request body too large.")
    return bytes(parts)


def model_request(body: bytes) -> dict[str, Any]:
    """A request body that is a JSON object naming a model; else a 400 as OpenAI words it."""
    try:
        request = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise Reject(
            400, "We could not parse the JSON body of your request. It is not valid JSON."
        ) from None
    if not isinstance(request, dict):
        raise Reject(400, "The request body must be a JSON object.")
    if not isinstance(request.get("model"), str) or not request["model"]:
        raise Reject(400, "You must provide a model parameter.", param="model")
    return request


def parse_request(body: bytes) -> dict[str, Any]:
    """Parse a chat completion request; bad JSON, no model or no messages are 400s."""
    request = model_request(body)
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages:
        raise Reject(400, "'messages' must be a non-empty array.", param="messages")
    return request


def max_tokens(request: dict[str, Any]) -> int | None:
    """``max_completion_tokens`` (or the older ``max_tokens``), None when unset."""
    limit = request.get("max_completion_tokens", request.get("max_tokens"))
    if limit is None:
        return None
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise Reject(400, "max_completion_tokens must be a positive integer.", param="max_tokens")
    return limit


def choice_count(request: dict[str, Any]) -> int:
    """``n``, the number of choices asked for (1 to 8)."""
    n = request.get("n", 1)
    if n is None:
        return 1
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= _MAX_N:
        raise Reject(400, f"n must be an integer from 1 to {_MAX_N}.", param="n")
    return n


def model_not_found(name: str) -> Reject:
    """The 404 ``model_not_found`` error, worded as OpenAI words it."""
    message = f"The model `{name}` does not exist or you do not have access to it."
    return Reject(404, message, code="model_not_found")
