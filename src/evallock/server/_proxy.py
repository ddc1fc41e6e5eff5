"""The recording proxy: ``POST /v1/chat/completions`` and ``POST /v1/responses`` relayed
to the upstream, and recorded.

The body goes upstream byte for byte, with only the client headers an
OpenAI-compatible API reads (an allow-list, ``_tags.upstream_headers``): never the
``Cookie``, ``X-Evallock-*`` or an evallock key. Trace keys past their limits
answer 422 naming the header, before anything goes upstream. The answer comes back
as it came: a stream is relayed chunk by chunk as the upstream sends it
(``[DONE]`` and the usage chunk included), a whole answer and an error answer
with the upstream's status, headers and body. ``X-Evallock-Trace-Id`` is added.

Recording never costs the client anything: the trace is handed to the writer
*after* the answer (a background task, or the end of the stream) without
waiting for the commit, and a store that fails or is full is logged and counted
(``recording_failures`` / ``recording_dropped`` at ``/healthz``), never
surfaced. The upstream client is one pooled aiohttp session with keep-alive.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
from fastapi import APIRouter, Depends
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from evallock.records import Trace
from evallock.server._auth import Caller, require
from evallock.server._capture import (
    Captured,
    ResponsesStreamCapture,
    StreamCapture,
    UsageStrip,
    capture_completion,
    capture_response,
)
from evallock.server._errors import ApiError
from evallock.server._limits import decode_content, media_type, read_raw_body
from evallock.server._settings import ServerSettings
from evallock.server._state import ServerState, server_state
from evallock.server._tags import request_keys, request_trace_id, request_vars, upstream_headers
from evallock.server._writer import WriterBusy, WriterClosed
from evallock.times import utc_now
from evallock.traces import trace_from_chat

__all__ = ["open_upstream", "router"]

_log = logging.getLogger("evallock.server")
_TRACE_HEADER = "X-Evallock-Trace-Id"
_DROP_FROM_ANSWER = frozenset(
    {
        "connection",
        "keep-alive",
        "transfer-encoding",
        "content-length",
        # aiohttp has already undone any compression of the body it read.
        "content-encoding",
        "upgrade",
        "trailer",
        "proxy-authenticate",
    }
)

router = APIRouter(tags=["proxy"])


def open_upstream(settings: ServerSettings) -> aiohttp.ClientSession:
    """The pooled, keep-alive client session to the upstream (call on the running loop)."""
    connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=60, ttl_dns_cache=300)
    timeout = aiohttp.ClientTimeout(
        total=None, sock_connect=10, sock_read=settings.upstream_timeout_s
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        skip_auto_headers=("Accept-Encoding", "User-Agent"),
        cookie_jar=aiohttp.DummyCookieJar(),
    )


@dataclass(frozen=True, slots=True)
class _Api:
    """One OpenAI API the proxy records: where it goes upstream and how answers are read."""

    path: str
    """The path after the upstream's base URL (``chat/completions``)."""
    capture: Callable[[int, bytes], Captured]
    """Reads a whole answer."""
    stream: type[StreamCapture]
    """Reads a streamed answer."""
    asks_usage: bool
    """Whether a stream reports usage only when asked (``stream_options.include_usage``)."""


_CHAT = _Api("chat/completions", capture_completion, StreamCapture, asks_usage=True)
_RESPONSES = _Api("responses", capture_response, ResponsesStreamCapture, asks_usage=False)
_PROXY_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The upstream's answer, streamed or whole, with X-Evallock-Trace-Id."},
    401: {"description": "No valid evallock API key."},
    502: {"description": "The upstream did not answer."},
}
_JSON_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


@router.post(
    "/v1/chat/completions",
    summary="Recording proxy for OpenAI-compatible chat completions",
    openapi_extra=_JSON_BODY,
    responses=_PROXY_RESPONSES,
)
async def chat_completions(
    request: Request, caller: Caller = Depends(require("ingest"))
) -> Response:
    """Relay a chat completion to the upstream and record its trace.

    Keys for the trace come from ``X-Evallock-<Key>`` headers, ``baggage``
    (``evallock.<key>=…``), ``Helicone-Property-*``, LiteLLM's spend-logs metadata and
    the body's ``metadata``. Upstream errors come back exactly as the upstream sent them.
    """
    return await _proxied(request, caller, _CHAT)


