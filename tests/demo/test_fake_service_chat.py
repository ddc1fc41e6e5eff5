"""The fake service's OpenAI surface: completions, streaming, models, errors, auth, stats."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest

from evallock.demo import FakeService, start_fake_service

Content = Callable[[httpx.Response], str]

PROMPT = """You are a support bot.
- [refund, money back] Refunds take 30 days.
- [charged twice, duplicate] Duplicate charges are refunded within 5 business days.
- [shipping] Shipping takes 3 days.
- [refund] This line never wins a tie with the first refund line.
"""


def test_completion_has_the_openai_shape(ask: Any) -> None:
    response = ask("I was charged twice!", system=PROMPT)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["id"].startswith("chatcmpl-")
    assert response.headers["x-request-id"] == body["id"]
    assert body["object"] == "chat.completion"
    assert isinstance(body["created"], int)
    assert body["model"] == "support-bot"
    [choice] = body["choices"]
    assert choice["index"] == 0
    assert choice["finish_reason"] == "stop"
    assert choice["message"] == {
        "role": "assistant",
        "content": "Duplicate charges are refunded within 5 business days.",
        "refusal": None,
    }
    usage = body["usage"]
    assert usage["completion_tokens"] == 8
    assert usage["prompt_tokens"] == len(PROMPT.split()) + 4
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["prompt_tokens_details"]["cached_tokens"] == 0


def test_ids_differ_between_requests(ask: Any) -> None:
    first, second = ask("refund", system=PROMPT), ask("refund", system=PROMPT)
    assert first.json()["id"] != second.json()["id"]


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("Can I get my money back?", "Refunds take 30 days."),
        (
            "refund please, I was charged twice",
            "Duplicate charges are refunded within 5 business days.",
        ),
        ("REFUND??", "Refunds take 30 days."),  # a tie goes to the first line
        ("When does shipping happen?", "Shipping takes 3 days."),
        ("What's the weather?", "I'm not sure, let me connect you with a human."),
    ],
)
def test_bot_answers_with_the_best_matching_policy_line(
    ask: Any, content: Content, question: str, answer: str
) -> None:
    assert content(ask(question, system=PROMPT)) == answer


def test_changing_the_prompt_changes_the_answer(ask: Any, content: Content) -> None:
    other = PROMPT.replace("Refunds take 30 days.", "Refunds take 14 days.")
    assert content(ask("money back?", system=PROMPT)) == "Refunds take 30 days."
    assert content(ask("money back?", system=other)) == "Refunds take 14 days."


def test_bot_without_system_prompt_hands_over(ask: Any, content: Content) -> None:
    assert content(ask("refund")) == "I'm not sure, let me connect you with a human."


def test_greeting_line_prefixes_every_answer(ask: Any, content: Content) -> None:
    prompt = "Greeting: Hello!\n" + PROMPT
    assert content(ask("shipping?", system=prompt)) == "Hello! Shipping takes 3 days."
    assert content(ask("hm", system=prompt)).startswith("Hello! I'm not sure")


def test_bot_reads_the_last_user_message_and_content_parts(
    client: httpx.Client, content: Content
) -> None:
    messages = [
        {"role": "system", "content": [{"type": "text", "text": PROMPT}]},
        {"role": "user", "content": "shipping"},
        {"role": "assistant", "content": "Shipping takes 3 days."},
        {"role": "user", "content": [{"type": "text", "text": "and a refund?"}]},
    ]
    response = client.post("/chat/completions", json={"model": "support-bot", "messages": messages})
    assert content(response) == "Refunds take 30 days."


@pytest.mark.parametrize("alias", ["support-bot-v1", "support-bot-v2"])
def test_aliases_answer_like_support_bot(ask: Any, content: Content, alias: str) -> None:
    response = ask("charged twice", system=PROMPT, model=alias)
    assert response.json()["model"] == alias
    assert content(response) == content(ask("charged twice", system=PROMPT))


def _events(response: httpx.Response) -> list[str]:
    """SSE ``data:`` payloads, parsed by hand: events are separated by a blank line."""
    assert response.headers["content-type"].startswith("text/event-stream")
    events = []
    for block in response.text.split("\n\n"):
        if not block:
            continue
        assert block.startswith("data: "), block
        events.append(block.removeprefix("data: "))
    return events


def test_streaming_sends_chunks_usage_and_done(ask: Any) -> None:
    response = ask(
        "charged twice", system=PROMPT, stream=True, stream_options={"include_usage": True}
    )
    assert response.status_code == 200
    events = _events(response)
    assert events[-1] == "[DONE]"
    chunks = [orjson.loads(event) for event in events[:-1]]
    assert {chunk["id"] for chunk in chunks} == {chunks[0]["id"]}
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "Duplicate charges are refunded within 5 business days."
    assert len(chunks) == 1 + 8 + 1 + 1  # role, one per word, finish, usage
    finish = chunks[-2]
    assert finish["choices"][0]["finish_reason"] == "stop"
    assert finish["choices"][0]["delta"] == {}
    usage_chunk = chunks[-1]
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"]["completion_tokens"] == 8
    assert all(chunk["usage"] is None for chunk in chunks[:-1])


def test_streaming_without_include_usage_has_no_usage_chunk(ask: Any) -> None:
    events = _events(ask("shipping", system=PROMPT, stream=True))
    assert events[-1] == "[DONE]"
    chunks = [orjson.loads(event) for event in events[:-1]]
    assert all(chunk["choices"] for chunk in chunks)
    assert all(chunk["usage"] is None for chunk in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_max_tokens_truncates_with_finish_reason_length(ask: Any) -> None:
    body = ask("charged twice", system=PROMPT, max_completion_tokens=3).json()
    assert body["choices"][0]["message"]["content"] == "Duplicate charges are"
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 3
    legacy = ask("charged twice", system=PROMPT, max_tokens=2).json()
    assert legacy["choices"][0]["message"]["content"] == "Duplicate charges"


def test_n_returns_that_many_choices(ask: Any) -> None:
    body = ask("shipping", system=PROMPT, n=3).json()
    assert [choice["index"] for choice in body["choices"]] == [0, 1, 2]
    assert body["usage"]["completion_tokens"] == 3 * 4


def test_models_are_listed(client: httpx.Client) -> None:
    listing = client.get("/models").json()
    assert listing["object"] == "list"
    names = {model["id"] for model in listing["data"]}
    assert {"support-bot", "support-bot-v1", "support-bot-v2", "judge"} <= names
    assert client.get("/models/judge").json()["id"] == "judge"
    missing = client.get("/models/gpt-9")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "model_not_found"


def test_health_answers_ok(service: FakeService) -> None:
    response = httpx.get(f"{service.root_url}/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def _assert_openai_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str) and error["message"]
    return error


def test_unknown_model_is_404_model_not_found(ask: Any) -> None:
    error = _assert_openai_error(ask("hi", model="gpt-4o"), 404)
    assert error["code"] == "model_not_found"
    assert error["type"] == "invalid_request_error"
    assert "gpt-4o" in error["message"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b"{not json", None),
        (b"[1, 2]", None),
        (b'{"messages": [{"role": "user", "content": "hi"}]}', "model"),
        (b'{"model": "support-bot", "messages": []}', "messages"),
        (b'{"model": "support-bot", "messages": [{"role": "user", "content": "x"}], "n": 0}', "n"),
    ],
)
def test_bad_requests_are_400(client: httpx.Client, body: bytes, param: str | None) -> None:
    response = client.post(
        "/chat/completions", content=body, headers={"content-type": "application/json"}
    )
    error = _assert_openai_error(response, 400)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param


def test_a_large_body_arriving_in_chunks_is_read_whole(ask: Any, content: Content) -> None:
    filler = "Be polite to every customer, whatever they ask. " * 8000  # ~400 kB
    assert content(ask("shipping", system=filler + PROMPT)) == "Shipping takes 3 days."


def test_a_bug_in_a_model_is_a_500_in_the_openai_shape(
    ask: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(messages: list[Any]) -> str:
        raise ValueError("boom")

    monkeypatch.setattr("evallock.demo._asgi.answer_support", broken)
    error = _assert_openai_error(ask("shipping", system=PROMPT), 500)
    assert error["type"] == "server_error"


def test_unknown_path_and_wrong_method(client: httpx.Client) -> None:
    _assert_openai_error(client.post("/completions", json={}), 404)
    _assert_openai_error(client.get("/chat/completions"), 405)


def test_api_key_is_required_when_configured() -> None:
    with start_fake_service(api_key="sk-demo") as secured:
        url = f"{secured.base_url}/chat/completions"
        body = {"model": "support-bot", "messages": [{"role": "user", "content": "hi"}]}
        missing = httpx.post(url, json=body)
        assert _assert_openai_error(missing, 401)["type"] == "invalid_request_error"
        wrong = httpx.post(url, json=body, headers={"Authorization": "Bearer sk-wrong"})
        assert _assert_openai_error(wrong, 401)["code"] == "invalid_api_key"
        assert httpx.get(f"{secured.base_url}/models").status_code == 401
        right = httpx.post(url, json=body, headers={"Authorization": "Bearer sk-demo"})
        assert right.status_code == 200
        assert httpx.get(f"{secured.root_url}/health").status_code == 200


def test_stats_count_requests_and_reset(service: FakeService, ask: Any) -> None:
    root = service.root_url
    assert httpx.post(f"{root}/_stats/reset").json() == {"reset": True}
    ask("shipping", system=PROMPT)
    ask("shipping", system=PROMPT, model="judge")
    ask("hi", model="nope")
    stats = httpx.get(f"{root}/_stats").json()
    assert stats["requests"] == 3
    assert stats["by_path"] == {"/v1/chat/completions": 3}
    assert stats["by_status"] == {"200": 2, "404": 1}
    assert stats["by_model"] == {
        "judge": {"requests": 1, "answered": 1, "faults": 0},
        "support-bot": {"requests": 1, "answered": 1, "faults": 0},
    }
    assert service.stats() == stats
    service.reset_stats()
    assert service.stats() == {
        "requests": 0,
        "by_path": {},
        "by_status": {},
        "by_model": {},
    }
