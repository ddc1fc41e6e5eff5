"""The fake service's ASGI app: an OpenAI-compatible endpoint over the demo models.

A raw ASGI callable, no framework: a benchmark pushes thousands of requests a
second through it, so a request costs one JSON parse, one answer and one JSON
dump. Routes:

- ``POST /v1/chat/completions``: the models below, streaming or not; offered
  ``tools``, the support bot calls one (:mod:`evallock.demo._tools`);
- ``POST /v1/responses``: the same models through the Responses API
  (:mod:`evallock.demo._responses`), streaming or not;
- ``GET /v1/models``: the model list (``GET /v1/models/{id}`` for one);
- ``GET /health``: ``{"status": "ok"}``, never behind the API key;
- ``GET /_stats``: request counters by path, status and model;
- ``POST /_stats/reset``: zero the counters and the fault attempts.

Models: ``support-bot`` (aliases ``support-bot-v1``, ``support-bot-v2``, which
behave the same) answers from its system prompt (:mod:`evallock.demo._bot`);
``judge`` grades (:mod:`evallock.demo._judge`). Any model asked to play the user of a
conversation case does (:mod:`evallock.demo._user`). Fault markers are described in
:mod:`evallock.demo._faults`.
"""

from __future__ import annotations

import asyncio
import hmac
import itertools
import logging
import secrets
import time
from collections.abc import Iterable
from typing import Any

import orjson

from evallock.demo._bot import answer_support, last_user_text, message_text
from evallock.demo._completion import (
    CompletionShape,
    completion_body,
    count_tokens,
    stream_events,
    truncate,
    usage_body,
)
from evallock.demo._faults import FaultPlan, FaultState, error_body, parse_faults
from evallock.demo._judge import answer_judge
from evallock.demo._request import (
    Receive,
    Reject,
    Scope,
    Send,
    choice_count,
    max_tokens,
    model_not_found,
    parse_request,
    read_body,
    require_method,
)
from evallock.demo._responses import (
    chat_messages,
    parse_responses_request,
    response_body,
    response_events,
)
from evallock.demo._stats import Stats
from evallock.demo._tools import planned_call, tool_answer
from evallock.demo._user import is_simulated_user, simulated_user_answer

__all__ = ["MODELS", "FakeServiceApp"]

MODELS: dict[str, str] = {
    "support-bot": "bot",
    "support-bot-v1": "bot",
    "support-bot-v2": "bot",
    "judge": "judge",
}
"""Model name → which demo model answers it."""

_log = logging.getLogger(__name__)
_CREATED = 1767225600  # fixed "created" of the model list: 2026-01-01
_JSON = (b"content-type", b"application/json")
_SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
]


