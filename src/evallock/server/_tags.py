"""Proxy request tags: the trace's keys and id from what a client sent, and what goes upstream.

Keys are read from every place a client may already put them (interop §4.5),
later sources winning over earlier ones, the most explicit last:

1. the OpenAI body's ``metadata`` object;
2. LiteLLM's ``x-litellm-spend-logs-metadata`` (a JSON object);
3. Helicone's ``Helicone-Property-<Name>`` (plus ``Helicone-Session-Id``/``-User-Id``);
4. W3C ``baggage`` members named ``evallock.<key>``;
5. ``X-Evallock-<Key>`` headers.

Every key name and value must be within ``evallock.limits`` (a value of 256
characters at most, 64 keys at most): past that the request is refused with 422
naming the header (``X-Evallock-Intent``) or the key, before anything goes upstream.

The prompt template's variables come from ``X-Evallock-Prompt-Vars``, a JSON
object (``{"plan": "enterprise"}``); they are not keys. Not JSON, not an object,
or past the limits of :func:`evallock.limits.check_vars`: 422 naming the header.

The trace id is ``X-Evallock-Trace-Id`` when the client chose one, else the
trace id of a W3C ``traceparent`` (so the proxy's summary merges with the app's
own spans), else a new one.

Upstream gets only the client headers an OpenAI-compatible API reads, by an
allow-list: ``Content-Type``, ``Accept``, ``User-Agent``, the upstream key
(``Authorization`` when it is not an evallock key, ``api-key``, ``x-api-key``),
``OpenAI-*``, ``X-Stainless-*``, ``Anthropic-*``, tracing context
(``traceparent``, ``tracestate``, ``baggage``), request ids and OpenRouter's
attribution headers. Never ``Cookie`` (a dashboard session), ``X-Evallock-*``
(``X-Evallock-Auth`` carries our key), any bearer token shaped like an evallock
key, nor hop-by-hop headers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote

import orjson

from evallock.keys import header_key, normalise_key
from evallock.limits import (
    MAX_KEY_NAME,
    MAX_KEY_VALUE,
    MAX_SHORT_TEXT,
    FieldLimitError,
    check_depth,
    check_keys,
    check_text,
    check_vars,
)
from evallock.server._apikeys import looks_like_api_key
from evallock.server._errors import ApiError
from evallock.traces import new_trace_id, normalise_trace_id

__all__ = [
    "PROMPT_VARS_HEADER",
    "TRACE_ID_HEADER",
    "request_keys",
    "request_trace_id",
    "request_vars",
    "upstream_headers",
]

TRACE_ID_HEADER = "x-evallock-trace-id"
"""Request: the trace id the client chose. Response: the trace id recorded."""
PROMPT_VARS_HEADER = "x-evallock-prompt-vars"
"""Request: the prompt template's variables, a JSON object."""
_NOT_KEYS = frozenset({"x-evallock-auth", TRACE_ID_HEADER, PROMPT_VARS_HEADER})
_FORWARDED = frozenset(
    {
        "content-type",
        "accept",
        "user-agent",
        "authorization",
        "api-key",  # Azure OpenAI
        "x-api-key",
        "traceparent",
        "tracestate",
        "baggage",
        "idempotency-key",
        "x-request-id",
        "x-client-request-id",
        "http-referer",  # OpenRouter's attribution
        "x-title",
    }
)
_FORWARDED_PREFIXES = ("openai-", "x-stainless-", "anthropic-")
_HELICONE_PROPERTY = "helicone-property-"
_HELICONE_NAMED = {"helicone-session-id": "session_id", "helicone-user-id": "user_id"}
_BAGGAGE_PREFIX = "evallock."


def request_keys(
    headers: Iterable[tuple[str, str]], body: Mapping[str, Any] | None
) -> dict[str, str]:
    """The trace keys a proxied request carries (see the module docstring for the order).

    Raises:
        FieldLimitError: a key past its limit, naming the ``X-Evallock-*`` header
            or the key (answered 422).

    >>> request_keys([("X-Evallock-Prompt-Version", "v4"), ("baggage", "evallock.intent=refund")],
    ...              {"metadata": {"intent": "billing", "experiment": "B"}})
    {'intent': 'refund', 'experiment': 'B', 'prompt_version': 'v4'}
    """
    pairs = [(name.lower(), value) for name, value in headers]
    keys: dict[str, str] = {}
    metadata = body.get("metadata") if body is not None else None
    if isinstance(metadata, Mapping):
        _merge(keys, metadata)
    for name, value in pairs:
        if name == "x-litellm-spend-logs-metadata":
            _merge(keys, _json_object(value))
    for name, value in pairs:
        if name.startswith(_HELICONE_PROPERTY) and len(name) > len(_HELICONE_PROPERTY):
            _merge(keys, {name[len(_HELICONE_PROPERTY) :]: value})
        elif name in _HELICONE_NAMED:
            _merge(keys, {_HELICONE_NAMED[name]: value})
    for name, value in pairs:
        if name == "baggage":
            _merge(keys, _baggage_keys(value))
    for name, value in pairs:
        key = None if name in _NOT_KEYS else header_key(name)
        if key is not None:
            shown = _header_name(name)
            check_text(shown, value, MAX_KEY_VALUE)
            if len(key) > MAX_KEY_NAME:
                raise FieldLimitError(
                    shown, f"a key name of {len(key)} characters, more than {MAX_KEY_NAME}"
                )
            _merge(keys, {key: value})
    check_keys("keys", keys)
    return keys


