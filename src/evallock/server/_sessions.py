"""Dashboard sessions: a random token in the browser's cookie, the key it stands for kept here.

Signing in at ``/login`` makes a session: a token of 256 random bits
(``secrets.token_urlsafe(32)``) goes into the HttpOnly cookie, and the service
keeps ``sha256(token)`` → the key's id, the key's stored digest and an expiry,
in memory, with a second random token for the session's forms (CSRF: a page of
the service carries it, a page of another site cannot read it). The API key
itself never reaches the cookie, so a cookie that leaks
(a shared machine, a proxy log) is worth one sign-in of at most twelve hours,
ended at once by ``POST /logout`` and within ``auth_cache_s`` by revoking the key:
every request re-checks the key by its digest (see ``_auth.py``).

Sessions live only in the process: **they end when the service restarts** (the
browser is sent to ``/login`` again), and each worker process of a
multi-process deployment keeps its own. At most ``max_sessions`` are kept;
past that the oldest is forgotten first.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

__all__ = ["SESSION_TTL_S", "Session", "SessionStore"]

SESSION_TTL_S = 12 * 3600
"""How long a session lasts from sign-in (the cookie's ``Max-Age`` too)."""
_MAX_SESSIONS = 10_000


@dataclass(frozen=True, kw_only=True, slots=True)
class Session:
    """What a session token stands for."""

    key_id: str
    """The id of the key that signed in."""
    key_digest: str
    """The key's stored form (``hash_api_key``), to look it up again on every request."""
    expires: float
    """``time.monotonic()`` after which the session is over."""
    csrf: str = ""
    """The session's form token: the review pages put it in each form they serve, and a
    form posted with the session's cookie counts only when it carries it back."""


class SessionStore:
    """Live sessions by the SHA-256 of their token, bounded in count.

    Args:
        ttl_s: how long a session lasts from its creation.
        max_sessions: most sessions kept; the oldest goes first past it.
    """

    def __init__(self, *, ttl_s: float = SESSION_TTL_S, max_sessions: int = _MAX_SESSIONS) -> None:
        self._ttl_s = ttl_s
        self._max = max(1, max_sessions)
        # Insertion order is creation order, so the first entry is always the oldest.
        self._sessions: dict[str, Session] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def create(self, *, key_id: str, key_digest: str) -> str:
        """Start a session for a checked key; returns the token for the cookie."""
        now = time.monotonic()
        if len(self._sessions) >= self._max:
            self._sweep(now)
        while len(self._sessions) >= self._max:
            del self._sessions[next(iter(self._sessions))]
        token = secrets.token_urlsafe(32)
        self._sessions[_digest(token)] = Session(
            key_id=key_id,
            key_digest=key_digest,
            expires=now + self._ttl_s,
            csrf=secrets.token_urlsafe(32),
        )
        return token

    def get(self, token: str) -> Session | None:
        """The live session of a cookie's token, or None (unknown, ended or expired)."""
        digest = _digest(token)
        found = self._sessions.get(digest)
        if found is None:
            return None
        if found.expires <= time.monotonic():
            del self._sessions[digest]
            return None
        return found

    def end(self, token: str) -> None:
        """End a session (signing out); an unknown token is ignored."""
        self._sessions.pop(_digest(token), None)

    def _sweep(self, now: float) -> None:
        for digest in [d for d, s in self._sessions.items() if s.expires <= now]:
            del self._sessions[digest]


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
