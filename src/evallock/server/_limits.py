"""Request bodies within limits: a size cap as sent, and again after decompression.

Every route that takes a body reads it through :func:`read_body`, which stops at
the limit instead of buffering whatever a client sends, and undoes
``Content-Encoding`` (gzip, deflate) through a decompressor that never produces
more than the limit, so a small zip bomb is refused at the cap rather than
expanded into memory. OTLP asks for exactly this: "the server MUST limit the
request body, including after decompression" (413 above it).
"""

from __future__ import annotations

import zlib

from starlette.requests import Request

from evallock.server._errors import ApiError

__all__ = [
    "accepted_media_type",
    "decode_content",
    "media_type",
    "read_body",
    "read_raw_body",
    "too_large",
]

_CHUNK = 64 * 1024


def media_type(content_type: str | None) -> str:
    """The bare media type of a ``Content-Type`` header, lower case.

    >>> media_type("Application/JSON; charset=utf-8")
    'application/json'
    """
    return (content_type or "").split(";", 1)[0].strip().lower()


def accepted_media_type(request: Request, *allowed: str) -> str:
    """The request's media type when it is one of ``allowed``.

    Raises:
        ApiError: 415 naming the type sent and those the route takes.
    """
    found = media_type(request.headers.get("content-type"))
    if found not in allowed:
        raise ApiError(
            415, f"Content-Type {found or 'none'!r} is not supported: send {' or '.join(allowed)}"
        )
    return found


async def read_raw_body(request: Request, *, limit: int) -> bytes:
    """The body as sent, refused with 413 as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    parts: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        parts.append(chunk)
    return b"".join(parts)


async def read_body(request: Request, *, limit: int) -> bytes:
    """The body with its ``Content-Encoding`` undone; 413 past ``limit`` either way.

    Raises:
        ApiError: 413 too large, 415 an unknown encoding, 400 a corrupt compressed body.
    """
    raw = await read_raw_body(request, limit=limit)
    return decode_content(raw, request.headers.get("content-encoding"), limit=limit)


def decode_content(body: bytes, encoding: str | None, *, limit: int) -> bytes:
    """Undo ``Content-Encoding`` (``gzip``, ``deflate``, ``identity``), producing at most ``limit``.

    Raises:
        ApiError: 413 when the decoded body would pass ``limit``, 415 for another
            encoding, 400 for data that does not decompress.

    >>> import gzip
    >>> decode_content(gzip.compress(b"hello"), "gzip", limit=100)
    b'hello'
    """
    coding = (encoding or "identity").strip().lower()
    if coding in ("", "identity"):
        return body
    if coding in ("gzip", "x-gzip"):
        wbits = 16 + zlib.MAX_WBITS
    elif coding == "deflate":
        wbits = zlib.MAX_WBITS
    else:
        raise ApiError(
            415, f"Content-Encoding {coding!r} is not supported (use gzip, deflate or none)"
        )
    return _inflate(body, wbits, limit, coding)


def _inflate(body: bytes, wbits: int, limit: int, coding: str) -> bytes:
    out = bytearray()
    data = body
    try:
        # A gzip body may hold several members back to back; each needs its own decompressor.
        while data:
            inflater = zlib.decompressobj(wbits)
            pending = data
            while pending:
                out += inflater.decompress(pending, limit + 1 - len(out))
                if len(out) > limit:
                    raise too_large(limit, decompressed=True)
                pending = inflater.unconsumed_tail
            out += inflater.flush()
            if len(out) > limit:
                raise too_large(limit, decompressed=True)
            if not inflater.eof:
                raise ApiError(400, f"{coding} body is truncated")
            data = inflater.unused_data if wbits > zlib.MAX_WBITS else b""
    except zlib.error as exc:
        raise ApiError(400, f"{coding} body does not decompress: {exc}") from None
    return bytes(out)


def too_large(limit: int, *, decompressed: bool = False) -> ApiError:
    """The 413 for a body past ``limit`` bytes (as sent, or ``decompressed``).

    >>> too_large(4096).message
    'request body is larger than the limit of 4 KiB'
    """
    what = "decompressed body" if decompressed else "body"
    return ApiError(413, f"request {what} is larger than the limit of {_size(limit)}")


def _size(limit: int) -> str:
    if limit % (1024 * 1024) == 0:
        return f"{limit // (1024 * 1024)} MiB"
    if limit % 1024 == 0:
        return f"{limit // 1024} KiB"
    return f"{limit} bytes"
