"""Body limits at the door: every request body bounded by its route, before a route reads it.

A pure ASGI middleware in front of every route, so no route (nor FastAPI's own
body parsing for the review API) can buffer more than its limit:

- a write (any method but GET, HEAD and OPTIONS) that carries **no evallock key
  at all** is answered 401 before a byte of its body is read, when keys are on;
  ``/login``, ``/logout`` and the health routes are open (the key check proper,
  scopes and revocation, stays in ``_auth.require``);
- a ``Content-Length`` past the route's limit is answered **413** before
  anything is read;
- a body without a length (chunked) is counted as it arrives and cut off with
  413 the moment it passes the limit; whatever the route had begun to answer is
  replaced by the 413.

=====================================================  ==================
route                                                  limit
=====================================================  ==================
``/v1/traces``, ``/v1/logs``, ``/v1/metrics``          ``max_body_bytes``
``/v1/chat/completions``, ``/v1/responses``            ``max_body_bytes``
``/v1/embeddings``                                     ``max_body_bytes``
``/v1/feedback``, ``/api/public/scores``               ``max_body_bytes``
``/api/public/ingestion``                              ``max_body_bytes``
``/v1/trace_annotations``, ``/v1/span_annotations``    ``max_body_bytes``
``/api/public/otel/v1/traces``                         ``max_body_bytes``
``/login``, ``/logout``                                4 KiB
``/api/*`` and every other route                       256 KiB
=====================================================  ==================

Routes still read through ``_limits.read_body``, which applies the same cap
after ``Content-Encoding`` is undone. Refusals are rendered like every other
error (``_errors.render_error``): OTLP status, OpenAI envelope or ``detail``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.requests import Request

from evallock.server._auth import SESSION_COOKIE, header_token, key_required
from evallock.server._errors import OTLP_PATHS, ApiError, render_error
from evallock.server._limits import too_large
from evallock.server._settings import ServerSettings

__all__ = ["FORM_LIMIT", "SMALL_LIMIT", "BodyLimit", "body_limit"]

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Message, Receive, Send], Awaitable[None]]

FORM_LIMIT = 4 * 1024
"""The sign-in form's limit (a key is 47 characters)."""
SMALL_LIMIT = 256 * 1024
"""The limit of every route not named in the table: the review API's JSON bodies."""
_LARGE_PATHS = OTLP_PATHS | {
    "/v1/chat/completions",
    "/v1/responses",
    "/v1/feedback",
    "/v1/labels",
    "/v1/trace_annotations",
    "/v1/span_annotations",
    "/api/public/scores",
    "/api/public/ingestion",
    "/v1/embeddings",
}
_FORM_PATHS = frozenset({"/login", "/logout"})
_OPEN_PATHS = _FORM_PATHS | {"/healthz", "/readyz"}
_READS = frozenset({"GET", "HEAD", "OPTIONS"})
_REVIEW_FORMS = "/queue/"


def body_limit(path: str, settings: ServerSettings) -> int:
    """The largest body, in bytes, a request to ``path`` may send.

    >>> settings = ServerSettings()
    >>> body_limit("/login", settings), body_limit("/api/candidates/c1/accept", settings)
    (4096, 262144)
    """
    if path in _LARGE_PATHS:
        return settings.max_body_bytes
    if path in _FORM_PATHS:
        return FORM_LIMIT
    return SMALL_LIMIT


class _BodyTooLarge(Exception):
    """Raised into the route by ``receive`` once the body passed its limit."""


class BodyLimit:
    """The middleware: 401 for a keyless write, 413 for a body past its route's limit.

    Args:
        app: the ASGI app it guards.
        settings: the service's options (``max_body_bytes``, ``no_auth``).
    """

    def __init__(self, app: App, *, settings: ServerSettings) -> None:
        """Guard ``app`` with the limits of ``settings``."""
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        """Refuse at the door, or pass the request on with a counting ``receive``."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        path: str = scope["path"]
        if (
            not self.settings.no_auth
            and scope["method"] not in _READS
            and path not in _OPEN_PATHS
            and header_token(request.headers)[0] is None
            # the review queue's forms (labelling's too) come with a session cookie (and,
            # checked by the route, the session's form token)
            and not (path.startswith(_REVIEW_FORMS) and SESSION_COOKIE in request.cookies)
        ):
            await _refuse(request, key_required(), receive, send)
            return
        limit = body_limit(path, self.settings)
        declared = request.headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > limit:
            await _refuse(request, too_large(limit), receive, send)
            return
        guard = _Guard(receive, send, limit)
        try:
            await self.app(scope, guard.receive, guard.send)
        except Exception:
            # Whatever the route made of a body cut off under it (FastAPI answers a
            # failed read with 400) gives way to the 413 below.
            if not guard.cut_off:
                raise
        if guard.cut_off and not guard.started:
            await _refuse(request, too_large(limit), receive, send)


class _Guard:
    """Counts the body as the route reads it; once past the limit, holds back the answer."""

    def __init__(self, receive: Receive, send: Send, limit: int) -> None:
        self._receive = receive
        self._send = send
        self._limit = limit
        self._size = 0
        self.cut_off = False
        self.started = False

    async def receive(self) -> Message:
        if self.cut_off:
            raise _BodyTooLarge
        message = await self._receive()
        if message["type"] == "http.request":
            self._size += len(message.get("body", b""))
            if self._size > self._limit:
                self.cut_off = True
                raise _BodyTooLarge
        return message

    async def send(self, message: Message) -> None:
        if self.cut_off and not self.started:
            return  # the 413 goes out instead
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)


async def _refuse(request: Request, error: ApiError, receive: Receive, send: Send) -> None:
    response = render_error(request, error)
    await response(request.scope, receive, send)
