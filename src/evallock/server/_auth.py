"""Who may call what: bearer API keys checked against their scope, per route.

Routes declare the scope they need with :func:`require`; the dependency finds
the caller's key, hashes it, looks the hash up (through a short cache, so a hot
path does not ask the store on every request), and refuses:

- **401** with ``WWW-Authenticate: Bearer`` when there is no key, or the key is
  unknown or revoked;
- **403** when the key's scope does not cover the route.

The key comes from ``Authorization: Bearer evl_…`` or ``X-Evallock-Auth: Bearer
evl_…``. The second exists for the recording proxy: a client that keeps its own
upstream key in ``Authorization`` shows its evallock key there instead. A
browser signed in to the dashboard sends a session token in the
``evallock_session`` cookie (never the key: see ``_sessions.py``), which counts
for reading (GET, HEAD) only; the key behind the session is looked up again by
its digest, so revoking it ends the session within ``auth_cache_s``. With
``--no-auth`` (loopback only) every request passes.
"""

from __future__ import annotations

import base64
import hmac
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import Request

from evallock.server._apikeys import hash_api_key, looks_like_api_key, scope_allows
from evallock.server._errors import ApiError

if TYPE_CHECKING:
    from evallock.store import ApiKeyRepository

__all__ = [
    "AUTH_HEADER",
    "SESSION_COOKIE",
    "Caller",
    "KeyCache",
    "bearer_token",
    "form_caller",
    "header_token",
    "key_required",
    "require",
    "session_csrf",
]

AUTH_HEADER = "x-evallock-auth"
"""The header that carries an evallock key when ``Authorization`` carries an upstream key."""
SESSION_COOKIE = "evallock_session"
"""The dashboard's session cookie (HttpOnly, SameSite=Strict); honoured on GET and HEAD only."""
_SAFE_METHODS = frozenset({"GET", "HEAD"})
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="evallock"'}
_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="evallock key",
    description="An evallock API key (evl_…) from `evallock keys create`.",
)


@dataclass(frozen=True, kw_only=True, slots=True)
class Caller:
    """The key a request was made with (None fields under ``--no-auth``)."""

    key_id: str | None
    """The key's id."""
    scope: str
    """Its scope (``admin`` under ``--no-auth``)."""
    in_authorization: bool
    """True when the key came in ``Authorization`` (so that header is not for the upstream)."""


class KeyCache:
    """Looked-up keys by hash, trusted for ``ttl_s`` seconds; misses are not cached."""

    def __init__(self, keys: ApiKeyRepository, ttl_s: float) -> None:
        """Cache lookups of ``keys.by_hash`` (``store.api_keys``) for ``ttl_s`` s (0: no cache)."""
        self._keys = keys
        self._ttl_s = ttl_s
        self._entries: dict[str, tuple[float, str, str]] = {}

    async def lookup(self, secret: str) -> tuple[str, str] | None:
        """``(key_id, scope)`` of a live key, or None for an unknown or revoked one."""
        return await self.lookup_digest(hash_api_key(secret))

    async def lookup_digest(self, digest: str) -> tuple[str, str] | None:
        """:meth:`lookup` by the key's stored digest (a dashboard session keeps only that)."""
        now = time.monotonic()
        hit = self._entries.get(digest)
        if hit is not None and hit[0] > now:
            return hit[1], hit[2]
        found = await anyio.to_thread.run_sync(self._keys.by_hash, digest)
        if found is None or found.revoked_at is not None:
            self._entries.pop(digest, None)
            return None
        if self._ttl_s > 0:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[digest] = (now + self._ttl_s, found.key_id, found.scope)
        return found.key_id, found.scope


def bearer_token(value: str | None) -> str | None:
    """The token of an ``Authorization``-style ``Bearer <token>`` value.

    >>> bearer_token("Bearer evl_abc"), bearer_token("Basic abc")
    ('evl_abc', None)
    """
    if not value:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def basic_secret(value: str | None) -> str | None:
    """The password of an ``Authorization: Basic`` value, when it is shaped like our key.

    The Langfuse SDK authenticates with Basic ``public_key:secret_key``: set its
    secret key to an evallock key (the public key is not checked).

    >>> import base64
    >>> basic_secret("Basic " + base64.b64encode(b"pk-lf-1:evl_" + b"a" * 43).decode())[:6]
    'evl_aa'
    >>> basic_secret("Basic " + base64.b64encode(b"user:hunter2").decode()) is None
    True
    """
    if not value:
        return None
    scheme, _, encoded = value.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded.strip() or len(encoded) > 1024:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    _, sep, secret = decoded.partition(":")
    return secret if sep and looks_like_api_key(secret) else None


