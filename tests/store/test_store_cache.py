"""The judge/target cache in the store: first write wins, namespaces, bulk lookups."""

from __future__ import annotations

HOSTILE = "'; DROP TABLE cache; -- <script>"


def test_missing_key_is_none(store):
    assert store.cache.get("judge", "nope") is None
    assert store.cache.get_many("judge", []) == {}


def test_put_then_get(store):
    value = {"score": 4, "reason": "Rückerstattung 返金 " + HOSTILE, "raw": [1, 2.5, None, True]}
    store.cache.put("judge", [(HOSTILE, value)])

    assert store.cache.get("judge", HOSTILE) == value


def test_first_write_wins_across_calls_and_within_a_batch(store):
    store.cache.put("judge", [("k1", {"v": 1})])
    store.cache.put("judge", [("k1", {"v": 2}), ("k2", {"v": "first"}), ("k2", {"v": "second"})])

    assert store.cache.get_many("judge", ["k1", "k2"]) == {"k1": {"v": 1}, "k2": {"v": "first"}}


def test_namespaces_are_separate(store):
    store.cache.put("judge", [("same", {"from": "judge"})])
    store.cache.put("target", [("same", {"from": "target"})])

    assert store.cache.get("judge", "same") == {"from": "judge"}
    assert store.cache.get("target", "same") == {"from": "target"}


def test_get_cached_many_returns_only_hits_over_many_keys(store):
    store.cache.put("target", [(f"k{i}", {"i": i}) for i in range(0, 1500, 2)])

    wanted = [f"k{i}" for i in range(1500)] + ["k0", "k0"]
    got = store.cache.get_many("target", wanted)

    assert got == {f"k{i}": {"i": i} for i in range(0, 1500, 2)}


def test_empty_put_is_a_no_op(store):
    store.cache.put("judge", [])
    assert store.cache.get_many("judge", ["x"]) == {}
