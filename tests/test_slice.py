"""One slice identity: every per-slice result carries a ``keys.Slice``, labelled one way."""

from __future__ import annotations

import pytest

from evallock.ab import analyse_slices
from evallock.keys import Slice


def test_a_slice_pairs_keys_with_values_and_labels_a_missing_key() -> None:
    s = Slice.from_keys(["customer_tier", "intent"], {"customer_tier": "pro", "intent": ""})
    assert s == Slice.of(("customer_tier", "intent"), ("pro", None))
    assert hash(s) == hash(Slice.of(["customer_tier", "intent"], ["pro", None]))
    assert s.label == str(s) == "customer_tier=pro,intent=(none)"
    assert s.as_dict() == {"customer_tier": "pro", "intent": None}
    assert s.get("customer_tier") == "pro" and s.get("absent") is None
    with pytest.raises(ValueError, match="one value per key"):
        Slice.of(["a", "b"], ["x"])


def test_ab_slices_carry_the_slice_type() -> None:
    a = {f"c{i}": [1.0] for i in range(6)}
    b = {f"c{i}": [1.0] for i in range(6)}
    keys = {f"c{i}": ({"customer_tier": "pro"} if i % 2 else {}) for i in range(6)}
    results = analyse_slices(
        a, b, keys, ["customer_tier"], metric="pass", alpha=0.05, min_effect=0.05, min_pairs=2
    )
    assert [r.slice for r in results] == [
        Slice.of(["customer_tier"], [None]),
        Slice.of(["customer_tier"], ["pro"]),
    ]
    assert [r.label for r in results] == ["customer_tier=(none)", "customer_tier=pro"]
