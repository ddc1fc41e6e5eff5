"""The recording proxy with the official ``openai`` SDK: streaming and not, keys, errors, failures.

The app runs in process (the SDK and httpx reach it through a transport); its
upstream is a real one, the bundled fake service or a scripted upstream. Relaying
chunk by chunk and a client hanging up mid-stream are about the socket: those two
run a real server.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import openai
import pytest

from evallock.server import RunningServer
from evallock.store import Store

from .conftest import InProcessServer, wait_for
from .upstream import ScriptedUpstream

QUESTION = [
    {"role": "system", "content": "You answer refund questions. Refunds take 5 business days."},
    {"role": "user", "content": "How long does a refund take?"},
]


def sdk(server: InProcessServer | RunningServer, key: str, **options: Any) -> openai.OpenAI:
    if isinstance(server, InProcessServer):
        return server.openai(key, **options)
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0, **options)


def direct(fake_service: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=fake_service.base_url, api_key="unused", max_retries=0)


def stored(store: Store, trace_id: str) -> Any:
    return wait_for(lambda: store.traces.get(trace_id))


def test_non_streaming_answer_and_trace(app_server, api_keys, store: Store, fake_service) -> None:
    server = app_server
    headers = {"X-Evallock-Prompt-Version": "refund-v4", "X-Evallock-Customer-Tier": "enterprise"}
    with sdk(server, api_keys["ingest"], default_headers=headers) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="support-bot", messages=QUESTION
        )
        completion = raw.parse()
        trace_id = raw.headers["x-evallock-trace-id"]
    with direct(fake_service) as upstream:
        expected = upstream.chat.completions.create(model="support-bot", messages=QUESTION)
    assert completion.choices[0].message.content == expected.choices[0].message.content
    assert completion.usage == expected.usage
    trace = stored(store, trace_id)
    assert trace.source == "proxy"
    assert trace.input == "How long does a refund take?"
    assert trace.output == expected.choices[0].message.content
    assert trace.messages == QUESTION
    assert (trace.tokens_in, trace.tokens_out) == (
        expected.usage.prompt_tokens,
        expected.usage.completion_tokens,
    )
    assert trace.model == "support-bot"
    assert trace.latency_ms > 0 and trace.ttft_ms is None and trace.error is None
    assert trace.keys == {"prompt_version": "refund-v4", "customer_tier": "enterprise"}


@pytest.mark.parametrize("include_usage", [True, False])
def test_streaming_answer_and_trace(
    app_server, api_keys, store: Store, fake_service, include_usage
) -> None:
    server = app_server
    options = {"stream_options": {"include_usage": True}} if include_usage else {}
    with sdk(server, api_keys["ingest"]) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="support-bot", messages=QUESTION, stream=True, **options
        )
        chunks = list(raw.parse())
        trace_id = raw.headers["x-evallock-trace-id"]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    with direct(fake_service) as upstream:
        expected = upstream.chat.completions.create(model="support-bot", messages=QUESTION)
    assert text == expected.choices[0].message.content
    if include_usage:
        assert chunks[-1].choices == [] and chunks[-1].usage is not None
    else:  # the proxy asked for usage, for the trace; the client never sees that event
        assert all(c.choices and c.usage is None for c in chunks)
    trace = stored(store, trace_id)
    assert trace.output == text
    assert trace.ttft_ms is not None and trace.ttft_ms <= trace.latency_ms
    assert trace.error is None
    # token counts are recorded whether or not the client asked for usage
    assert (trace.tokens_in, trace.tokens_out) == (
        expected.usage.prompt_tokens,
        expected.usage.completion_tokens,
    )


def test_without_stream_usage_the_request_goes_up_as_sent_and_tokens_stay_unknown(
    app_factory, api_keys, store: Store, scripted_upstream: ScriptedUpstream
) -> None:
    upstream = scripted_upstream
    with sdk(app_factory(upstream=upstream.base_url), api_keys["ingest"]) as client:
        list(client.chat.completions.create(model="m", messages=QUESTION, stream=True))
    assert json.loads(upstream.seen[0]["body"])["stream_options"] == {"include_usage": True}
    server = app_factory(upstream=upstream.base_url, stream_usage=False)
    with sdk(server, api_keys["ingest"]) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="m", messages=QUESTION, stream=True
        )
        list(raw.parse())
        trace_id = raw.headers["x-evallock-trace-id"]
    assert "stream_options" not in json.loads(upstream.seen[1]["body"])
    trace = stored(store, trace_id)
    assert trace.tokens_in is None and trace.tokens_out is None  # unknown, never 0


def test_raw_stream_is_passed_through_unchanged(app_server, api_keys, fake_service) -> None:
    body = {
        "model": "support-bot",
        "messages": QUESTION,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    auth = {"Authorization": f"Bearer {api_keys['ingest']}"}
    via_proxy = app_server.post("/v1/chat/completions", json=body, headers=auth)
    straight = httpx.post(f"{fake_service.base_url}/chat/completions", json=body, timeout=30)
    assert via_proxy.headers["content-type"] == straight.headers["content-type"]
    assert via_proxy.headers["x-request-id"]  # upstream headers come through

    def events(text: str) -> list[str]:
        import re

        return [re.sub(r'"(id|created)":("[^"]*"|\d+)', "", e) for e in text.split("\n\n") if e]

    assert events(via_proxy.text) == events(straight.text)
    assert via_proxy.text.rstrip().endswith("data: [DONE]")


@pytest.mark.slow
def test_chunks_are_relayed_as_they_arrive(server_factory, api_keys, store: Store) -> None:
    """The socket is the point: each chunk reaches the client when the upstream sends it."""
    with ScriptedUpstream(pause_s=0.4) as upstream:
        server = server_factory(upstream=upstream.base_url)
        with sdk(server, api_keys["ingest"]) as client:
            started = time.perf_counter()
            arrivals = []
            raw = client.chat.completions.with_raw_response.create(
                model="m", messages=QUESTION, stream=True
            )
            for chunk in raw.parse():
                arrivals.append(time.perf_counter() - started)
            trace_id = raw.headers["x-evallock-trace-id"]
    assert arrivals[0] < 0.3, arrivals  # the first word did not wait for the rest
    assert arrivals[-1] > 0.8
    trace = stored(store, trace_id)
    assert trace.output == "Refunds take five days."
    assert trace.ttft_ms < 300 and trace.latency_ms > 800


def test_keys_from_every_source_and_our_headers_stripped(
    app_factory, api_keys, store: Store, scripted_upstream: ScriptedUpstream
) -> None:
    upstream = scripted_upstream
    server = app_factory(upstream=upstream.base_url, upstream_api_key="sk-upstream")
    headers = {
        "X-Evallock-Intent": "refund",
        "baggage": "evallock.prompt_version=v14,evallock.customer_tier=gold,userid=7",
        "Helicone-Property-Retriever-Version": "bm25-2026-02",
        "Helicone-Auth": "Bearer helicone-secret",
        "x-litellm-tags": "billing,eu",
        "traceparent": "00-89d60bc7acef1141d97392b18134d84b-bd01cef332e6d1cd-01",
    }
    with sdk(server, api_keys["ingest"], default_headers=headers) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="m", messages=QUESTION, metadata={"experiment": "B", "feature": "refunds"}
        )
    forwarded = upstream.headers()
    body = upstream.seen[-1]["body"]
    assert raw.headers["x-evallock-trace-id"] == "89d60bc7acef1141d97392b18134d84b"
    assert not [h for h in forwarded if h.startswith(("x-evallock-", "helicone-", "x-litellm-"))]
    assert forwarded["authorization"] == "Bearer sk-upstream"  # our key never goes upstream
    assert forwarded["baggage"].startswith("evallock.prompt_version=v14")
    assert forwarded["traceparent"].startswith("00-89d60bc7")
    assert b'"metadata":{"experiment":"B","feature":"refunds"}' in body.replace(b" ", b"")
    trace = stored(store, "89d60bc7acef1141d97392b18134d84b")
    assert trace.keys == {
        "experiment": "B",
        "feature": "refunds",
        "retriever_version": "bm25-2026-02",
        "prompt_version": "v14",
        "customer_tier": "gold",
        "intent": "refund",
    }


def test_client_keeps_its_upstream_key_with_x_evallock_auth(
    app_factory, api_keys, scripted_upstream: ScriptedUpstream
) -> None:
    upstream = scripted_upstream
    server = app_factory(upstream=upstream.base_url)
    own = {"X-Evallock-Auth": f"Bearer {api_keys['ingest']}"}
    with sdk(server, "sk-client-upstream-key", default_headers=own) as client:
        client.chat.completions.create(model="m", messages=QUESTION)
    assert upstream.headers()["authorization"] == "Bearer sk-client-upstream-key"
    with (
        sdk(server, "sk-client-upstream-key") as client,
        pytest.raises(openai.AuthenticationError),
    ):
        client.chat.completions.create(model="m", messages=QUESTION)


@pytest.mark.parametrize(
    ("marker", "error"),
    [("[[fail:429]]", openai.RateLimitError), ("[[fail:400]]", openai.BadRequestError)],
)
def test_upstream_errors_come_back_as_they_came(
    app_server, api_keys, store: Store, marker, error
) -> None:
    server = app_server
    messages = [{"role": "user", "content": f"refund? {marker}"}]
    with sdk(server, api_keys["ingest"]) as client, pytest.raises(error) as caught:
        client.chat.completions.create(model="support-bot", messages=messages)
    status = 429 if "429" in marker else 400
    assert caught.value.status_code == status
    assert f"Injected fault: HTTP {status}" in caught.value.message
    trace_id = caught.value.response.headers["x-evallock-trace-id"]
    trace = stored(store, trace_id)
    assert trace.error.startswith(f"upstream HTTP {status}: Injected fault")
    assert trace.output is None


def test_unreachable_upstream_is_a_502_and_recorded(
    app_factory, api_keys, store: Store, closed_port
) -> None:
    server = app_factory(upstream=f"http://127.0.0.1:{closed_port}/v1")
    with (
        sdk(server, api_keys["ingest"]) as client,
        pytest.raises(openai.InternalServerError) as caught,
    ):
        client.chat.completions.create(model="support-bot", messages=QUESTION)
    assert caught.value.status_code == 502
    assert "did not answer" in caught.value.message
    trace = stored(store, caught.value.response.headers["x-evallock-trace-id"])
    assert "did not answer" in trace.error


def test_a_failing_store_never_breaks_the_answer(app_server, api_keys, store: Store) -> None:
    server = app_server

    class Broken:
        def add_traces(self, traces: list[Any], spans: Any) -> int:
            raise RuntimeError("disk full")

        def add_feedback(self, items: list[Any]) -> int:
            raise RuntimeError("disk full")

    server.app.state.evallock.writer._sink = Broken()
    with sdk(server, api_keys["ingest"]) as client:
        answer = client.chat.completions.create(model="support-bot", messages=QUESTION)
        streamed = list(
            client.chat.completions.create(model="support-bot", messages=QUESTION, stream=True)
        )
    assert answer.choices[0].message.content
    assert streamed
    health = wait_for(
        lambda: (h := server.get("/healthz").json())["metrics"]["recording_failures"] >= 2 and h
    )
    assert health["metrics"]["recording_failures"] == 2
    assert store.traces.count() == 0


def test_auth_on_the_proxy(app_server, api_keys) -> None:
    server = app_server
    with sdk(server, "sk-not-ours") as client, pytest.raises(openai.AuthenticationError) as missing:
        client.chat.completions.create(model="support-bot", messages=QUESTION)
    assert missing.value.response.headers["www-authenticate"].startswith("Bearer")
    with sdk(server, api_keys["read"]) as client, pytest.raises(openai.PermissionDeniedError):
        client.chat.completions.create(model="support-bot", messages=QUESTION)
    with sdk(server, api_keys["admin"]) as client:
        assert client.chat.completions.create(model="support-bot", messages=QUESTION).choices


def test_client_chosen_trace_id_and_proxy_off(app_factory, api_keys, store: Store) -> None:
    server = app_factory()
    chosen = {"X-Evallock-Trace-Id": "4BF92F3577B34DA6A3CE929D0E0E4736"}
    with sdk(server, api_keys["ingest"], default_headers=chosen) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="support-bot", messages=QUESTION
        )
    assert raw.headers["x-evallock-trace-id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert stored(store, "4bf92f3577b34da6a3ce929d0e0e4736").output
    bad = {"X-Evallock-Trace-Id": "<b>not-an-id</b>"}
    with (
        sdk(server, api_keys["ingest"], default_headers=bad) as client,
        pytest.raises(openai.BadRequestError) as caught,
    ):
        client.chat.completions.create(model="support-bot", messages=QUESTION)
    assert caught.value.body["param"] == "X-Evallock-Trace-Id"
    off = app_factory(upstream=None)
    with sdk(off, api_keys["ingest"]) as client, pytest.raises(openai.NotFoundError) as caught_off:
        client.chat.completions.create(model="support-bot", messages=QUESTION)
    assert "--upstream" in caught_off.value.message


@pytest.mark.slow
def test_a_client_that_hangs_up_mid_stream_is_recorded(
    server_factory, api_keys, store: Store
) -> None:
    """The socket is the point: the client closes its connection after the first chunk."""
    with ScriptedUpstream(pause_s=0.5) as upstream:
        server = server_factory(upstream=upstream.base_url)
        body = {"model": "m", "messages": QUESTION, "stream": True}
        auth = {"Authorization": f"Bearer {api_keys['ingest']}"}
        with (
            httpx.Client(timeout=10) as client,
            client.stream(
                "POST", f"{server.url}/v1/chat/completions", json=body, headers=auth
            ) as answer,
        ):
            trace_id = answer.headers["x-evallock-trace-id"]
            next(answer.iter_bytes())  # the first word, then hang up
        trace = stored(store, trace_id)
    assert trace.error == "client disconnected before the stream ended"
    assert trace.output == "Refunds "


def test_upstream_sees_only_allowed_headers_never_our_key_or_cookie(
    app_factory, api_keys, scripted_upstream: ScriptedUpstream
) -> None:
    key = api_keys["ingest"]
    upstream = scripted_upstream
    server = app_factory(upstream=upstream.base_url)
    headers = {
        "Authorization": "Bearer sk-client-upstream-key",
        "X-Evallock-Auth": f"Bearer {key}",
        "Cookie": f"evallock_session=s3cret; evallock_key={key}",
        "OpenAI-Organization": "org-1",
        "X-Stainless-Lang": "python",
        "User-Agent": "my-app/1.0",
        "X-Internal-Token": "never-leaves",
        "X-Forwarded-For": "10.0.0.1",
        "X-Request-Id": "req-7",
    }
    body = {"model": "m", "messages": QUESTION}
    answer = server.post("/v1/chat/completions", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    forwarded = upstream.headers()
    # The client's evallock key in Authorization is dropped, and nothing takes its place.
    own = server.post(
        "/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {key}", "Cookie": f"evallock_key={key}"},
    )
    assert own.status_code == 200, own.text
    bare = upstream.headers()
    assert "cookie" not in forwarded and "cookie" not in bare
    assert not [name for name in forwarded if name.startswith("x-evallock-")]
    assert forwarded["authorization"] == "Bearer sk-client-upstream-key"
    assert forwarded["openai-organization"] == "org-1"
    assert forwarded["x-stainless-lang"] == "python"
    assert forwarded["user-agent"] == "my-app/1.0"
    assert forwarded["x-request-id"] == "req-7"
    assert "x-internal-token" not in forwarded and "x-forwarded-for" not in forwarded
    assert "authorization" not in bare
    for seen in (forwarded, bare):
        assert not [value for value in seen.values() if key in value or "s3cret" in value]


def test_a_key_header_past_its_limit_is_a_422_naming_the_header(
    app_factory, api_keys, store: Store, scripted_upstream: ScriptedUpstream
) -> None:
    upstream = scripted_upstream
    server = app_factory(upstream=upstream.base_url)
    long = {"X-Evallock-Intent": "x" * 300}
    with (
        sdk(server, api_keys["ingest"], default_headers=long) as client,
        pytest.raises(openai.UnprocessableEntityError) as caught,
    ):
        client.chat.completions.create(model="m", messages=QUESTION)
    assert caught.value.body["param"] == "X-Evallock-Intent"
    assert "300 characters" in caught.value.body["message"]
    assert caught.value.body["type"] == "invalid_request_error"
    many = {f"k{n}": "v" for n in range(65)}
    with (
        sdk(server, api_keys["ingest"]) as client,
        pytest.raises(openai.UnprocessableEntityError) as too_many,
    ):
        client.chat.completions.create(model="m", messages=QUESTION, metadata=many)
    assert too_many.value.body["param"] == "keys"
    assert upstream.seen == []  # refused before anything went upstream
    assert store.traces.count() == 0


def test_deeply_nested_metadata_is_a_422_not_a_500(app_server, api_keys) -> None:
    deep: Any = "x"
    for _ in range(300):
        deep = [deep]
    answer = app_server.post(
        "/v1/chat/completions",
        json={"model": "m", "messages": QUESTION, "metadata": {"intent": deep}},
        headers={"Authorization": f"Bearer {api_keys['ingest']}"},
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["param"] == "keys.intent"


def test_prompt_vars_header_is_recorded_on_the_trace_never_a_key_nor_sent_upstream(
    app_factory, api_keys, store: Store, scripted_upstream: ScriptedUpstream
) -> None:
    upstream = scripted_upstream
    server = app_factory(upstream=upstream.base_url)
    headers = {
        "X-Evallock-Prompt-Vars": '{"plan": "enterprise", "region": {"code": "eu"}}',
        "X-Evallock-Customer-Tier": "enterprise",
    }
    with sdk(server, api_keys["ingest"], default_headers=headers) as client:
        raw = client.chat.completions.with_raw_response.create(model="m", messages=QUESTION)
        trace_id = raw.headers["x-evallock-trace-id"]
    trace = stored(store, trace_id)
    assert trace.vars == {"plan": "enterprise", "region": {"code": "eu"}}
    assert trace.keys == {"customer_tier": "enterprise"}
    sent = set(upstream.headers(0))
    assert not any(name.startswith("x-evallock") for name in sent)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("{not json", "not JSON"),
        ('["plan", "enterprise"]', "JSON object"),
        ('{"plan": ' + "[" * 40 + "1" + "]" * 40 + "}", "nest"),
    ],
)
def test_a_bad_prompt_vars_header_is_a_422_before_anything_goes_upstream(
    app_factory, api_keys, store: Store, scripted_upstream: ScriptedUpstream, value, says
) -> None:
    upstream = scripted_upstream
    server = app_factory(upstream=upstream.base_url)
    with (
        sdk(server, api_keys["ingest"], default_headers={"X-Evallock-Prompt-Vars": value}) as c,
        pytest.raises(openai.UnprocessableEntityError) as caught,
    ):
        c.chat.completions.create(model="m", messages=QUESTION)
    assert caught.value.body["param"] == "X-Evallock-Prompt-Vars"
    assert says in caught.value.body["message"]
    assert upstream.seen == [] and store.traces.count() == 0


def test_models_and_embeddings_pass_through_unrecorded(
    app_factory, api_keys, store: Store, fake_service
) -> None:
    with sdk(app_factory(), api_keys["ingest"]) as client:
        ids = {model.id for model in client.models.list()}
        assert {"support-bot", "judge"} <= ids
        assert client.models.retrieve("support-bot").id == "support-bot"
        with pytest.raises(openai.NotFoundError):  # the upstream's 404, as it sent it
            client.models.retrieve("no-such-model")
    with sdk(app_factory(), "sk-not-ours") as client, pytest.raises(openai.AuthenticationError):
        client.models.list()
    assert store.traces.count() == 0  # not traces: nothing recorded


TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "order_status",
            "description": "Where an order is.",
            "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
        },
    }
]
WHERE = [{"role": "user", "content": "What is my order status?"}]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_tool_calls_are_stored_in_one_shape_streamed_or_not(
    app_server, api_keys, store: Store, stream
) -> None:
    """The SDK's own parse of the answer and the stored trace agree, call for call."""
    from evallock.records import ToolCall

    with sdk(app_server, api_keys["ingest"]) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="support-bot", messages=WHERE, tools=TOOLS, stream=stream
        )
        trace_id = raw.headers["x-evallock-trace-id"]
        if stream:
            calls: dict[int, dict[str, str]] = {}
            for chunk in raw.parse():
                for delta in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
                    slot = calls.setdefault(delta.index, {"arguments": ""})
                    slot["id"] = delta.id or slot.get("id", "")
                    slot["name"] = delta.function.name or slot.get("name", "")
                    slot["arguments"] += delta.function.arguments or ""
            seen = [ToolCall(**c) for c in calls.values()]
        else:
            message = raw.parse().choices[0].message
            assert message.content is None
            seen = [
                ToolCall(name=c.function.name, arguments=c.function.arguments, id=c.id)
                for c in message.tool_calls
            ]
    assert [call.name for call in seen] == ["order_status"]
    assert json.loads(seen[0].arguments) == {"query": "What is my order status?"}
    trace = stored(store, trace_id)
    assert trace.tool_calls == seen
    assert trace.output is None  # the answer was the call
    assert trace.tokens_out is not None


