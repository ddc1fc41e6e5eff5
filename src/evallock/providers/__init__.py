"""Providers: the services evallock asks (OpenAI-compatible HTTP, Python callables)."""

from evallock.providers._base import Provider, ProviderError
from evallock.providers._prompt import PromptTemplate, build_messages
from evallock.providers.openai_compat import OpenAICompatProvider, parse_retry_after
from evallock.providers.python_callable import CallableProvider, load_callable

__all__ = [
    "CallableProvider",
    "OpenAICompatProvider",
    "PromptTemplate",
    "Provider",
    "ProviderError",
    "build_messages",
    "load_callable",
    "parse_retry_after",
]
