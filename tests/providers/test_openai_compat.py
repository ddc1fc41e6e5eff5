"""The OpenAI-compatible provider against the real bundled service, and Retry-After parsing."""

from __future__ import annotations

import email.utils
import time

import anyio
import pytest

from evallock.providers import OpenAICompatProvider, ProviderError, parse_retry_after

SYSTEM = {"role": "system", "content": "- [refund, charged twice] Refunds take 5 business days."}


def ask(base_url: str, text: str, *, timeout: float = 5, **kwargs: object):
    async def go():
        provider = OpenAICompatProvider(
            base_url=base_url, model=kwargs.pop("model", "support-bot"), **kwargs
        )  # type: ignore[arg-type]
        try:
            return await provider.complete(
                [SYSTEM, {"role": "user", "content": text}], timeout=timeout
            )
        finally:
            await provider.aclose()

    return anyio.run(go)


def test_answer_with_usage_and_latency(fake_service) -> None:
    completion = ask(fake_service.base_url, "I was charged twice")
    assert "5 business days" in completion.text
    assert completion.tokens_in and completion.tokens_out and completion.latency_ms > 0
    assert completion.model == "support-bot"


@pytest.mark.parametrize(
    ("marker", "status", "retryable", "retry_after"),
    [
        ("[[fail:429x1]]", 429, True, 0.0),
        ("[[fail:429x1:ra=1]]", 429, True, 1.0),
        ("[[fail:500x1]]", 500, True, None),
        ("[[fail:400]]", 400, False, None),
    ],
)
def test_errors_are_classified(fake_service, marker, status, retryable, retry_after) -> None:
    with pytest.raises(ProviderError) as info:
        ask(fake_service.base_url, f"hello {marker} {time.time_ns()}")
    error = info.value
    assert error.status == status and error.retryable is retryable
    assert error.retry_after == retry_after
    assert f"HTTP {status}" in str(error)


def test_unknown_model_is_a_non_retryable_404_with_the_server_message(fake_service) -> None:
    with pytest.raises(ProviderError) as info:
        ask(fake_service.base_url, "hi", model="no-such-model")
    assert info.value.status == 404 and not info.value.retryable
    assert "no-such-model" in str(info.value)


def test_timeout_and_connection_refused_are_retryable(fake_service, closed_port) -> None:
    with pytest.raises(ProviderError, match="timed out") as info:
        ask(fake_service.base_url, "hi [[sleep:2000]]", timeout=0.2)
    assert info.value.retryable and info.value.status is None
    with pytest.raises(ProviderError, match="cannot connect") as info:
        ask(f"http://127.0.0.1:{closed_port}/v1", "hi")
    assert info.value.retryable and info.value.status is None


def test_bearer_key_is_sent(tmp_path) -> None:
    from evallock.demo import start_fake_service

    with start_fake_service(api_key="sk-test") as service:
        assert "business days" in ask(service.base_url, "charged twice", api_key="sk-test").text
        with pytest.raises(ProviderError) as info:
            ask(service.base_url, "charged twice", api_key="wrong")
    assert info.value.status == 401 and not info.value.retryable


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({}) is None
    assert parse_retry_after({"retry-after": "soon"}) is None
    future = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 < (parse_retry_after({"retry-after": future}) or 0) <= 31
    past = email.utils.formatdate(time.time() - 30, usegmt=True)
    assert parse_retry_after({"retry-after": past}) == 0.0


def test_the_responses_api_gives_the_same_answer_with_its_usage(
    fake_service, service_stats
) -> None:
    chat = ask(fake_service.base_url, "I was charged twice")
    responses = ask(fake_service.base_url, "I was charged twice", api="responses")
    assert responses.text == chat.text
    assert (responses.tokens_in, responses.tokens_out) == (chat.tokens_in, chat.tokens_out)
    assert responses.model == "support-bot"
    assert service_stats.get()["by_path"]["/v1/responses"] == 1
    with pytest.raises(ProviderError, match="404") as refused:
        ask(fake_service.base_url, "hi", api="responses", model="no-such-model")
    assert not refused.value.retryable
    with pytest.raises(ValueError, match="expected one of chat, responses"):
        OpenAICompatProvider(base_url=fake_service.base_url, model="m", api="completions")


def test_a_cost_the_service_reports_is_read_from_usage_or_litellms_header(fake_service) -> None:
    assert ask(fake_service.base_url, "charged twice").cost is None
    assert ask(fake_service.base_url, "charged twice [[cost:0.0125]]").cost == 0.0125
    assert ask(fake_service.base_url, "charged twice [[cost:0.5:header]]").cost == 0.5


def test_a_price_costs_the_tokens_unless_the_service_reported_a_cost(fake_service) -> None:
    from evallock.providers import Price

    price = Price(input=1000.0, output=2000.0)
    plain = ask(fake_service.base_url, "charged twice")
    assert plain.tokens_in is not None and plain.tokens_out is not None
    expected = (plain.tokens_in * 1000 + plain.tokens_out * 2000) / 1e6
    assert price.priced(plain).cost == pytest.approx(expected)
    reported = ask(fake_service.base_url, "charged twice [[cost:0.0125]]")
    assert price.priced(reported).cost == 0.0125
    with pytest.raises(ValueError, match=r"price\.output must be a number ≥ 0"):
        Price(input=1.0, output=float("nan"))


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_tools_are_offered_and_tool_calls_read_back(fake_service, api) -> None:
    tools = [
        {
            "type": "function",
            "function": {"name": "order_status", "parameters": {"type": "object"}},
        },
        {"type": "function", "function": {"name": "refund"}},
    ]

    async def go():
        provider = OpenAICompatProvider(
            base_url=fake_service.base_url, model="support-bot", api=api
        )
        try:
            return await provider.complete(
                [{"role": "user", "content": "what is my order status"}], timeout=5, tools=tools
            )
        finally:
            await provider.aclose()

    completion = anyio.run(go)
    (call,) = completion.tool_calls
    assert call.name == "order_status" and call.id
    assert '"query"' in call.arguments
    assert ask(fake_service.base_url, "what is my order status").tool_calls == ()