@router.post(
    "/v1/responses",
    summary="Recording proxy for the OpenAI Responses API",
    openapi_extra=_JSON_BODY,
    responses=_PROXY_RESPONSES,
)
async def responses(request: Request, caller: Caller = Depends(require("ingest"))) -> Response:
    """Relay a Responses API request (``input``, ``instructions``, ``tools``; streamed or
    not) to the upstream and record its trace, keyed as chat completions are."""
    return await _proxied(request, caller, _RESPONSES)


async def _proxied(request: Request, caller: Caller, api: _Api) -> Response:
    state = server_state(request)
    started = time.perf_counter()
    started_at = utc_now()
    base_url = state.settings.chat_url
    if state.upstream is None or base_url is None:
        raise ApiError(404, "the recording proxy is off: start `evallock serve --upstream URL`")
    chat_url = base_url.removesuffix("chat/completions") + api.path
    limit = state.settings.max_body_bytes
    raw = await read_raw_body(request, limit=limit)
    parsed = _json_object(decode_content(raw, request.headers.get("content-encoding"), limit=limit))
    headers = request.headers.items()
    trace_id = request_trace_id(request.headers)
    strip = False
    if api.asks_usage and state.settings.stream_usage and _wants_usage_added(parsed):
        # the trace needs token counts; the client will not see the extra event
        options = parsed.get("stream_options")
        extra = options if isinstance(options, dict) else {}
        parsed = {**parsed, "stream_options": {**extra, "include_usage": True}}
        raw = orjson.dumps(parsed)
        strip = True
    call = _Call(
        state=state,
        request=parsed,
        keys=request_keys(headers, parsed),
        variables=request_vars(request.headers),
        trace_id=trace_id,
        started=started,
        started_at=started_at,
        api=api,
    )
    state.metrics.proxy_requests += 1
    forward = upstream_headers(
        headers,
        drop_authorization=caller.in_authorization,
        upstream_api_key=state.settings.upstream_api_key,
    )
    try:
        upstream = await state.upstream.post(chat_url, data=raw, headers=forward)
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        return call.unreachable(exc, chat_url)
    answer_headers = [
        (name.lower(), value)
        for name, value in upstream.headers.items()
        if name.lower() not in _DROP_FROM_ANSWER
    ]
    answer_headers.append((_TRACE_HEADER.lower(), trace_id))
    ctype = media_type(upstream.headers.get("content-type"))
    if upstream.status < 400 and ctype == "text/event-stream":
        stream = StreamingResponse(call.relay(upstream, strip), status_code=upstream.status)
        _set_headers(stream, answer_headers)
        return stream
    try:
        body = await upstream.read()
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        upstream.close()
        return call.unreachable(exc, chat_url)
    upstream.release()
    captured = api.capture(upstream.status, body)
    if upstream.status >= 400:
        state.metrics.proxy_upstream_errors += 1
    answer = Response(body, status_code=upstream.status, background=call.task(captured))
    _set_headers(answer, answer_headers)
    return answer