def test_the_tool_result_turn_is_answered_and_recorded(app_server, api_keys, store: Store) -> None:
    with sdk(app_server, api_keys["ingest"]) as client:
        first = client.chat.completions.create(model="support-bot", messages=WHERE, tools=TOOLS)
        call = first.choices[0].message.tool_calls[0]
        history = [
            *WHERE,
            first.choices[0].message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": "shipped on Monday"},
        ]
        raw = client.chat.completions.with_raw_response.create(
            model="support-bot", messages=history, tools=TOOLS
        )
        answer = raw.parse().choices[0].message.content
    assert answer == "The tools say: shipped on Monday"
    trace = stored(store, raw.headers["x-evallock-trace-id"])
    assert trace.output == answer
    assert trace.tool_calls == []  # the call belongs to the trace that made it
    assert trace.messages[-1] == history[-1]


POLICY = "Greeting: Hi!\n- [refund] Refunds take 5 business days."
FLAT_TOOLS = [
    {
        "type": "function",
        "name": "order_status",
        "description": "Where an order is.",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
    }
]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_responses_api_is_relayed_and_recorded(app_server, api_keys, store: Store, stream) -> None:
    from evallock.records import ToolCall

    question = "How long does a refund take?"
    headers = {"X-Evallock-Prompt-Version": "refund-v5"}
    with sdk(app_server, api_keys["ingest"], default_headers=headers) as client:
        raw = client.responses.with_raw_response.create(
            model="support-bot", instructions=POLICY, input=question, stream=stream
        )
        trace_id = raw.headers["x-evallock-trace-id"]
        if stream:
            events = list(raw.parse())
            assert events[-1].type == "response.completed"
            answer = events[-1].response
        else:
            answer = raw.parse()
        calling = client.responses.with_raw_response.create(
            model="support-bot", input="What is my order status?", tools=FLAT_TOOLS
        )
        called = calling.parse()
    assert answer.output_text == "Hi! Refunds take 5 business days."
    trace = stored(store, trace_id)
    assert (trace.input, trace.output, trace.model) == (question, answer.output_text, "support-bot")
    assert trace.messages == [
        {"role": "system", "content": POLICY},
        {"role": "user", "content": question},
    ]
    assert (trace.tokens_in, trace.tokens_out) == (
        answer.usage.input_tokens,
        answer.usage.output_tokens,
    )
    assert trace.keys == {"prompt_version": "refund-v5"}
    assert trace.error is None and trace.tool_calls == []
    assert (trace.ttft_ms is not None) == stream
    [call] = called.output
    recorded = stored(store, calling.headers["x-evallock-trace-id"])
    assert recorded.tool_calls == [
        ToolCall(name=call.name, arguments=call.arguments, id=call.call_id)
    ]
    assert recorded.output is None


