"""Retries: exponential backoff with full jitter that honours ``Retry-After``."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import anyio

from evallock.providers import ProviderError

__all__ = ["RetryPolicy", "call_with_retry"]

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True, slots=True)
class RetryPolicy:
    """How often and how patiently a failed request is asked again."""

    retries: int = 5
    """Further attempts after the first; 0 asks once."""
    base: float = 0.5
    """First backoff ceiling in seconds; doubles each attempt."""
    cap: float = 8.0
    """Largest backoff ceiling in seconds."""
    max_retry_after: float = 120.0
    """A server asking to wait longer than this is not waited for (as the OpenAI SDK does)."""

    def delay(self, attempt: int, error: ProviderError, rng: random.Random) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None to give up."""
        if not error.retryable or attempt >= self.retries:
            return None
        if error.retry_after is not None:
            if error.retry_after > self.max_retry_after:
                return None
            # A small jitter on top keeps a storm of clients from retrying in lockstep.
            return error.retry_after + rng.uniform(0, min(self.base, 0.25))
        return rng.uniform(0, min(self.cap, self.base * (2**attempt)))


async def call_with_retry(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    rng: random.Random,
    *,
    on_retry: Callable[[], None] | None = None,
) -> tuple[T, int]:
    """Await ``call`` until it succeeds or the policy gives up.

    Args:
        call: the request.
        policy: how often and how patiently to ask again.
        rng: the jitter's randomness.
        on_retry: called before each further attempt, also of a call that fails in
            the end (the attempts' count is returned only with a result).

    Returns:
        The result and the number of attempts it took.

    Raises:
        ProviderError: the last error, when the policy gives up.
    """
    attempt = 0
    while True:
        try:
            return await call(), attempt + 1
        except ProviderError as error:
            wait = policy.delay(attempt, error, rng)
            if wait is None:
                raise
        if on_retry is not None:
            on_retry()
        await anyio.sleep(wait)
        attempt += 1