class _Call:
    """One proxied request: what is known before the answer, and how to record it."""

    def __init__(
        self,
        *,
        state: ServerState,
        request: Mapping[str, Any],
        keys: dict[str, str],
        variables: dict[str, Any],
        trace_id: str,
        started: float,
        started_at: Any,
        api: _Api,
    ) -> None:
        self.api = api
        self.state = state
        self.request = request
        self.keys = keys
        self.variables = variables
        self.trace_id = trace_id
        self.started = started
        self.started_at = started_at

    def task(self, captured: Captured) -> BackgroundTask:
        """Record after the answer has gone out."""
        latency_ms = (time.perf_counter() - self.started) * 1000
        return BackgroundTask(self.record_later, captured, latency_ms)

    async def relay(
        self, upstream: aiohttp.ClientResponse, strip_usage: bool = False
    ) -> AsyncIterator[bytes]:
        """Yield the upstream's chunks as they arrive, reading each for the record.

        With ``strip_usage`` the usage event the proxy asked for is kept from the client.
        """
        capture = self.api.stream(started=self.started)
        strip = UsageStrip() if strip_usage else None
        error: str | None = "client disconnected before the stream ended"
        try:
            async for chunk in upstream.content.iter_any():
                capture.feed(chunk)
                if strip is None:
                    yield chunk
                elif relayed := strip.feed(chunk):
                    yield relayed
            if strip is not None and (rest := strip.flush()):
                yield rest
            error = None if capture.done else "upstream stream ended without [DONE]"
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            error = f"upstream stream broke: {type(exc).__name__}: {exc}"
            self.state.metrics.proxy_upstream_errors += 1
        finally:
            if error is None:
                upstream.release()
            else:
                upstream.close()
            captured = capture.result()
            if captured.error is None:
                captured.error = error
            self.record(captured, (time.perf_counter() - self.started) * 1000)

    def unreachable(self, exc: BaseException, url: str) -> Response:
        """502 (504 on a timeout) in OpenAI's error shape, recorded as a failed trace."""
        self.state.metrics.proxy_upstream_errors += 1
        timeout = isinstance(exc, TimeoutError)
        status = 504 if timeout else 502
        reason = f"{type(exc).__name__}: {exc}".rstrip(": ")
        message = f"evallock proxy: upstream {url} did not answer ({reason})"
        latency_ms = (time.perf_counter() - self.started) * 1000
        envelope = {
            "error": {
                "message": message,
                "type": "upstream_error",
                "param": None,
                "code": "upstream_timeout" if timeout else "upstream_unreachable",
            }
        }
        return Response(
            orjson.dumps(envelope),
            status_code=status,
            media_type="application/json",
            headers={_TRACE_HEADER: self.trace_id},
            background=BackgroundTask(self.record_later, Captured(error=message), latency_ms),
        )

    async def record_later(self, captured: Captured, latency_ms: float) -> None:
        """:meth:`record` as a background task (async, so it runs on the event loop)."""
        self.record(captured, latency_ms)

    def record(self, captured: Captured, latency_ms: float) -> None:
        """Hand the trace to the writer without waiting; failures are logged and counted."""
        metrics = self.state.metrics
        try:
            trace = self._trace(captured, latency_ms)
            future = self.state.writer.submit(traces=[trace])
        except (WriterBusy, WriterClosed) as exc:
            metrics.recording_dropped += 1
            _log.warning("proxy trace %s not recorded: %s", self.trace_id, exc)
            return
        except Exception:
            metrics.recording_failures += 1
            _log.exception("proxy trace %s not recorded", self.trace_id)
            return
        future.add_done_callback(self._on_written)

    def _trace(self, captured: Captured, latency_ms: float) -> Trace:
        model = captured.model
        if model is None and isinstance(self.request.get("model"), str):
            model = self.request["model"]
        return trace_from_chat(
            request=self.request,
            response_text=captured.text,
            model=model,
            usage=captured.usage,
            started_at=self.started_at,
            latency_ms=latency_ms,
            ttft_ms=captured.ttft_ms,
            error=captured.error,
            keys=self.keys,
            trace_id=self.trace_id,
            variables=self.variables,
            tool_calls=captured.tool_calls,
        )

    def _on_written(self, future: asyncio.Future[None]) -> None:
        if future.cancelled() or future.exception() is None:
            return
        self.state.metrics.recording_failures += 1
        _log.error("proxy trace %s not recorded: %s", self.trace_id, future.exception())


def _wants_usage_added(request: Mapping[str, Any]) -> bool:
    """A streamed chat request that did not ask for ``stream_options.include_usage``."""
    if request.get("stream") is not True:
        return False
    options = request.get("stream_options")
    return not (isinstance(options, dict) and options.get("include_usage") is True)


def _json_object(body: bytes) -> dict[str, Any]:
    """The request body as a JSON object; anything else is forwarded but recorded as ``{}``."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _set_headers(response: Response, headers: list[tuple[str, str]]) -> None:
    response.raw_headers.extend((n.encode("latin-1"), v.encode("latin-1")) for n, v in headers)