def test_responses_api_errors_and_tool_results_are_recorded(
    app_server, api_keys, store: Store
) -> None:
    with sdk(app_server, api_keys["ingest"]) as client:
        with pytest.raises(openai.NotFoundError):
            client.responses.create(model="no-such-model", input="hi")
        first = client.responses.create(
            model="support-bot", input="What is my order status?", tools=FLAT_TOOLS
        )
        call = first.output[0]
        history = [
            {"role": "user", "content": "What is my order status?"},
            {"type": "function_call", "call_id": call.call_id, "name": call.name,
             "arguments": call.arguments},
            {"type": "function_call_output", "call_id": call.call_id, "output": "shipped"},
        ]  # fmt: skip
        raw = client.responses.with_raw_response.create(
            model="support-bot", input=history, tools=FLAT_TOOLS
        )
        answer = raw.parse()
    assert answer.output_text == "The tools say: shipped"
    trace = stored(store, raw.headers["x-evallock-trace-id"])
    assert trace.output == answer.output_text
    assert trace.messages[1]["tool_calls"][0]["function"]["name"] == "order_status"
    assert trace.messages[2] == {"role": "tool", "tool_call_id": call.call_id, "content": "shipped"}
    failed = wait_for(lambda: [t for t in store.traces.find(limit=10) if t.error is not None])
    assert "404" in failed[0].error and failed[0].model == "no-such-model"
