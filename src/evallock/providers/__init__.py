"""Providers: the services evallock asks (OpenAI-compatible HTTP, Python callables).

Importing the package is cheap: each name loads its module the first time it is
used, so a run against a Python callable never imports aiohttp (about 0.1 s,
most of it the TLS contexts aiohttp builds on import).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evallock._lazy import lazy_names

if TYPE_CHECKING:
    from evallock.providers._base import Price, Provider, ProviderError
    from evallock.providers._prompt import PromptTemplate, build_messages
    from evallock.providers.openai_compat import OpenAICompatProvider, parse_retry_after
    from evallock.providers.python_callable import CallableProvider, load_callable

__all__ = [
    "CallableProvider",
    "OpenAICompatProvider",
    "Price",
    "PromptTemplate",
    "Provider",
    "ProviderError",
    "build_messages",
    "load_callable",
    "parse_retry_after",
]

_HOME = {
    "CallableProvider": "python_callable",
    "OpenAICompatProvider": "openai_compat",
    "Price": "_base",
    "PromptTemplate": "_prompt",
    "Provider": "_base",
    "ProviderError": "_base",
    "build_messages": "_prompt",
    "load_callable": "python_callable",
    "parse_retry_after": "openai_compat",
}
__getattr__ = lazy_names(__name__, _HOME)