class FakeServiceApp:
    """The ASGI app; its constructor arguments are the server-wide options.

    Args:
        latency_ms: wait this long before every chat completion answer.
        api_key: when set, ``/v1/*`` needs ``Authorization: Bearer <api_key>``.
        judge_position_bias: points the pairwise judge adds to answer A (0: none).
    """

    def __init__(
        self, *, latency_ms: float = 0, api_key: str | None = None, judge_position_bias: int = 0
    ) -> None:
        self.latency_s = max(latency_ms, 0) / 1000
        self.judge_position_bias = judge_position_bias
        self.stats = Stats()
        self.faults = FaultState()
        self._auth = b"Bearer " + api_key.encode() if api_key else None
        self._ids = itertools.count(1)
        self._id_prefix = secrets.token_hex(4)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection scope (``http`` or ``lifespan``)."""
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        method: str = scope["method"]
        try:
            if path.startswith("/v1/"):
                self.stats.count_path(path)
                self._check_auth(scope)
                await self._route_v1(path, method, receive, send)
            elif path == "/health":
                self.stats.count_path(path)
                require_method(method, "GET")
                await self._send_json(send, 200, {"status": "ok"})
            elif path == "/_stats":
                require_method(method, "GET")
                await self._send_json(send, 200, self.stats.as_json(), counted=False)
            elif path == "/_stats/reset":
                require_method(method, "POST")
                self.stats.reset()
                self.faults.reset()
                await self._send_json(send, 200, {"reset": True}, counted=False)
            else:
                self.stats.count_path(path)
                raise Reject(404, f"Invalid URL ({method} {path})")
        except Reject as reject:
            await self._send_json(send, reject.status, reject.body)
        except Exception:
            # A bug in a demo model must look like a server error to the client
            # (which retries it), not like a dropped connection.
            _log.exception("fake service: %s %s failed", method, path)
            message = "The server had an error while processing your request."
            await self._send_json(send, 500, error_body(500, message))

    def _check_auth(self, scope: Scope) -> None:
        if self._auth is None:
            return
        for name, value in scope["headers"]:
            if name == b"authorization":
                if hmac.compare_digest(value, self._auth):
                    return
                raise Reject(401, "Incorrect API key provided.")
        raise Reject(401, "You didn't provide an API key in the Authorization header.")

    async def _route_v1(self, path: str, method: str, receive: Receive, send: Send) -> None:
        if path == "/v1/chat/completions":
            require_method(method, "POST")
            await self._chat(await read_body(receive), receive, send)
        elif path == "/v1/responses":
            require_method(method, "POST")
            await self._responses(await read_body(receive), receive, send)
        elif path == "/v1/models":
            require_method(method, "GET")
            data = [_model_entry(name) for name in MODELS]
            await self._send_json(send, 200, {"object": "list", "data": data})
        elif path.startswith("/v1/models/"):
            require_method(method, "GET")
            name = path.removeprefix("/v1/models/")
            if name not in MODELS:
                raise model_not_found(name)
            await self._send_json(send, 200, _model_entry(name))
        else:
            raise Reject(404, f"Invalid URL ({method} {path})")

    async def _answer(
        self,
        request: dict[str, Any],
        messages: list[Any],
        body: bytes,
        receive: Receive,
        send: Send,
    ) -> tuple[int, dict[str, Any] | None, str, FaultPlan | None] | None:
        """The demo model's answer to a conversation: the request number, the tool call it
        makes (or None), its text and the request's markers; None when a fault was sent or
        the client left."""
        model: str = request["model"]
        kind = MODELS.get(model)
        if kind is None:
            raise model_not_found(model)
        user = last_user_text(messages)
        plan = parse_faults(user)
        self.stats.count_model(model)
        if plan is not None and self.faults.should_fail(plan, body):
            await self._send_fault(send, plan, model)
            return None
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        if plan is not None and plan.sleep_ms and not await _sleep(receive, plan.sleep_ms):
            return None  # the client gave up waiting: nobody to answer
        number = next(self._ids)
        call = planned_call(request, messages, f"call_{self._id_prefix}{number:08x}")
        if plan is not None and plan.empty:
            content = ""
        elif is_simulated_user(messages):
            call, content = None, simulated_user_answer(messages)
        elif call is not None:
            content = call["arguments"]  # what the answer's tokens are counted on
        elif kind == "judge":
            content = answer_judge(user, position_bias=self.judge_position_bias)
        else:
            content = tool_answer(messages) or answer_support(messages)
        return number, call, content, plan

    async def _responses(self, body: bytes, receive: Receive, send: Send) -> None:
        request = parse_responses_request(body)
        messages = chat_messages(request)
        answered = await self._answer(request, messages, body, receive, send)
        if answered is None:
            return
        number, call, content, _ = answered
        limit = request.get("max_output_tokens")
        limit = limit if isinstance(limit, int) and not isinstance(limit, bool) else None
        content, finish_reason = truncate(content, None if call else limit)
        response_id = f"resp_{self._id_prefix}{number:08x}"
        whole = response_body(
            request,
            response_id=response_id,
            content=content,
            call=call,
            input_tokens=sum(count_tokens(message_text(m)) for m in messages),
            incomplete=finish_reason == "length",
        )
        self.stats.count_answer(request["model"])
        if request.get("stream") is True:
            shape = CompletionShape(id=response_id, created=0, model=request["model"])
            await self._send_stream(send, shape, response_events(whole))
        else:
            await self._send_json(send, 200, whole, [(b"x-request-id", response_id.encode())])

    async def _chat(self, body: bytes, receive: Receive, send: Send) -> None:
        request = parse_request(body)
        messages: list[Any] = request["messages"]
        limit, n = max_tokens(request), choice_count(request)
        answered = await self._answer(request, messages, body, receive, send)
        if answered is None:
            return
        number, call, content, plan = answered
        model: str = request["model"]
        content, finish_reason = truncate(content, None if call else limit)
        shape = CompletionShape(
            id=f"chatcmpl-{self._id_prefix}{number:08x}",
            created=int(time.time()),
            model=model,
            n=n,
        )
        prompt_tokens = sum(count_tokens(message_text(m)) for m in messages)
        usage = usage_body(prompt_tokens, count_tokens(content) * shape.n)
        self.stats.count_answer(model)
        if request.get("stream") is True:
            options = request.get("stream_options")
            wants_usage = isinstance(options, dict) and options.get("include_usage") is True
            events = stream_events(
                shape, content, finish_reason, usage if wants_usage else None, call
            )
            await self._send_stream(send, shape, events)
        else:
            headers = [(b"x-request-id", shape.id.encode())]
            if plan is not None and plan.cost is not None:
                if plan.cost_in_header:
                    headers.append((b"x-litellm-response-cost", repr(plan.cost).encode()))
                else:
                    usage["cost"] = plan.cost
            completion = completion_body(shape, content, finish_reason, usage, call)
            await self._send_json(send, 200, completion, headers)

    async def _send_fault(self, send: Send, plan: FaultPlan, model: str) -> None:
        status = plan.status or 500
        self.stats.count_fault(model)
        headers = [(b"retry-after", plan.retry_after.encode())] if plan.retry_after else []
        message = f"Injected fault: HTTP {status} for model {model}."
        await self._send_json(send, status, error_body(status, message), headers)

    async def _send_json(
        self,
        send: Send,
        status: int,
        payload: Any,
        headers: list[tuple[bytes, bytes]] | None = None,
        *,
        counted: bool = True,
    ) -> None:
        if counted:
            self.stats.count_status(status)
        body = orjson.dumps(payload)
        head = [_JSON, (b"content-length", str(len(body)).encode())]
        if headers:
            head.extend(headers)
        await send({"type": "http.response.start", "status": status, "headers": head})
        await send({"type": "http.response.body", "body": body})

    async def _send_stream(
        self, send: Send, shape: CompletionShape, events: Iterable[bytes]
    ) -> None:
        self.stats.count_status(200)
        headers = [*_SSE_HEADERS, (b"x-request-id", shape.id.encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for event in events:
            await send({"type": "http.response.body", "body": event, "more_body": True})
        await send({"type": "http.response.body", "body": b""})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def _model_entry(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": _CREATED, "owned_by": "evallock-demo"}


async def _sleep(receive: Receive, milliseconds: int) -> bool:
    """Sleep, unless the client disconnects first; True when the sleep ran out."""
    sleeper = asyncio.ensure_future(asyncio.sleep(milliseconds / 1000))
    while True:
        listener = asyncio.ensure_future(receive())
        await asyncio.wait({sleeper, listener}, return_when=asyncio.FIRST_COMPLETED)
        if sleeper.done():
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
            return True
        if listener.result().get("type") == "http.disconnect":
            sleeper.cancel()
            await asyncio.gather(sleeper, return_exceptions=True)
            return False
