"""The Python-callable provider: ``target: {python: "myapp.bot:answer"}``."""

from __future__ import annotations

import importlib
import inspect
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import anyio.to_thread

from evallock.errors import UsageError
from evallock.providers._base import ProviderError
from evallock.records import Completion, Message

__all__ = ["CallableProvider", "load_callable"]


def load_callable(spec: str) -> Callable[..., Any]:
    """Import ``module:function`` (the current directory is importable).

    Raises:
        UsageError: the spec is malformed, or the module or function is missing.
    """
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise UsageError(f"python target {spec!r}: expected 'module:function'")
    if "" not in sys.path:
        sys.path.insert(0, "")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"python target {spec!r}: cannot import {module_name}: {exc}") from None
    target: Any = module
    for part in attr.split("."):
        target = getattr(target, part, None)
        if target is None:
            raise UsageError(f"python target {spec!r}: {module_name} has no {attr}")
    if not callable(target):
        raise UsageError(f"python target {spec!r}: {attr} is not callable")
    return target  # type: ignore[no-any-return]


class CallableProvider:
    """Calls a Python function with the chat messages; sync functions run in a worker thread.

    The function takes ``messages`` (a list of ``{"role", "content"}``) and returns the
    answer as a string, or a mapping with ``output`` (and optionally ``tokens_in``,
    ``tokens_out``, ``cost`` in USD). Any exception it raises is an error on that case, not retried.
    """

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self._fn = load_callable(spec)
        self._is_async = inspect.iscoroutinefunction(self._fn)

    @property
    def target_id(self) -> str:
        """``python:module:function``."""
        return f"python:{self.spec}"

    async def complete(
        self,
        messages: list[Message],
        *,
        timeout: float,
        tools: Sequence[dict[str, Any]] = (),
    ) -> Completion:
        """Call the function with the messages (a case's tools are not passed); its
        exceptions become non-retryable provider errors."""
        started = time.perf_counter()
        try:
            with anyio.fail_after(timeout):
                if self._is_async:
                    result = await self._fn(messages)
                else:
                    result = await anyio.to_thread.run_sync(self._fn, messages)
        except TimeoutError:
            raise ProviderError(
                f"{self.spec}: timed out after {timeout:g}s", retryable=True
            ) from None
        except Exception as exc:
            raise ProviderError(
                f"{self.spec}: {type(exc).__name__}: {exc}", retryable=False
            ) from exc
        latency_ms = (time.perf_counter() - started) * 1000.0
        if isinstance(result, str):
            return Completion(text=result, latency_ms=latency_ms)
        if isinstance(result, dict) and isinstance(result.get("output"), str):
            return Completion(
                text=result["output"],
                latency_ms=latency_ms,
                tokens_in=result.get("tokens_in"),
                tokens_out=result.get("tokens_out"),
                cost=_cost(result.get("cost")),
            )
        raise ProviderError(
            f"{self.spec}: returned {type(result).__name__}, expected str or {{'output': str}}",
            retryable=False,
        )

    async def aclose(self) -> None:
        """Nothing to release."""


def _cost(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
