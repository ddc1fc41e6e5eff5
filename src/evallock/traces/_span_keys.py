"""Keys from span data: which attributes fill which shared key (DESIGN §2, interop §0.1).

Only what the sender stated becomes a key; nothing is derived (a model name is
not a ``model_version``). Sources, weakest first (a later one wins):

* resource attributes named like a shared key (``prompt_version``), and
  ``service.version`` → ``service_version``, ``deployment.environment.name`` (or the
  older ``deployment.environment``) → ``deployment_environment``;
* ``evallock.<key>`` resource attributes;
* the conventions' own names on the span: ``gen_ai.prompt.version`` and
  ``llm.prompt_template.version`` → ``prompt_version``, ``session.id`` and
  ``gen_ai.conversation.id`` → ``session_id``;
* OpenInference ``metadata`` (a JSON object) entries named like a shared key;
* ``evallock.<key>`` span attributes (dots in the name become ``_``:
  ``evallock.retriever.version`` → ``retriever_version``).

Values become text: numbers and booleans as JSON spells them, arrays and kvlists
as compact JSON, bytes as base64.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson

from evallock.keys import SHARED_KEYS, normalise_key
from evallock.traces._messages import json_value

__all__ = ["key_text", "resource_keys", "span_keys"]

_SHARED = frozenset(SHARED_KEYS)
_PREFIX = "evallock."
_RESOURCE_ALIASES = {
    "service.version": "service_version",
    "deployment.environment": "deployment_environment",
    "deployment.environment.name": "deployment_environment",  # after the older name: it wins
}
_SPAN_ALIASES = {
    "gen_ai.prompt.version": "prompt_version",
    "llm.prompt_template.version": "prompt_version",
    "gen_ai.conversation.id": "session_id",
    "session.id": "session_id",
}


def key_text(value: Any) -> str | None:
    """A key's value as text; None for an empty or missing value."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return orjson.dumps(value, default=key_text).decode()


_EVALLOCK_NAMES: dict[str, str] = {}


def _evallock_key(name: str) -> str:
    # Memoised: the same few attribute names arrive on every span.
    key = _EVALLOCK_NAMES.get(name)
    if key is None:
        key = normalise_key(name[len(_PREFIX) :].replace(".", "_"))
        if len(_EVALLOCK_NAMES) < 4096:
            _EVALLOCK_NAMES[name] = key
    return key


def _put(keys: dict[str, str], name: str, value: Any) -> None:
    text = key_text(value)
    if text is not None and name:
        keys[name] = text


def resource_keys(resource: dict[str, Any]) -> dict[str, str]:
    """The keys a resource's attributes give every span of that resource."""
    keys: dict[str, str] = {}
    for name, alias in _RESOURCE_ALIASES.items():
        if name in resource:
            _put(keys, alias, resource[name])
    own: dict[str, str] = {}
    for name, value in resource.items():
        if name.startswith(_PREFIX):
            _put(own, _evallock_key(name), value)
        elif "." not in name and normalise_key(name) in _SHARED:
            _put(keys, normalise_key(name), value)
    keys.update(own)
    return keys


def span_keys(attributes: dict[str, Any]) -> dict[str, str]:
    """The keys one span's own attributes give (without its resource's)."""
    keys: dict[str, str] = {}
    for name, alias in _SPAN_ALIASES.items():
        if name in attributes:
            _put(keys, alias, attributes[name])
    metadata = attributes.get("metadata")
    if metadata is not None:
        data = json_value(metadata, "attributes.metadata")
        if isinstance(data, dict):
            for name, value in data.items():
                key = normalise_key(str(name))
                if key in _SHARED:
                    _put(keys, key, value)
    for name, value in attributes.items():
        if name.startswith(_PREFIX):
            _put(keys, _evallock_key(name), value)
    return keys
