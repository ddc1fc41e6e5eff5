"""Dashboard sessions in memory: random tokens, expiry, a bound on their number; doctests."""

from __future__ import annotations

import doctest
import importlib
import time

import pytest

from evallock.server._sessions import SessionStore


def test_a_session_is_found_by_its_token_until_it_ends_or_expires() -> None:
    sessions = SessionStore(ttl_s=60)
    token = sessions.create(key_id="key_1", key_digest="d" * 64)
    assert len(token) >= 43 and not token.startswith("evl_")
    found = sessions.get(token)
    assert found is not None and (found.key_id, found.key_digest) == ("key_1", "d" * 64)
    assert sessions.get(token + "x") is None
    sessions.end(token)
    assert sessions.get(token) is None and len(sessions) == 0
    short = SessionStore(ttl_s=0.05)
    token = short.create(key_id="key_1", key_digest="d" * 64)
    time.sleep(0.1)
    assert short.get(token) is None and len(short) == 0


def test_past_the_bound_the_oldest_session_goes_first() -> None:
    sessions = SessionStore(max_sessions=3)
    tokens = [sessions.create(key_id=f"key_{n}", key_digest="d" * 64) for n in range(5)]
    assert len(sessions) == 3
    assert [sessions.get(token) is not None for token in tokens] == [
        False,
        False,
        True,
        True,
        True,
    ]


@pytest.mark.parametrize("name", ["_bodylimit", "_hosts", "_budget", "_errors", "_auth", "_tags"])
def test_doctests(name: str) -> None:
    result = doctest.testmod(importlib.import_module(f"evallock.server.{name}"))
    assert result.failed == 0 and result.attempted > 0
