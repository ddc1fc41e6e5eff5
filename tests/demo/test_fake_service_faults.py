"""Fault injection over HTTP: 429 with Retry-After, 500, 400, sleeps, empty answers, latency."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from evallock.demo import FakeService, start_fake_service

Content = Callable[[httpx.Response], str]
PROMPT = "- [charged twice] Duplicate charges are refunded within 5 business days."


def _unique(marker: str) -> str:
    """A message no other test sends, so its fault attempts start at zero."""
    return f"I was charged twice {marker} ({uuid.uuid4().hex[:8]})"


def _model_stats(service: FakeService, model: str = "support-bot") -> dict[str, int]:
    counts: dict[str, int] = httpx.get(f"{service.root_url}/_stats").json()["by_model"][model]
    return counts


def test_429_twice_then_success(service: FakeService, ask: Any, content: Content) -> None:
    httpx.post(f"{service.root_url}/_stats/reset")
    message = _unique("[[fail:429x2]]")
    for _ in range(2):
        response = ask(message, system=PROMPT)
        assert response.status_code == 429
        assert response.headers["retry-after"] == "0"
        error = response.json()["error"]
        assert error["code"] == "rate_limit_exceeded"
        assert set(error) == {"message", "type", "param", "code"}
    answered = ask(message, system=PROMPT)
    assert content(answered) == "Duplicate charges are refunded within 5 business days."
    assert content(ask(message, system=PROMPT))  # and it stays answered
    assert _model_stats(service) == {"requests": 4, "answered": 2, "faults": 2}


def test_retry_after_can_be_set(ask: Any) -> None:
    message = _unique("[[fail:429x1:ra=1]]")
    first = ask(message, system=PROMPT)
    assert first.status_code == 429
    assert first.headers["retry-after"] == "1"
    assert ask(message, system=PROMPT).status_code == 200


def test_attempts_are_counted_per_request_body(ask: Any) -> None:
    message = _unique("[[fail:429x1]]")
    assert ask(message, system=PROMPT).status_code == 429
    # Same message, different body (another model): a different request, counted afresh.
    assert ask(message, system=PROMPT, model="support-bot-v1").status_code == 429
    assert ask(message, system=PROMPT).status_code == 200
    assert ask(message, system=PROMPT, model="support-bot-v1").status_code == 200


def test_500_once(ask: Any, content: Content) -> None:
    message = _unique("[[fail:500x1]]")
    failed = ask(message, system=PROMPT)
    assert failed.status_code == 500
    assert failed.json()["error"]["type"] == "server_error"
    assert "retry-after" not in failed.headers
    assert "5 business days" in content(ask(message, system=PROMPT))


def test_400_always(ask: Any) -> None:
    message = _unique("[[fail:400]]")
    for _ in range(3):
        response = ask(message, system=PROMPT)
        assert response.status_code == 400
        assert response.json()["error"]["type"] == "invalid_request_error"


def test_faults_reach_the_judge_too(ask: Any) -> None:
    message = f"<answer>\nfine\n</answer> {_unique('[[fail:503x1]]')}"
    assert ask(message, model="judge").status_code == 503
    assert ask(message, model="judge").status_code == 200


def test_reset_forgets_fault_attempts(service: FakeService, ask: Any) -> None:
    message = _unique("[[fail:429x1]]")
    assert ask(message, system=PROMPT).status_code == 429
    httpx.post(f"{service.root_url}/_stats/reset")
    assert ask(message, system=PROMPT).status_code == 429


def test_sleep_marker_delays_the_answer(ask: Any, content: Content) -> None:
    started = time.perf_counter()
    answer = content(ask(_unique("[[sleep:300]]"), system=PROMPT))
    assert time.perf_counter() - started >= 0.3
    assert answer.startswith("Duplicate charges")


def test_sleep_marker_makes_a_client_time_out(service: FakeService, ask: Any) -> None:
    body = {"model": "support-bot", "messages": [{"role": "user", "content": "[[sleep:3000]]"}]}
    started = time.perf_counter()
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{service.base_url}/chat/completions", json=body, timeout=0.2)
    assert time.perf_counter() - started < 2
    assert ask("still there?").status_code == 200


def test_empty_marker_answers_nothing(ask: Any) -> None:
    body = ask(_unique("[[empty]]"), system=PROMPT).json()
    assert body["choices"][0]["message"]["content"] == ""
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"]["completion_tokens"] == 0


def test_empty_marker_streams_no_content(ask: Any) -> None:
    response = ask(_unique("[[empty]]"), system=PROMPT, stream=True)
    assert '"content":""' in response.text
    assert '"finish_reason":"stop"' in response.text
    assert response.text.endswith("data: [DONE]\n\n")


def test_markers_do_not_change_the_answer(ask: Any, content: Content) -> None:
    plain = content(ask("I was charged twice", system=PROMPT))
    assert content(ask("I was charged twice [[sleep:1]]", system=PROMPT)) == plain


def test_latency_option_delays_every_answer() -> None:
    body = {"model": "support-bot", "messages": [{"role": "user", "content": "hi"}]}
    with start_fake_service(latency_ms=150) as slow, httpx.Client(base_url=slow.base_url) as client:
        for _ in range(2):
            started = time.perf_counter()
            assert client.post("/chat/completions", json=body).status_code == 200
            assert time.perf_counter() - started >= 0.15
        started = time.perf_counter()
        assert client.get("/models").status_code == 200
        assert time.perf_counter() - started < 0.15
