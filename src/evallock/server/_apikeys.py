"""API keys: made once, shown once, stored only as a SHA-256 hash, checked by scope.

A key reads ``evl_<43 url-safe characters>`` (256 random bits), so it is easy to
spot in a config file and to tell apart from an upstream provider's key. The
store keeps ``sha256(key)``; a request's key is hashed and looked up, never
compared in the clear and never logged. Scopes nest: ``admin`` may do what
``ingest`` and ``read`` may.

This module is plain library code (no web framework), so ``evallock keys``
uses it without starting a server.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Final, Literal, get_args

from evallock.errors import UsageError

if TYPE_CHECKING:
    from evallock.store import Store

__all__ = [
    "KEY_PREFIX",
    "SCOPES",
    "CreatedKey",
    "Scope",
    "create_api_key",
    "hash_api_key",
    "looks_like_api_key",
    "scope_allows",
]

Scope = Literal["ingest", "read", "admin"]
SCOPES: Final[tuple[str, ...]] = get_args(Scope)
"""Every scope: ``ingest`` writes traces and feedback, ``read`` reads ``/api``, ``admin`` both."""
KEY_PREFIX: Final = "evl_"
"""How every evallock API key starts."""


@dataclass(frozen=True, kw_only=True, slots=True)
class CreatedKey:
    """A new key as it is shown to its owner, the one time the secret is known."""

    key_id: str
    """The key's public id (for ``evallock keys revoke``)."""
    name: str
    """What it is for, as its owner named it."""
    scope: str
    """``ingest``, ``read`` or ``admin``."""
    secret: str
    """The key itself; not stored anywhere."""
    created_at: datetime
    """When it was made (UTC)."""


def hash_api_key(secret: str) -> str:
    """The stored form of a key: its SHA-256, as 64 hex digits.

    >>> hash_api_key("evl_example")[:16]
    '1c41984f53a08296'
    """
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def looks_like_api_key(token: str) -> bool:
    """True for a token shaped like an evallock key (not, say, an upstream provider's key)."""
    return token.startswith(KEY_PREFIX) and len(token) > len(KEY_PREFIX)


def scope_allows(granted: str, needed: str) -> bool:
    """True when a key with scope ``granted`` may do what needs ``needed``.

    >>> scope_allows("admin", "read"), scope_allows("ingest", "read")
    (True, False)
    """
    return granted == needed or granted == "admin"


def create_api_key(store: Store, *, name: str, scope: str) -> CreatedKey:
    """Make a key, store its hash, and return the secret (which is not kept).

    Args:
        store: an open :class:`evallock.store.Store`.
        name: what the key is for (shown by ``evallock keys list``).
        scope: ``ingest``, ``read`` or ``admin``.

    Raises:
        UsageError: an unknown scope or an empty name.
        StoreError: the store cannot be written.
    """
    from evallock.times import utc_now

    if scope not in SCOPES:
        raise UsageError(f"--scope {scope!r}: expected one of {', '.join(SCOPES)}")
    if not name.strip():
        raise UsageError("--name: give the key a name that says what it is for")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key_id = "key_" + secrets.token_hex(8)
    created_at = utc_now()
    store.api_keys.add(
        key_id=key_id,
        name=name.strip(),
        scope=scope,
        key_hash=hash_api_key(secret),
        created_at=created_at,
    )
    return CreatedKey(
        key_id=key_id, name=name.strip(), scope=scope, secret=secret, created_at=created_at
    )
