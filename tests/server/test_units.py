"""The server's pure parts: body limits and gzip bombs, proxy tags, SSE capture, settings, errors."""

from __future__ import annotations

import gzip
import zlib

import orjson
import pytest

from evallock.errors import ConfigError, UsageError
from evallock.records import ToolCall
from evallock.server import ServerSettings, hash_api_key, key_filters, parse_time, scope_allows
from evallock.server._capture import StreamCapture, capture_completion
from evallock.server._errors import ApiError, rpc_status_protobuf
from evallock.server._limits import decode_content
from evallock.server._settings import upstream_chat_url
from evallock.server._tags import request_keys, request_trace_id, upstream_headers

# -- limits ---------------------------------------------------------------------------------


def test_gzip_within_the_cap_and_multi_member() -> None:
    body = gzip.compress(b"abc") + gzip.compress(b"def")
    assert decode_content(body, "gzip", limit=100) == b"abcdef"
    assert decode_content(zlib.compress(b"xyz"), "deflate", limit=100) == b"xyz"
    assert decode_content(b"plain", None, limit=100) == b"plain"


def test_zip_bomb_stops_at_the_cap() -> None:
    bomb = gzip.compress(b"\0" * (50 * 1024 * 1024))  # 50 MiB of zeros in ~50 KiB
    assert len(bomb) < 100_000
    with pytest.raises(ApiError) as caught:
        decode_content(bomb, "gzip", limit=1024 * 1024)
    assert caught.value.status == 413
    assert "decompressed body is larger than the limit of 1 MiB" in caught.value.message


@pytest.mark.parametrize(
    ("body", "encoding", "status", "words"),
    [
        (b"not gzip at all", "gzip", 400, "does not decompress"),
        (gzip.compress(b"x" * 1000, mtime=0)[:20], "gzip", 400, "truncated"),  # same id per worker
        (b"x", "br", 415, "'br' is not supported"),
    ],
)
def test_bad_encodings(body: bytes, encoding: str, status: int, words: str) -> None:
    with pytest.raises(ApiError) as caught:
        decode_content(body, encoding, limit=1 << 20)
    assert caught.value.status == status
    assert words in caught.value.message


# -- proxy tags -----------------------------------------------------------------------------


def test_keys_from_every_source_most_explicit_wins() -> None:
    headers = [
        ("X-Evallock-Prompt-Version", "from-header"),
        ("X-Evallock-Auth", "Bearer evl_secret"),
        ("X-Evallock-Trace-Id", "4bf92f3577b34da6a3ce929d0e0e4736"),
        (
            "baggage",
            "evallock.prompt_version=from-baggage,evallock.intent=refund%20request;p=1,other=x",
        ),
        ("Helicone-Property-Customer-Tier", "enterprise"),
        ("Helicone-Property-Intent", "from-helicone"),
        ("Helicone-Session-Id", "s-77"),
        ("x-litellm-spend-logs-metadata", '{"feature": "billing", "customer_tier": "pro"}'),
    ]
    body = {"metadata": {"experiment": "B", "feature": "from-metadata", "count": 3}}
    keys = request_keys(headers, body)
    assert keys == {
        "experiment": "B",
        "feature": "billing",
        "count": "3",
        "customer_tier": "enterprise",
        "intent": "refund request",
        "session_id": "s-77",
        "prompt_version": "from-header",
    }
    assert "auth" not in keys and "trace_id" not in keys


def test_trace_id_from_header_traceparent_or_new() -> None:
    chosen = {"x-evallock-trace-id": "4BF92F35-77B3-4DA6-A3CE-929D0E0E4736"}
    assert request_trace_id(chosen) == "4bf92f3577b34da6a3ce929d0e0e4736"
    parent = {"traceparent": "00-89d60bc7acef1141d97392b18134d84b-bd01cef332e6d1cd-01"}
    assert request_trace_id(parent) == "89d60bc7acef1141d97392b18134d84b"
    bad_parent = {"traceparent": "00-" + "0" * 32 + "-bd01cef332e6d1cd-01"}
    assert len(request_trace_id(bad_parent)) == 32
    with pytest.raises(ApiError) as caught:
        request_trace_id({"x-evallock-trace-id": "<script>"})
    assert caught.value.status == 400 and caught.value.field == "X-Evallock-Trace-Id"


