"""The Provider protocol: one request in, one :class:`Completion` out.

Providers are thin: they translate a request and its response and classify
errors. Retries, backoff, timeouts and caching live once, in the runner.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol, runtime_checkable

from evallock.records import Completion, Message

__all__ = ["Price", "Provider", "ProviderError"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Price:
    """What a target's tokens cost, in USD per million (``target.price`` in evallock.yaml)."""

    input: float
    """USD per 1M prompt tokens."""
    output: float
    """USD per 1M completion tokens."""

    def __post_init__(self) -> None:
        for name in ("input", "output"):
            value = getattr(self, name)
            if isinstance(value, bool) or not math.isfinite(value) or value < 0:
                raise ValueError(f"price.{name} must be a number ≥ 0 (USD per 1M tokens)")

    def priced(self, completion: Completion) -> Completion:
        """``completion`` with its cost, unless the service already reported one or the
        tokens are unknown."""
        if completion.cost is not None or completion.tokens_in is None:
            return completion
        tokens_out = completion.tokens_out or 0
        cost = (completion.tokens_in * self.input + tokens_out * self.output) / 1e6
        return replace(completion, cost=cost)


class ProviderError(Exception):
    """A request that failed; ``retryable`` says whether asking again may help."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        """429, 5xx, connect and read timeouts are retryable; other 4xx are not."""
        self.status = status
        """The HTTP status, when there was a response."""
        self.retry_after = retry_after
        """Seconds the server asked us to wait (``Retry-After``), if it said."""


@runtime_checkable
class Provider(Protocol):
    """Something that answers chat messages: an HTTP service or a Python callable."""

    @property
    def target_id(self) -> str:
        """Which service this is (base URL + model, or ``module:function``), for baselines."""
        ...

    async def complete(
        self,
        messages: list[Message],
        *,
        timeout: float,
        tools: Sequence[dict[str, Any]] = (),
    ) -> Completion:
        """Answer one request within ``timeout`` seconds.

        Raises:
            ProviderError: the request failed; ``retryable`` tells the runner what to do.
        """
        ...

    async def aclose(self) -> None:
        """Release pooled connections."""
        ...
