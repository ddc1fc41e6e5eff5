"""The Provider protocol: one request in, one :class:`Completion` out.

Providers are thin: they translate a request and its response and classify
errors. Retries, backoff, timeouts and caching live once, in the runner.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from evallock.records import Completion, Message

__all__ = ["Provider", "ProviderError"]


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

    async def complete(self, messages: list[Message], *, timeout: float) -> Completion:
        """Answer one request within ``timeout`` seconds.

        Raises:
            ProviderError: the request failed; ``retryable`` tells the runner what to do.
        """
        ...

    async def aclose(self) -> None:
        """Release pooled connections."""
        ...