def test_upstream_headers_strip_ours_and_hop_by_hop() -> None:
    headers = [
        ("Host", "evallock"),
        ("Content-Length", "12"),
        ("Connection", "keep-alive, X-Custom-Hop"),
        ("X-Custom-Hop", "1"),
        ("Accept-Encoding", "gzip"),
        ("Authorization", "Bearer evl_mine"),
        ("X-Evallock-Intent", "refund"),
        ("Helicone-Property-Tier", "pro"),
        ("x-litellm-tags", "a,b"),
        ("traceparent", "00-89d60bc7acef1141d97392b18134d84b-bd01cef332e6d1cd-01"),
        ("Content-Type", "application/json"),
        ("X-Stainless-Lang", "python"),
    ]
    out = upstream_headers(headers, drop_authorization=True, upstream_api_key="sk-upstream")
    assert out == [
        ("traceparent", "00-89d60bc7acef1141d97392b18134d84b-bd01cef332e6d1cd-01"),
        ("content-type", "application/json"),
        ("x-stainless-lang", "python"),
        ("authorization", "Bearer sk-upstream"),
    ]
    kept = upstream_headers(
        [("Authorization", "Bearer sk-client")], drop_authorization=False, upstream_api_key="x"
    )
    assert kept == [("authorization", "Bearer sk-client")]


# -- SSE capture ----------------------------------------------------------------------------


def _event(payload: object) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\n\n"


def test_stream_capture_across_arbitrary_chunk_splits() -> None:
    chunk = {"id": "c1", "model": "m-2026", "choices": [{"index": 0, "delta": {"content": "Hel"}}]}
    more = {"id": "c1", "model": "m-2026", "choices": [{"index": 0, "delta": {"content": "lo"}}]}
    usage = {"id": "c1", "choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 2}}
    stream = _event(chunk) + _event(more) + _event(usage) + b"data: [DONE]\n\n"
    for size in (1, 3, 17, len(stream)):
        capture = StreamCapture(started=0.0)
        for start in range(0, len(stream), size):
            capture.feed(stream[start : start + size])
        result = capture.result()
        assert capture.done
        assert (result.text, result.model) == ("Hello", "m-2026")
        assert result.usage == {"prompt_tokens": 7, "completion_tokens": 2}
        assert result.ttft_ms is not None and result.error is None


def test_stream_capture_without_usage_tool_calls_and_errors() -> None:
    calls = [
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "t1",
                                "function": {"name": "lookup", "arguments": '{"a"'},
                            }
                        ]
                    },
                }
            ]
        },
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {"tool_calls": [{"index": 0, "function": {"arguments": ": 1}"}}]},
                }
            ]
        },
        {"error": {"message": "overloaded", "type": "server_error"}},
    ]
    capture = StreamCapture(started=0.0)
    capture.feed(b"".join(_event(c) for c in calls).replace(b"\n\n", b"\r\n\r\n"))
    result = capture.result()
    assert result.usage is None  # unknown, not zero
    assert result.text is None  # no content: the answer is the tool call
    assert result.tool_calls == [ToolCall(name="lookup", arguments='{"a": 1}', id="t1")]
    assert result.error == "upstream error mid-stream: overloaded"
    assert not capture.done


def test_whole_answers_and_error_answers() -> None:
    body = orjson.dumps(
        {"model": "m", "choices": [{"message": {"content": "hi"}}], "usage": {"prompt_tokens": 1}}
    )
    ok = capture_completion(200, body)
    assert (ok.text, ok.model, ok.usage) == ("hi", "m", {"prompt_tokens": 1})
    assert ok.tool_calls == []
    call = {"id": "c9", "type": "function", "function": {"name": "refund", "arguments": "{}"}}
    message = {"role": "assistant", "content": None, "tool_calls": [call]}
    calling = capture_completion(200, orjson.dumps({"choices": [{"message": message}]}))
    assert calling.text is None
    assert calling.tool_calls == [ToolCall(name="refund", arguments="{}", id="c9")]
    error = capture_completion(429, b'{"error": {"message": "slow down", "type": "requests"}}')
    assert error.error == "upstream HTTP 429: slow down"
    assert capture_completion(502, b"<html>bad gateway</html>").error == (
        "upstream HTTP 502: <html>bad gateway</html>"
    )


# -- settings, keys, queries, errors --------------------------------------------------------


def test_no_auth_only_on_loopback() -> None:
    for host in ("127.0.0.1", "::1", "localhost", "127.0.0.2"):
        ServerSettings(host=host, no_auth=True).check()
    for host in ("0.0.0.0", "192.0.2.10", "::", "example.org"):
        with pytest.raises(UsageError, match="loopback"):
            ServerSettings(host=host, no_auth=True).check()
    ServerSettings(host="0.0.0.0").check()  # with keys, any address


