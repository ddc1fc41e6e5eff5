"""Proxy traces: one chat completion relayed by the recording proxy as a trace summary."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from evallock.traces import trace_from_chat

STARTED = datetime(2026, 10, 4, 9, 12, 44, tzinfo=UTC)
REQUEST = {
    "model": "support-bot",
    "messages": [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": "First question"},
        {"role": "assistant", "content": "First answer"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Where is "},
                {"type": "image_url", "image_url": {"url": "x"}},
                {"type": "text", "text": "my order?"},
            ],
        },
    ],
    "stream": True,
}


def _chat(**changes):
    arguments = {
        "request": REQUEST,
        "response_text": "It ships tomorrow.",
        "model": "support-bot-2026-10",
        "usage": {"prompt_tokens": 40, "completion_tokens": 6, "total_tokens": 46},
        "started_at": STARTED,
        "latency_ms": 812.5,
        "ttft_ms": 120.0,
        "error": None,
        "keys": {"prompt_version": "support-v4", "customer_tier": "pro", "intent": ""},
    }
    arguments.update(changes)
    return trace_from_chat(**arguments)


def test_a_streamed_chat_completion():
    trace = _chat(trace_id="4BF92F3577B34DA6A3CE929D0E0E4736")
    assert trace.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert trace.timestamp == STARTED
    assert trace.input == "Where is \nmy order?"
    assert trace.messages == REQUEST["messages"]
    assert trace.messages is not REQUEST["messages"]
    assert (trace.output, trace.model, trace.tokens_in, trace.tokens_out) == (
        "It ships tomorrow.",
        "support-bot-2026-10",
        40,
        6,
    )
    assert (trace.latency_ms, trace.ttft_ms, trace.error, trace.source) == (
        812.5,
        120.0,
        None,
        "proxy",
    )
    assert trace.keys == {"prompt_version": "support-v4", "customer_tier": "pro"}


def test_a_failed_request_without_usage_gets_a_new_trace_id_and_the_requested_model():
    trace = _chat(
        response_text=None, model=None, usage=None, ttft_ms=None, error="upstream 502: bad gateway"
    )
    assert re.fullmatch(r"[0-9a-f]{32}", trace.trace_id)
    assert (trace.output, trace.model, trace.tokens_in, trace.error) == (
        None,
        "support-bot",
        None,
        "upstream 502: bad gateway",
    )
    assert _chat().trace_id != _chat().trace_id


def test_responses_style_usage_cost_and_legacy_prompt():
    trace = _chat(
        request={"model": "m", "prompt": "Complete me"},
        usage={"input_tokens": 3, "output_tokens": 2, "cost": 0.0004},
    )
    assert (trace.input, trace.messages, trace.tokens_in, trace.tokens_out, trace.cost) == (
        "Complete me",
        None,
        3,
        2,
        0.0004,
    )


def test_naive_times_and_bad_trace_ids_are_refused():
    with pytest.raises(ValueError, match="naive"):
        _chat(started_at=datetime(2026, 10, 4, 9, 12))
    with pytest.raises(ValueError, match="not a trace id"):
        _chat(trace_id="00-abc-01")


def test_text_a_json_encoder_refuses_is_made_safe():
    request = {"model": "m", "messages": [{"role": "user", "content": "bad \ud83d half"}]}
    trace = _chat(
        request=request,
        usage={"prompt_tokens": 2**40, "completion_tokens": True, "cost": float("nan")},
    )
    assert trace.messages == [{"role": "user", "content": "bad ? half"}]
    assert (trace.tokens_in, trace.tokens_out, trace.cost) == (None, None, None)


def test_the_tools_offered_are_kept_and_bounded():
    from evallock.limits import MAX_TOOLS, FieldLimitError

    tool = {"type": "function", "function": {"name": "order_status", "parameters": {}}}
    trace = _chat(request={**REQUEST, "tools": [tool, "not a tool"]})
    assert trace.tools == [tool]
    with pytest.raises(FieldLimitError, match=r"^tools: 129 tools; at most 128"):
        _chat(request={**REQUEST, "tools": [tool] * (MAX_TOOLS + 1)})
