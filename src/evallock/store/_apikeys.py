"""API keys: who may write to the HTTP service, stored as hashes, revoked but never deleted.

The store never sees a key itself, only its hash (the server hashes what a client
sends and looks the hash up). A revoked key keeps its row with ``revoked_at`` set,
so a request made with it can be told "revoked" rather than "unknown".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Connection, Row

from evallock.store._schema import API_KEY_SCOPES, api_keys

__all__ = [
    "ApiKey",
    "add_api_key",
    "check_new_key",
    "find_api_key",
    "list_api_keys",
    "revoke_api_key",
]

_FIND = select(api_keys).where(api_keys.c.key_hash == bindparam("key_hash"))
_LIST = select(api_keys).order_by(api_keys.c.created_at, api_keys.c.key_id)
_EXISTS = select(api_keys.c.key_id).where(api_keys.c.key_id == bindparam("key_id"))


@dataclass(frozen=True, kw_only=True, slots=True)
class ApiKey:
    """An API key's record (never the key itself, nor its hash)."""

    key_id: str
    """Public id of the key, shown in listings and used to revoke it."""
    name: str
    """What the key is for, as its creator named it."""
    scope: str
    """``ingest``, ``read`` or ``admin``."""
    created_at: datetime
    """When it was created (UTC)."""
    revoked_at: datetime | None = None
    """When it was revoked; None while it is valid."""

    @property
    def active(self) -> bool:
        """True while the key has not been revoked."""
        return self.revoked_at is None


def _key_from_row(row: Row[Any]) -> ApiKey:
    m = row._mapping
    return ApiKey(
        key_id=m["key_id"],
        name=m["name"],
        scope=m["scope"],
        created_at=m["created_at"],
        revoked_at=m["revoked_at"],
    )


def check_new_key(*, key_id: str, scope: str, key_hash: str, created_at: datetime) -> None:
    """Refuse an unknown scope, empty id or hash, or a naive time.

    Raises:
        ValueError: naming the field.
    """
    if scope not in API_KEY_SCOPES:
        raise ValueError(f"scope {scope!r}: expected one of {', '.join(API_KEY_SCOPES)}")
    if not key_id:
        raise ValueError("key_id is empty")
    if not key_hash:
        raise ValueError("key_hash is empty")
    if created_at.utcoffset() is None:
        raise ValueError("created_at is a naive datetime; pass a timezone-aware time")


def add_api_key(
    conn: Connection,
    *,
    key_id: str,
    name: str,
    scope: str,
    key_hash: str,
    created_at: datetime,
) -> None:
    """Insert a key row (the caller has checked it with :func:`check_new_key`)."""
    conn.execute(
        api_keys.insert(),
        {
            "key_id": key_id,
            "name": name,
            "scope": scope,
            "key_hash": key_hash,
            "created_at": created_at,
        },
    )


def find_api_key(conn: Connection, key_hash: str) -> ApiKey | None:
    """The key with this hash, revoked or not; None when there is none."""
    row = conn.execute(_FIND, {"key_hash": key_hash}).first()
    return None if row is None else _key_from_row(row)


def list_api_keys(conn: Connection) -> list[ApiKey]:
    """Every key, oldest first."""
    return [_key_from_row(row) for row in conn.execute(_LIST)]


def revoke_api_key(conn: Connection, key_id: str, now: datetime) -> bool:
    """Revoke a key (the first revocation time is kept); False when there is no such key."""
    stmt = (
        update(api_keys)
        .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    conn.execute(stmt)
    return conn.execute(_EXISTS, {"key_id": key_id}).first() is not None
