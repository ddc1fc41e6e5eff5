"""The cache repository (``store.cache``): judge verdicts and target answers by key.

Each namespace (``judge``, ``target``) maps a key to a JSON value. The first
value written under a key stays: a second write of the same key is ignored, so
two runs caching the same answer at once never conflict.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select

from evallock.store._database import Database
from evallock.store._engine import insert_or_ignore
from evallock.store._runs import IN_CHUNK
from evallock.store._schema import cache
from evallock.times import utc_now

__all__ = ["CacheRepository"]

_GET_CACHED = select(cache.c.key, cache.c.value).where(
    cache.c.namespace == bindparam("namespace"),
    cache.c.key.in_(bindparam("keys", expanding=True)),
)


class CacheRepository:
    """Cached values by namespace and key; the first write of a key wins."""

    def __init__(self, db: Database) -> None:
        """Work on ``db``."""
        self._db = db
        self._insert = insert_or_ignore(db.dialect, cache)

    def get(self, namespace: str, key: str) -> dict[str, Any] | None:
        """The cached value under ``namespace``/``key``, or None."""
        return self.get_many(namespace, [key]).get(key)

    def get_many(self, namespace: str, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The cached values for those keys that have one, by key."""
        found: dict[str, dict[str, Any]] = {}
        unique = list(dict.fromkeys(keys))
        with self._db.read(f"cannot read the {namespace} cache") as conn:
            for start in range(0, len(unique), IN_CHUNK):
                params = {"namespace": namespace, "keys": unique[start : start + IN_CHUNK]}
                found.update((row.key, row.value) for row in conn.execute(_GET_CACHED, params))
        return found

    def put(self, namespace: str, items: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Cache values in one transaction; a key that already has a value keeps it."""
        first: dict[str, dict[str, Any]] = {}
        for key, value in items:
            first.setdefault(key, value)
        if not first:
            return
        now = utc_now()
        rows = [
            {"namespace": namespace, "key": key, "value": value, "created_at": now}
            for key, value in first.items()
        ]
        with self._db.write(f"cannot write the {namespace} cache") as conn:
            conn.execute(self._insert, rows)
