"""API keys in the store: stored by hash, scoped, revoked but never deleted."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from evallock.errors import StoreError
from evallock.store import ApiKey

T0 = datetime(2026, 10, 4, 9, 0, tzinfo=UTC)


def _add(store, key_id="k1", scope="ingest", key_hash="h1", name="collector"):
    store.api_keys.add(key_id=key_id, name=name, scope=scope, key_hash=key_hash, created_at=T0)


def test_add_find_and_list(store):
    _add(store)
    _add(store, "k2", "admin", "h2", "ops '; DROP TABLE api_keys; --")

    key = store.api_keys.by_hash("h1")
    assert key == ApiKey(
        key_id="k1", name="collector", scope="ingest", created_at=T0, revoked_at=None
    )
    assert key.active
    assert store.api_keys.by_hash("nope") is None
    assert [k.key_id for k in store.api_keys.all()] == ["k1", "k2"]
    assert store.api_keys.all()[1].name == "ops '; DROP TABLE api_keys; --"


def test_revoked_keys_are_found_with_their_revocation_time(store):
    _add(store)
    assert store.api_keys.revoke("k1") is True
    revoked = store.api_keys.by_hash("h1")
    assert revoked.revoked_at is not None and not revoked.active
    assert store.api_keys.revoke("k1") is True
    assert store.api_keys.by_hash("h1").revoked_at == revoked.revoked_at  # the first time is kept
    assert store.api_keys.revoke("unknown") is False


def test_ids_and_hashes_are_unique(store):
    _add(store)
    with pytest.raises(StoreError, match="exists already"):
        _add(store, key_hash="h-other")
    with pytest.raises(StoreError, match="exists already"):
        _add(store, key_id="k-other")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"scope": "write"}, "scope 'write': expected one of ingest, read, admin"),
        ({"key_id": ""}, "key_id is empty"),
        ({"key_hash": ""}, "key_hash is empty"),
        ({"created_at": datetime(2026, 10, 4)}, "naive"),
    ],
)
def test_bad_keys_are_refused(store, changes, message):
    arguments = {
        "key_id": "k1",
        "name": "n",
        "scope": "read",
        "key_hash": "h",
        "created_at": T0,
        **changes,
    }
    with pytest.raises(ValueError, match=message):
        store.api_keys.add(**arguments)
