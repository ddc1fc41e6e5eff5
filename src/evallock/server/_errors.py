"""Error answers: one exception for every refusal, rendered in the shape each client reads.

A route raises :class:`ApiError` (status, one-line reason, the field at fault)
and the handler installed by :func:`install_error_handlers` answers in the
dialect of the route's clients:

- OTLP routes (``/v1/traces``, ``/v1/logs``): a ``google.rpc.Status``, protobuf
  for a protobuf request and JSON otherwise, as the OTLP spec asks;
- the recording proxy: OpenAI's ``{"error": {"message", "type", "param", "code"}}``,
  which the ``openai`` SDK turns into its exceptions;
- everything else: ``{"detail": reason, "field": name}``.

A value past its documented limit (:class:`evallock.limits.FieldLimitError`),
raised anywhere while a request is served, answers 422 naming the field, in the
same dialects. Reasons never echo request content back except as JSON string data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from evallock.limits import FieldLimitError

__all__ = [
    "BODY_ERRORS",
    "OTLP_PATHS",
    "PROXY_PATHS",
    "ApiError",
    "JSONBytes",
    "install_error_handlers",
    "json_response",
    "limit_error",
    "render_error",
    "rpc_status_protobuf",
    "store_failure",
    "undecodable",
]

OTLP_PATHS = frozenset({"/v1/traces", "/v1/logs", "/v1/metrics", "/api/public/otel/v1/traces"})
"""Routes whose errors are OTLP ``Status`` messages."""
PROXY_PATHS = frozenset({"/v1/chat/completions", "/v1/responses", "/v1/embeddings", "/v1/models"})
"""Routes whose errors are OpenAI error envelopes."""
_PROTOBUF = "application/x-protobuf"
# google.rpc.Code for each HTTP status we send (the OTLP spec leaves Status.code optional).
_RPC_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 413: 8, 415: 3, 421: 3, 422: 3, 429: 8, 503: 14}
_OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_denied",
    404: "not_found",
    413: "invalid_request_error",
    415: "invalid_request_error",
    421: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    502: "upstream_error",
    503: "service_unavailable",
    504: "upstream_error",
}
BODY_ERRORS = (RecursionError, OverflowError, ValueError, TypeError, UnicodeError)
"""What a decoder may raise on a hostile body without naming the field (answered 400)."""
_SECURITY_HEADERS = {"x-content-type-options": "nosniff", "cache-control": "no-store"}


class ApiError(Exception):
    """A request refused with an HTTP status and a reason a person can act on."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Describe the refusal.

        Args:
            status: the HTTP status (4xx or 5xx).
            message: one line saying what is wrong, starting with the field when there is one.
            field: the request field at fault, when one is.
            headers: extra response headers (``WWW-Authenticate``, ``Retry-After`` …).
        """
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.headers = dict(headers or {})


class JSONBytes(Response):
    """A JSON response serialised by orjson, marked ``nosniff`` so no browser reads it as HTML."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """Serialise ``content`` (dataclasses and datetimes included)."""
        if isinstance(content, bytes):
            return content
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


def json_response(
    content: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> JSONBytes:
    """A JSON answer with the headers every evallock answer carries."""
    return JSONBytes(content, status_code=status, headers={**_SECURITY_HEADERS, **(headers or {})})


def rpc_status_protobuf(code: int, message: str) -> bytes:
    """Encode a ``google.rpc.Status`` (``code`` = 1, ``message`` = 2) without its package.

    >>> rpc_status_protobuf(3, "bad")
    b'\\x08\\x03\\x12\\x03bad'
    """
    text = message.encode()
    head = b"\x08" + _varint(code) if code else b""
    return head + b"\x12" + _varint(len(text)) + text


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def limit_error(exc: FieldLimitError) -> ApiError:
    """The 422 answer to a value past its limit, naming the field."""
    return ApiError(422, str(exc), field=exc.field)


def undecodable(exc: BaseException) -> ApiError:
    """The 400 for a body a decoder failed on without saying why in its own words.

    >>> undecodable(RecursionError("maximum recursion depth exceeded")).message
    'the body cannot be decoded: RecursionError: maximum recursion depth exceeded'
    """
    reason = str(exc)[:200]
    return ApiError(400, f"the body cannot be decoded: {type(exc).__name__}: {reason}".rstrip(": "))


def store_failure(exc: BaseException, what: str) -> ApiError:
    """The answer to a write the store did not take: 422 for a value past its limit and
    400 when it refused the data itself (it would refuse a retry too), 503 with
    ``Retry-After`` when it may take it later.

    Clients see the database's reason, not the store's URL.
    """
    from sqlalchemy.exc import DataError, IntegrityError

    cause = exc.__cause__
    for refused in (exc, cause):
        if isinstance(refused, FieldLimitError):
            return limit_error(refused)
    reason = str(exc).rsplit(": ", 1)[-1] if " in store " in str(exc) else str(exc)
    if isinstance(exc, ValueError) or isinstance(cause, DataError | IntegrityError):
        return ApiError(400, f"the store refused {what}: {reason}")
    return ApiError(
        503, f"the store did not take {what}: {reason}; retry shortly", headers={"Retry-After": "1"}
    )


def render_error(request: Request, error: ApiError) -> Response:
    """The answer to ``error`` in the dialect of the route it happened on."""
    path = request.url.path
    headers = {**_SECURITY_HEADERS, **error.headers}
    if path in OTLP_PATHS:
        code = _RPC_CODES.get(error.status, 2)
        if request.headers.get("content-type", "").lower().startswith(_PROTOBUF):
            body = rpc_status_protobuf(code, error.message)
            return Response(body, error.status, headers=headers, media_type=_PROTOBUF)
        return JSONBytes({"code": code, "message": error.message}, error.status, headers=headers)
    if path in PROXY_PATHS:
        envelope = {
            "message": error.message,
            "type": _OPENAI_TYPES.get(error.status, "evallock_error"),
            "param": error.field,
            "code": None,
        }
        return JSONBytes({"error": envelope}, error.status, headers=headers)
    payload: dict[str, Any] = {"detail": error.message}
    if error.field is not None:
        payload["field"] = error.field
    return JSONBytes(payload, error.status, headers=headers)


_PATH_METHODS: dict[int, list[tuple[re.Pattern[str], list[str]]]] = {}


def _documented_methods(app: FastAPI, path: str) -> list[str]:
    """The methods the OpenAPI document gives ``path`` (its templates matched), or none."""
    table = _PATH_METHODS.get(id(app))
    if table is None:
        table = []
        for template, operations in app.openapi().get("paths", {}).items():
            text = re.sub(r"\\\{[^}:]+:path\\\}", ".+", re.escape(template))
            text = re.sub(r"\\\{[^}]+\\\}", "[^/]+", text)
            methods = sorted(m.upper() for m in operations if m in _HTTP_METHODS)
            table.append((re.compile(f"^{text}$"), methods))
        _PATH_METHODS[id(app)] = table
    found: set[str] = set()
    for compiled, methods in table:
        if compiled.match(path):
            found.update(methods)
    return sorted(found)


_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options"})


def install_error_handlers(app: FastAPI) -> None:
    """Answer :class:`ApiError`, FastAPI's validation errors, plain HTTP errors and
    :class:`~evallock.limits.FieldLimitError` (422) alike."""

    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return render_error(request, exc)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        location = [str(part) for part in first.get("loc", ()) if part not in ("query", "path")]
        field = ".".join(location) or None
        reason = str(first.get("msg", "invalid request"))
        message = f"{field}: {reason}" if field else reason
        return render_error(request, ApiError(400, message, field=field))

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names the methods of the first route of the path only; a path
            # served by several routes (GET here, PUT and DELETE there) supports them all,
            # as the published API says.
            allowed = _documented_methods(app, request.url.path)
            if allowed:
                headers["Allow"] = ", ".join(allowed)
        return render_error(request, ApiError(exc.status_code, str(exc.detail), headers=headers))

    async def on_limit(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, FieldLimitError)
        return render_error(request, limit_error(exc))

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(FieldLimitError, on_limit)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
