"""Trace and span ids: 32 and 16 lower-case hex digits, whatever spelling they arrive in.

OTLP/JSON writes ids as hex (not base64, as plain proto3 JSON would); naive
encoders write base64 anyway, protobuf carries raw bytes, and people paste UUIDs.
Every spelling is turned into lower-case hex here, and all-zero ids (W3C: invalid)
are refused.
"""

from __future__ import annotations

import binascii
import secrets

from evallock.traces._batch import shown

__all__ = [
    "id_from_bytes",
    "id_from_text",
    "new_trace_id",
    "normalise_trace_id",
]

_HEX = frozenset("0123456789abcdefABCDEF")
_WHAT = {16: "trace id", 8: "span id"}


def new_trace_id() -> str:
    """A new random trace id: 32 lower-case hex digits, never all zero.

    >>> len(new_trace_id())
    32
    """
    while True:
        value = secrets.token_hex(16)
        if value != "0" * 32:
            return value


def id_from_bytes(raw: bytes, size: int) -> str:
    """Hex of a protobuf id of ``size`` bytes (16 trace, 8 span).

    Raises:
        ValueError: the wrong length, or all zero.
    """
    if len(raw) != size:
        raise ValueError(f"is {len(raw)} bytes, expected {size}")
    if not any(raw):
        raise ValueError(f"is all zero (an invalid {_WHAT.get(size, 'id')})")
    return raw.hex()


def id_from_text(text: str, size: int) -> str:
    """Hex of an OTLP/JSON id of ``size`` bytes: hex (any case) or, defensively, base64.

    Raises:
        ValueError: neither hex nor base64 of the right length, or all zero.

    >>> id_from_text("4BF92F3577B34DA6A3CE929D0E0E4736", 16)
    '4bf92f3577b34da6a3ce929d0e0e4736'
    >>> id_from_text("S/kvNXezTaajzpKdDg5HNg==", 16)
    '4bf92f3577b34da6a3ce929d0e0e4736'
    """
    if len(text) == 2 * size and _HEX.issuperset(text):
        value = text.lower()
        if value.count("0") == len(value):
            raise ValueError(f"is all zero (an invalid {_WHAT.get(size, 'id')})")
        return value
    try:
        raw = binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) == size:
        return id_from_bytes(raw, size)
    raise ValueError(f"is not {2 * size} hex characters")


def normalise_trace_id(value: str) -> str:
    """A trace id as 32 lower-case hex digits; accepts hex in any case and dashed UUIDs.

    Raises:
        ValueError: not 32 hex digits, or all zero.

    >>> normalise_trace_id("4BF92F35-77B3-4DA6-A3CE-929D0E0E4736")
    '4bf92f3577b34da6a3ce929d0e0e4736'
    """
    text = value.strip()
    if len(text) == 36 and text.count("-") == 4:
        text = text.replace("-", "")
    if len(text) != 32 or not _HEX.issuperset(text):
        raise ValueError(f"{shown(value)} is not a trace id (32 hex digits)")
    text = text.lower()
    if text == "0" * 32:
        raise ValueError("an all-zero trace id is invalid")
    return text