def test_upstream_urls() -> None:
    assert upstream_chat_url("https://api.example/v1/") == "https://api.example/v1/chat/completions"
    with pytest.raises(ConfigError, match="expected an http"):
        ServerSettings(upstream="localhost:8001").check()


def test_key_hashes_scopes_and_queries() -> None:
    assert hash_api_key("evl_x") == hash_api_key("evl_x") != hash_api_key("evl_y")
    assert len(hash_api_key("evl_x")) == 64
    assert scope_allows("admin", "ingest") and not scope_allows("read", "ingest")
    assert parse_time("2026-10-04").isoformat() == "2026-10-04T00:00:00+00:00"
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_time("yesterday")
    with pytest.raises(ValueError, match="key names"):
        key_filters([("key.a'b", "x")])


def test_status_protobuf_decodes_as_google_rpc_status() -> None:
    from google.rpc import status_pb2

    status = status_pb2.Status()
    status.ParseFromString(rpc_status_protobuf(3, "spans[0].traceId is not 32 hex characters"))
    assert (status.code, status.message) == (3, "spans[0].traceId is not 32 hex characters")


@pytest.mark.parametrize(
    "name",
    [
        "_settings",
        "_limits",
        "_errors",
        "_apikeys",
        "_auth",
        "_tags",
        "_query",
        "_capture",
        "_otlp_metrics",
    ],
)
def test_doctests(name: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(f"evallock.server.{name}"))
    assert result.failed == 0 and result.attempted > 0


def test_cli_helpers_do_not_import_the_web_framework() -> None:
    import subprocess
    import sys

    program = (
        "import sys\n"
        "from evallock.server import ServerSettings, TraceQuery, create_api_key, parse_time\n"
        "import evallock.cli._keys, evallock.cli._traces, evallock.cli._serve\n"
        "loaded = {'fastapi', 'starlette', 'uvicorn', 'aiohttp'} & set(sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", program], check=True, timeout=60)


def test_store_failures_permanent_or_retryable() -> None:
    from sqlalchemy.exc import DataError, OperationalError

    from evallock.errors import StoreError
    from evallock.server._errors import store_failure

    def wrapped(cause: BaseException) -> StoreError:
        error = StoreError(f"cannot add 3 traces in store postgresql://u@db/x: {cause.args[0]}")
        error.__cause__ = cause
        return error

    refused = store_failure(
        wrapped(DataError("x", {}, Exception("text cannot contain NUL"))), "the spans"
    )
    assert refused.status == 400 and "postgresql://" not in refused.message
    assert store_failure(ValueError("tokens_in 2**40 is out of range"), "the spans").status == 400
    busy = store_failure(
        wrapped(OperationalError("x", {}, Exception("connection refused"))), "the spans"
    )
    assert busy.status == 503 and busy.headers["Retry-After"] == "1"


def test_responses_stream_capture_whole_broken_and_failed() -> None:
    from evallock.demo._responses import response_body, response_events
    from evallock.server._capture import ResponsesStreamCapture, capture_response

    request = {"model": "m", "input": "hi"}
    whole = response_body(request, response_id="resp_1", content="Hello there", call=None,
                          input_tokens=1)  # fmt: skip
    events = list(response_events(whole))
    capture = ResponsesStreamCapture(started=0.0)
    for event in events:
        capture.feed(event)
    done = capture.result()
    assert capture.done and (done.text, done.model) == ("Hello there", "m")
    assert done.usage["output_tokens"] == 2 and done.ttft_ms is not None
    assert done.error is None
    broken = ResponsesStreamCapture(started=0.0)
    for event in events[:-3]:  # cut off before the text was done
        broken.feed(event)
    kept = broken.result()
    assert not broken.done and kept.text == "Hello there" and kept.usage is None
    failed = ResponsesStreamCapture(started=0.0)
    failed.feed(b'event: error\ndata: {"type": "error", "message": "overloaded"}\n\n')
    assert failed.result().error == "upstream error mid-stream: overloaded"
    gone = capture_response(200, orjson.dumps({**whole, "status": "failed",
                                               "error": {"message": "server_error"}}))  # fmt: skip
    assert gone.error == "response failed: server_error"
    assert capture_response(200, orjson.dumps({**whole, "status": "incomplete"})).error is None
