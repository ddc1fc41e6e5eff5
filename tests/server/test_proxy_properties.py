"""Property: the recording proxy answers any request without a server error of its own.

Hostile bodies (bytes, any JSON value, chat requests with deep, huge or odd fields)
and hostile ``X-Evallock-*`` / ``baggage`` headers go through the app in process
to the bundled fake service. Whatever comes in, the answer is the upstream's, a
4xx naming what is wrong, or (for a body the upstream takes) a recorded trace;
never a 500 and never an exception out of the app.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from evallock.server import ServerSettings, create_api_key, create_app
from evallock.store import Store

_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(["user", "assistant", "system", "tool", "", "\x1b]8;;x\x07", "9" * 400]),
)
_JSON = st.recursive(
    _LEAF,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=25,
)


def _deep(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


@st.composite
def _chat_bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["bytes", "json", "chat"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "json":
        return json.dumps(draw(_JSON)).encode()
    content = draw(st.one_of(st.text(max_size=60), _JSON, st.just(_deep(300))))
    body: dict[str, Any] = {
        "model": draw(st.one_of(st.just("support-bot"), st.text(max_size=300), _LEAF)),
        "messages": draw(
            st.one_of(
                st.just([{"role": "user", "content": content}]),
                st.lists(st.dictionaries(st.sampled_from(["role", "content"]), _JSON), max_size=3),
                _JSON,
            )
        ),
    }
    if draw(st.booleans()):
        body["stream"] = draw(st.one_of(st.booleans(), _LEAF))
    if draw(st.booleans()):
        body["metadata"] = draw(st.one_of(_JSON, st.just({"deep": _deep(300)})))
    return json.dumps(body).encode()  # orjson stops at 254 levels; json does not


_HEADER_TEXT = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=400,
)
_HEADERS = st.dictionaries(
    st.sampled_from(
        [
            "X-Evallock-Intent",
            "X-Evallock-Prompt-Version",
            "X-Evallock-X",
            "baggage",
            "Helicone-Property-Tier",
            "X-Evallock-Trace-Id",
            "traceparent",
        ]
    ),
    _HEADER_TEXT,
    max_size=4,
)


def test_the_proxy_answers_hostile_requests_without_a_server_error(
    sqlite_store: Store, fake_service: Any
) -> None:
    key = create_api_key(sqlite_store, name="proxy", scope="ingest").secret
    app = create_app(
        ServerSettings(store_url=sqlite_store.url, upstream=fake_service.base_url, auth_cache_s=0),
        store=sqlite_store,
    )
    statuses: Counter[int] = Counter()
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=True) as client:

        @settings(
            max_examples=150,
            derandomize=True,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
        @given(body=_chat_bodies(), headers=_HEADERS)
        def check(body: bytes, headers: dict[str, str]) -> None:
            # Latin-1 bytes: what an HTTP/1.1 header can carry, obs-text included.
            sent = {name: value.encode("latin-1") for name, value in headers.items()}
            answer = client.post(
                "/v1/chat/completions",
                content=body,
                headers={
                    **sent,
                    "Authorization": f"Bearer {key}",
                    "Content-Type": "application/json",
                },
            )
            statuses[answer.status_code] += 1
            assert answer.status_code < 500, (answer.status_code, answer.text[:300])
            if answer.status_code >= 400:
                assert answer.json()["error"]["message"]

        check()
        stats = client.get("/healthz").json()
    assert stats["status"] == "ok"
    # Both paths were exercised: examples the upstream answered, and examples refused.
    # (How many of each depends on the shared fake service's state, so only a floor.)
    assert statuses[200] >= 3 and sum(n for s, n in statuses.items() if s >= 400) >= 10, statuses
