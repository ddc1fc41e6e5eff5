"""Keys from span data: which attributes fill which shared key (DESIGN §2, interop §0.1).

Only what the sender stated becomes a key; nothing is derived (a model name is
not a ``model_version``). Sources, weakest first (a later one wins):

* resource attributes named like a shared key (``prompt_version``), and
  ``service.version`` → ``service_version``, ``deployment.environment.name`` (or the
  older ``deployment.environment``) → ``deployment_environment``;
* ``evallock.<key>`` resource attributes;
* the conventions' own names on the span (the table :data:`SPAN_ALIASES`: OTel
  GenAI, OpenInference, Langfuse and OpenLLMetry names of the prompt version,
  session, end user, tags, release …);
* OpenInference ``metadata`` and Langfuse ``langfuse.trace.metadata`` and
  ``langfuse.observation.metadata`` (JSON objects) entries named like a shared
  key, and Langfuse's flattened ``langfuse.{trace,observation}.metadata.<key>``
  (each value JSON, as the SDK writes it); the Langfuse OpenAI drop-in's
  ``langfuse_session_id`` / ``langfuse_user_id`` / ``langfuse_tags`` metadata are
  the session, user and tags;
* OpenLLMetry's ``traceloop.association.properties.<key>``: every one, as the app
  set it to tag the trace;
* ``evallock.<key>`` span attributes (dots in the name become ``_``:
  ``evallock.retriever.version`` → ``retriever_version``).

Content attributes (``traceloop.entity.input``, ``langfuse.observation.output`` …)
never become keys.

Values become text: numbers and booleans as JSON spells them, arrays and kvlists
as compact JSON, bytes as base64.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson

from evallock.keys import SHARED_KEYS, normalise_key
from evallock.traces._messages import json_value

__all__ = ["SPAN_ALIASES", "key_text", "resource_keys", "span_keys"]

_SHARED = frozenset(SHARED_KEYS)
_PREFIX = "evallock."
_RESOURCE_ALIASES = {
    "service.version": "service_version",
    "deployment.environment": "deployment_environment",
    "deployment.environment.name": "deployment_environment",  # after the older name: it wins
}
SPAN_ALIASES: dict[str, str] = {
    # OTel GenAI
    "gen_ai.prompt.name": "prompt_name",
    "gen_ai.prompt.version": "prompt_version",
    "gen_ai.conversation.id": "session_id",
    "enduser.id": "user_id",
    # OpenInference (session.id and user.id are also the OTel registry's and Langfuse's)
    "llm.prompt_template.version": "prompt_version",
    "session.id": "session_id",
    "user.id": "user_id",
    "tag.tags": "tags",
    # Langfuse
    "langfuse.observation.prompt.name": "prompt_name",
    "langfuse.observation.prompt.version": "prompt_version",
    "langfuse.session.id": "session_id",
    "langfuse.user.id": "user_id",
    "langfuse.trace.tags": "tags",
    "langfuse.release": "release",
    "langfuse.version": "version",
    "langfuse.environment": "deployment_environment",
    # OpenLLMetry (Traceloop)
    "traceloop.prompt.key": "prompt_name",
    "traceloop.prompt.version": "prompt_version",
    "traceloop.workflow.name": "workflow_name",
    "traceloop.entity.name": "entity_name",
}
"""Attribute → key, per dialect; when two name the same key on one span, the later wins."""
_ASSOCIATION = "traceloop.association.properties."
_LANGFUSE_METADATA = ("langfuse.trace.metadata", "langfuse.observation.metadata")


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


_LANGFUSE_METADATA_KEYS = {
    "langfuse_session_id": "session_id",
    "langfuse_user_id": "user_id",
    "langfuse_tags": "tags",
}
"""Metadata the Langfuse OpenAI drop-in reads as trace attributes (it sends them as metadata)."""
_METADATA_KEYS = _SHARED | frozenset(_LANGFUSE_METADATA_KEYS.values())
"""The keys a metadata entry may fill."""


def _metadata_key(name: str) -> str:
    return _LANGFUSE_METADATA_KEYS.get(name) or normalise_key(name)


def span_keys(attributes: dict[str, Any]) -> dict[str, str]:
    """The keys one span's own attributes give (without its resource's)."""
    keys: dict[str, str] = {}
    for name, alias in SPAN_ALIASES.items():
        if name in attributes:
            _put(keys, alias, attributes[name])
    for field in ("metadata", *_LANGFUSE_METADATA):
        metadata = attributes.get(field)
        if metadata is not None:
            data = json_value(metadata, f"attributes.{field}")
            if isinstance(data, dict):
                for name, value in data.items():
                    key = _metadata_key(str(name))
                    if key in _METADATA_KEYS:
                        _put(keys, key, value)
    for name, value in attributes.items():
        if name.startswith("langfuse.") and ".metadata." in name:
            head, _, raw = name.partition(".metadata.")
            key = _metadata_key(raw)
            if head + ".metadata" in _LANGFUSE_METADATA and key in _METADATA_KEYS:
                # the SDK writes each value as JSON ('"enterprise"')
                decoded = json_value(value, f"attributes.{name}")
                _put(keys, key, value if decoded is None else decoded)
    for name, value in attributes.items():
        if name.startswith(_ASSOCIATION) and len(name) > len(_ASSOCIATION):
            _put(keys, normalise_key(name[len(_ASSOCIATION) :].replace(".", "_")), value)
    for name, value in attributes.items():
        if name.startswith(_PREFIX):
            _put(keys, _evallock_key(name), value)
    return keys
