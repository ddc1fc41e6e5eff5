"""A scripted upstream for proxy tests: records what reached it, streams slowly on request.

The bundled fake service answers like a real model; this one exists to see what
the proxy forwarded (headers, body) and to stream events with pauses between
them, so a test can tell relaying chunk by chunk from buffering.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from evallock.server._threaded import ThreadedServer, bind_socket, uvicorn_config


class ScriptedUpstream:
    """An OpenAI-style endpoint on a loopback port; ``seen`` holds each request's headers and body."""

    def __init__(self, *, pause_s: float = 0.3) -> None:
        self.pause_s = pause_s
        self.seen: list[dict[str, Any]] = []
        self._running = ThreadedServer(
            uvicorn_config(self.app, interface="asgi3", lifespan="off"),
            bind_socket("127.0.0.1", 0, backlog=128),
            name="scripted upstream",
        )
        self.base_url = f"{self._running.root_url}/v1"

    def __enter__(self) -> ScriptedUpstream:
        self._running.start(timeout_s=10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._running.stop()

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = [(k.decode(), v.decode()) for k, v in scope["headers"]]
        self.seen.append({"headers": headers, "body": body})
        request = orjson.loads(body)
        words = ["Refunds ", "take ", "five days."]
        if not request.get("stream"):
            answer = {
                "id": "chatcmpl-scripted",
                "object": "chat.completion",
                "model": "scripted-1",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "".join(words)},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12},
            }
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": orjson.dumps(answer)})
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream")],
            }
        )
        for word in words:
            chunk = {
                "id": "c",
                "object": "chat.completion.chunk",
                "model": "scripted-1",
                "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}],
            }
            await send(
                {
                    "type": "http.response.body",
                    "body": b"data: " + orjson.dumps(chunk) + b"\n\n",
                    "more_body": True,
                }
            )
            if await self._gone_within(receive, self.pause_s):
                return  # the proxy hung up: nobody is left to stream to
        await send({"type": "http.response.body", "body": b"data: [DONE]\n\n", "more_body": False})

    @staticmethod
    async def _gone_within(receive: Any, seconds: float) -> bool:
        """Pause ``seconds``; True as soon as the client disconnects (so stopping need not
        wait for the rest of a stream nobody reads)."""
        try:
            message = await asyncio.wait_for(receive(), seconds)
        except TimeoutError:
            return False
        return bool(message["type"] == "http.disconnect")

    def headers(self, index: int = -1) -> dict[str, str]:
        """The headers of a request that reached the upstream (lower-case names)."""
        return dict(self.seen[index]["headers"])
