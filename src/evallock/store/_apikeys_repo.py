"""The API key repository (``store.api_keys``): keys stored by hash, revoked but never deleted.

The statements and the :class:`ApiKey` record are in ``_apikeys.py``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError

from evallock.errors import StoreError
from evallock.store import _apikeys
from evallock.store._apikeys import ApiKey
from evallock.store._database import Database
from evallock.times import utc_now

__all__ = ["ApiKeyRepository"]


class ApiKeyRepository:
    """Who may use the HTTP service: each key's hash, scope and revocation."""

    def __init__(self, db: Database) -> None:
        """Work on ``db``."""
        self._db = db

    def add(
        self, *, key_id: str, name: str, scope: str, key_hash: str, created_at: datetime
    ) -> None:
        """Record a new API key by its hash; ``scope`` is ``ingest``, ``read`` or ``admin``.

        Raises:
            ValueError: an unknown scope, an empty id or hash, or a naive time.
            StoreError: the key id or hash is taken, or the write failed.
        """
        _apikeys.check_new_key(key_id=key_id, scope=scope, key_hash=key_hash, created_at=created_at)
        action = f"cannot add API key {key_id!r}"
        try:
            with self._db.write(action) as conn:
                _apikeys.add_api_key(
                    conn,
                    key_id=key_id,
                    name=name,
                    scope=scope,
                    key_hash=key_hash,
                    created_at=created_at,
                )
        except StoreError as exc:
            if isinstance(exc.__cause__, IntegrityError):
                raise self._db.failure(
                    action, "a key with this id or hash exists already"
                ) from exc.__cause__
            raise

    def by_hash(self, key_hash: str) -> ApiKey | None:
        """The key with this hash (revoked ones too, with ``revoked_at`` set), or None."""
        with self._db.read("cannot look up an API key") as conn:
            return _apikeys.find_api_key(conn, key_hash)

    def all(self) -> list[ApiKey]:
        """Every API key, oldest first, revoked ones included."""
        with self._db.read("cannot list API keys") as conn:
            return _apikeys.list_api_keys(conn)

    def revoke(self, key_id: str) -> bool:
        """Revoke a key; True when it exists (revoking twice keeps the first time)."""
        with self._db.write(f"cannot revoke API key {key_id!r}") as conn:
            return _apikeys.revoke_api_key(conn, key_id, utc_now())