def request_vars(headers: Mapping[str, str]) -> dict[str, Any]:
    """The template variables of ``X-Evallock-Prompt-Vars`` (``{}`` without the header).

    Raises:
        FieldLimitError: not a JSON object, or past the limits (answered 422).

    >>> request_vars({"x-evallock-prompt-vars": '{"plan": "pro"}'})
    {'plan': 'pro'}
    """
    text = headers.get(PROMPT_VARS_HEADER)
    if text is None:
        return {}
    shown = _header_name(PROMPT_VARS_HEADER)
    check_text(shown, text, MAX_SHORT_TEXT)
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise FieldLimitError(shown, f"not JSON: {exc}") from None
    check_vars(shown, value)
    return dict(value)


def _header_name(name: str) -> str:
    """A header's name as people write it: ``x-evallock-intent`` → ``X-Evallock-Intent``."""
    return "-".join(part[:1].upper() + part[1:] for part in name.split("-"))


def _merge(keys: dict[str, str], found: Mapping[str, Any]) -> None:
    for raw, value in found.items():
        if value is None or value == "":
            continue
        name = normalise_key(str(raw).replace(".", "_"))
        if not name:
            continue
        if isinstance(value, dict | list):
            check_depth(f"keys.{name}", value)  # before it is written out as JSON text
        keys[name] = value if isinstance(value, str) else _text(value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    return str(value)


def _json_object(text: str) -> Mapping[str, Any]:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _baggage_keys(header: str) -> dict[str, str]:
    """``evallock.*`` members of a W3C baggage header, values percent-decoded."""
    found: dict[str, str] = {}
    for member in header.split(","):
        entry = member.split(";", 1)[0]
        name, sep, value = entry.partition("=")
        name = name.strip()
        if sep and name.lower().startswith(_BAGGAGE_PREFIX) and len(name) > len(_BAGGAGE_PREFIX):
            found[name[len(_BAGGAGE_PREFIX) :]] = unquote(value.strip())
    return found


def request_trace_id(headers: Mapping[str, str]) -> str:
    """The trace id to record: the client's ``X-Evallock-Trace-Id``, a ``traceparent``'s, or new.

    Raises:
        ApiError: 400 for an ``X-Evallock-Trace-Id`` that is not 32 hex digits.
    """
    chosen = headers.get(TRACE_ID_HEADER)
    if chosen is not None:
        try:
            return normalise_trace_id(chosen)
        except ValueError as exc:
            raise ApiError(
                400, f"X-Evallock-Trace-Id: {exc}", field="X-Evallock-Trace-Id"
            ) from None
    parent = headers.get("traceparent")
    if parent is not None:
        parts = parent.strip().split("-")
        if len(parts) >= 4 and len(parts[0]) == 2 and parts[0] != "ff":
            try:
                return normalise_trace_id(parts[1])
            except ValueError:
                pass  # an invalid traceparent is ignored, as W3C asks
    return new_trace_id()


def upstream_headers(
    headers: Iterable[tuple[str, str]],
    *,
    drop_authorization: bool,
    upstream_api_key: str | None,
) -> list[tuple[str, str]]:
    """The headers to send upstream: the allowed ones of the client's (see the module docstring).

    Args:
        headers: the client's request headers.
        drop_authorization: the client's ``Authorization`` carried its evallock key.
        upstream_api_key: a key to send upstream when the client's ``Authorization``
            is not for the upstream (or absent).

    >>> upstream_headers([("Cookie", "evallock_session=s"), ("OpenAI-Beta", "v2")],
    ...                  drop_authorization=False, upstream_api_key=None)
    [('openai-beta', 'v2')]
    """
    pairs = [(name.lower(), value) for name, value in headers]
    listed = {
        token.strip().lower()
        for name, value in pairs
        if name == "connection"
        for token in value.split(",")
    }
    out: list[tuple[str, str]] = []
    for name, value in pairs:
        if name in listed or not (name in _FORWARDED or name.startswith(_FORWARDED_PREFIXES)):
            continue
        if name == "authorization" and (drop_authorization or _is_own_key(value)):
            continue
        if looks_like_api_key(value.strip()):
            continue  # an evallock key in any header stays here
        out.append((name, value))
    if upstream_api_key and not any(name == "authorization" for name, _ in out):
        out.append(("authorization", f"Bearer {upstream_api_key}"))
    return out


def _is_own_key(value: str) -> bool:
    scheme, _, token = value.strip().partition(" ")
    return scheme.lower() == "bearer" and looks_like_api_key(token.strip())
