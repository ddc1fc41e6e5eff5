"""The Host check of ``--no-auth``: only requests addressed to this machine are answered.

``--no-auth`` binds a loopback address, so no other machine can connect, but a
web page can still reach it through the visitor's browser by DNS rebinding: a
name the attacker controls first resolves to their server, then to 127.0.0.1,
and the page's scripts call the service as if it were their own origin. Such
requests still carry the attacker's name in ``Host``. So without keys, a
request whose ``Host`` is not a loopback name or address (``localhost``,
``127.0.0.1``, ``[::1]``, the address the service binds, with or without a port)
is refused with **421 Misdirected Request**. A request without ``Host`` (HTTP/1.0)
passes: browsers always send one. With keys on there is no such check: a
rebinding page has no key.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.requests import Request

from evallock.server._errors import ApiError, render_error
from evallock.server._settings import ServerSettings, is_loopback

__all__ = ["LoopbackHosts", "host_name"]

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Message, Receive, Send], Awaitable[None]]


def host_name(host: str) -> str | None:
    """The name or address of a ``Host`` header without its port; None when malformed.

    >>> host_name("[::1]:8000"), host_name("LocalHost"), host_name("127.0.0.1:x")
    ('::1', 'localhost', None)
    """
    value = host.strip().lower()
    if value.startswith("["):
        name, sep, rest = value[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            return None
        port = rest[1:]
    elif value.count(":") > 1:
        return None  # an IPv6 address in Host must be in brackets
    else:
        name, _, port = value.partition(":")
    if not name or (port and not port.isdigit()):
        return None
    return name


class LoopbackHosts:
    """The middleware: 421 for a request whose ``Host`` is not this machine.

    Args:
        app: the ASGI app it guards.
        settings: the service's options (``host``, the bound address, is allowed too).
    """

    def __init__(self, app: App, *, settings: ServerSettings) -> None:
        """Guard ``app``; the bound address counts as this machine too."""
        self.app = app
        self.bound = settings.host.strip().strip("[]").lower()

    def allows(self, host: str) -> bool:
        """True for a ``Host`` value that names this machine."""
        name = host_name(host)
        return name is not None and (name == self.bound or is_loopback(name))

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        """Refuse a request addressed to another name; pass the rest on."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        hosts = [value for name, value in scope["headers"] if name == b"host"]
        if not hosts or (len(hosts) == 1 and self.allows(hosts[0].decode("latin-1"))):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        request = Request(scope)
        error = ApiError(
            421,
            "Host: under --no-auth the service answers only requests addressed to this "
            "machine (localhost, 127.0.0.1 or [::1]), which guards it against DNS rebinding; "
            "use such an address, or serve with API keys",
            field="Host",
        )
        await render_error(request, error)(scope, receive, send)