def header_token(headers: Mapping[str, str]) -> tuple[str | None, bool]:
    """The evallock key request headers carry, and whether it came in ``Authorization``.

    A bearer token in ``Authorization`` that is not shaped like an evallock key is
    left alone: on the proxy it is the upstream's key, and it could never match ours.
    A Basic credential whose password is an evallock key counts (Langfuse's SDK).

    >>> header_token({"authorization": "Bearer sk-upstream"})
    (None, False)
    """
    own = bearer_token(headers.get(AUTH_HEADER))
    if own is not None:
        return own, False
    authorization = headers.get("authorization")
    token = bearer_token(authorization) or basic_secret(authorization)
    if token is not None and looks_like_api_key(token):
        return token, True
    return None, False


def key_required() -> ApiError:
    """The 401 for a request that carries no evallock key at all."""
    return ApiError(
        401,
        "an evallock API key is required: send Authorization: Bearer evl_… "
        "(or X-Evallock-Auth: Bearer evl_… when Authorization is for the upstream)",
        headers=_CHALLENGE,
    )


def _unknown_key(state: Any) -> ApiError:
    """The 401 for a key the store does not hold live, naming the store it checked (a key
    created against another store is the usual cause)."""
    return ApiError(
        401,
        f"unknown or revoked API key (checked the store {state.store.url}; keys are per store:"
        " `evallock keys list --store …`)",
        headers=_CHALLENGE,
    )


async def _session_key(request: Request, state: Any) -> tuple[str, str]:
    """``(key_id, scope)`` of the live key behind the request's session cookie.

    Only GET and HEAD get here: the cookie reads, never writes, so a page on
    another site that makes the browser POST here gets nothing from it.
    """
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise key_required()
    session = state.sessions.get(token)
    if session is None:
        raise ApiError(
            401, "the dashboard session is over: sign in again at /login", headers=_CHALLENGE
        )
    found: tuple[str, str] | None = await state.keys.lookup_digest(session.key_digest)
    if found is None or found[0] != session.key_id:
        state.sessions.end(token)
        raise _unknown_key(state)
    return found


async def form_caller(request: Request, csrf: str, scope: str) -> Caller:
    """The caller of a form posted from one of the service's own pages (the review queue).

    A browser signed in at ``/login`` posts with its session cookie; the form counts
    only when it carries the session's form token back (``csrf``), which a page of
    another site cannot read. A key in ``Authorization`` is taken as everywhere else.

    Raises:
        ApiError: 401 without a session or key, 403 without the form token or with a
            key whose scope does not cover ``scope``.
    """

    async def by_session(state: Any) -> tuple[str, str]:
        cookie = request.cookies.get(SESSION_COOKIE) or ""
        session = state.sessions.get(cookie) if cookie else None
        if session is None:
            raise key_required()
        if not session.csrf or not hmac.compare_digest(csrf.encode(), session.csrf.encode()):
            raise ApiError(403, "the form's token is missing or stale: reload the page and retry")
        return await _session_key(request, state)

    return await _caller(request, scope, by_session)


async def _caller(
    request: Request, scope: str, by_session: Callable[[Any], Awaitable[tuple[str, str]]]
) -> Caller:
    """The caller by the key in the headers, else by ``by_session``; its scope checked."""
    state = request.app.state.evallock
    token, in_authorization = header_token(request.headers)
    if state.settings.no_auth:
        return Caller(key_id=None, scope="admin", in_authorization=in_authorization)
    if token is not None:
        found = await state.keys.lookup(token)
        if found is None:
            raise _unknown_key(state)
    else:
        found = await by_session(state)
    key_id, granted = found
    if not scope_allows(granted, scope):
        raise ApiError(
            403, f"this key's scope is {granted!r}; this route needs {scope!r} (or 'admin')"
        )
    return Caller(key_id=key_id, scope=granted, in_authorization=in_authorization)


def session_csrf(request: Request) -> str:
    """The form token of the browser's session (empty without one)."""
    cookie = request.cookies.get(SESSION_COOKIE) or ""
    session = request.app.state.evallock.sessions.get(cookie) if cookie else None
    return session.csrf if session is not None else ""


def require(scope: str) -> Callable[..., Awaitable[Caller]]:
    """A dependency that admits callers whose key covers ``scope``.

    Raises (from the dependency):
        ApiError: 401 without a valid key, 403 with a key of another scope.
    """

    async def check(
        request: Request,
        _credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    ) -> Caller:
        async def by_session(state: Any) -> tuple[str, str]:
            if request.method not in _SAFE_METHODS:
                raise key_required()  # a cookie reads; it never writes through the API
            return await _session_key(request, state)

        return await _caller(request, scope, by_session)

    return check
