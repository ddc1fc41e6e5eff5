"""Trace and span ids: random new ones, and every spelling they arrive in."""

from __future__ import annotations

import re

import pytest

from evallock.traces import new_trace_id, normalise_trace_id
from evallock.traces._ids import id_from_bytes, id_from_text


def test_new_trace_ids_are_random_lower_case_hex():
    ids = {new_trace_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(re.fullmatch(r"[0-9a-f]{32}", value) for value in ids)


@pytest.mark.parametrize(
    ("text", "size", "expected"),
    [
        ("00F067AA0BA902B7", 8, "00f067aa0ba902b7"),
        ("APBnqgupArc=", 8, "00f067aa0ba902b7"),
        ("4bf92f3577b34da6a3ce929d0e0e4736", 16, "4bf92f3577b34da6a3ce929d0e0e4736"),
        ("S/kvNXezTaajzpKdDg5HNg==", 16, "4bf92f3577b34da6a3ce929d0e0e4736"),
    ],
)
def test_ids_from_hex_and_base64(text, size, expected):
    assert id_from_text(text, size) == expected


@pytest.mark.parametrize(
    ("text", "size", "reason"),
    [
        ("0" * 16, 8, "all zero"),
        ("AAAAAAAAAAA=", 8, "all zero"),
        ("abcd", 8, "is not 16 hex characters"),
        ("S/kvNXezTaajzpKdDg5H", 16, "is not 32 hex characters"),
    ],
)
def test_bad_ids(text, size, reason):
    with pytest.raises(ValueError, match=reason):
        id_from_text(text, size)


def test_ids_from_bytes():
    assert id_from_bytes(bytes(range(1, 9)), 8) == "0102030405060708"
    with pytest.raises(ValueError, match="is 4 bytes, expected 8"):
        id_from_bytes(b"\x01\x02\x03\x04", 8)
    with pytest.raises(ValueError, match="all zero"):
        id_from_bytes(bytes(16), 16)


def test_normalise_trace_id():
    assert (
        normalise_trace_id(" 4BF92F3577B34DA6A3CE929D0E0E4736 ")
        == "4bf92f3577b34da6a3ce929d0e0e4736"
    )
    with pytest.raises(ValueError):
        normalise_trace_id("4bf92f35-77b3")
