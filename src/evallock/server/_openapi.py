"""The OpenAPI document: every error a route can answer, in the dialect it answers it.

Routes declare what they do on success; the refusals are the same few for every
route and are rendered by one function (``_errors.render_error``) in one of
three dialects. So they are documented here, once, by the same rule: an OTLP
route's errors are ``google.rpc.Status`` messages, the proxy's are OpenAI error
envelopes, every other route's are ``{"detail", "field"}``. FastAPI's own 422
(a list of validation errors) is replaced, since validation errors are answered
as 400 with one reason and 422 means a value past its documented limit.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from evallock.server._errors import OTLP_PATHS, PROXY_PATHS

__all__ = ["install_openapi"]

_REASONS = {
    400: "Invalid request: `detail` says what is wrong (and `field` where).",
    401: "No valid evallock API key.",
    403: "The key's scope does not cover this route.",
    404: "Not found.",
    409: "The candidate is not in a state that allows this.",
    413: "Body larger than the route's limit (as sent or decompressed).",
    415: "Unsupported Content-Type or Content-Encoding.",
    421: "Under `--no-auth`, a Host other than the loopback address (DNS rebinding guard).",
    422: "A value past its documented limit; `field` names it.",
    429: "Other requests hold the decode budget; retry after `Retry-After`.",
    502: "The upstream did not answer.",
    503: "The store cannot take the rows now; retry after `Retry-After`.",
    504: "The upstream timed out.",
}
_COMMON = (400, 401, 403, 421, 422, 503)
_SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": {
        "type": "object",
        "required": ["detail"],
        "properties": {"detail": {"type": "string"}, "field": {"type": "string"}},
    },
    "OtlpStatus": {
        "type": "object",
        "description": "A google.rpc.Status (protobuf for a protobuf request).",
        "properties": {"code": {"type": "integer"}, "message": {"type": "string"}},
    },
    "OpenAIError": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "properties": {
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                    "param": {"type": ["string", "null"]},
                    "code": {"type": ["string", "null"]},
                },
            }
        },
    },
}


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` document every route's error answers (built once, cached)."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
            )
            _document_errors(document)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = build  # type: ignore[method-assign]


def _document_errors(document: dict[str, Any]) -> None:
    components = document.setdefault("components", {}).setdefault("schemas", {})
    components.update(_SCHEMAS)
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status in _statuses(path, method, operation):
                known = responses.get(str(status), {})
                responses[str(status)] = {
                    "description": known.get("description") or _REASONS[status],
                    "content": _content(path),
                }


def _statuses(path: str, method: str, operation: dict[str, Any]) -> list[int]:
    if operation.get("tags") == ["health"]:
        return [421, 503]
    statuses = list(_COMMON)
    if method in ("post", "put"):
        statuses.append(413)
    if "{" in path or path in ("/v1/chat/completions", "/v1/responses"):
        statuses.append(404)  # an unknown id; the recording proxy off
    if path in OTLP_PATHS or path in ("/v1/feedback", "/v1/labels"):
        statuses += [415, 429]
    if path in PROXY_PATHS:
        statuses += [415, 502, 504]
    if path.endswith(("/accept", "/reject")) or path.startswith("/api/evaluators/"):
        statuses.append(409)
    return sorted(set(statuses))


def _content(path: str) -> dict[str, Any]:
    if path in OTLP_PATHS:
        return {
            "application/json": {"schema": {"$ref": "#/components/schemas/OtlpStatus"}},
            "application/x-protobuf": {"schema": {"type": "string", "format": "binary"}},
        }
    if path in PROXY_PATHS:
        return {"application/json": {"schema": {"$ref": "#/components/schemas/OpenAIError"}}}
    return {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
