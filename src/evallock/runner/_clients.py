"""The runner's side of the judge and the caches: retries and store-backed verdicts."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from typing import Any

import orjson

from evallock.errors import JudgeError
from evallock.providers import Provider, ProviderError
from evallock.records import Completion, Message
from evallock.runner._retry import RetryPolicy, call_with_retry
from evallock.runner._run_store import CacheStore
from evallock.runner._writer import BatchWriter

__all__ = ["RetryingJudge", "StoreCache", "target_cache_key"]


class RetryingJudge:
    """A :class:`~evallock.graders.JudgeClient` over a provider, with the run's retry policy.

    Raises :class:`JudgeError` (exit 3) when the judge stays unreachable.
    """

    def __init__(
        self,
        provider: Provider,
        *,
        model: str,
        policy: RetryPolicy,
        timeout: float,
        rng: random.Random,
    ) -> None:
        self._provider = provider
        self._model = model
        self._policy = policy
        self._timeout = timeout
        self._rng = rng
        self.calls = 0
        """Judge requests that were answered."""

    @property
    def model(self) -> str:
        """The judge model's name."""
        return self._model

    async def ask(self, messages: list[Message]) -> str:
        """Ask the judge; retry what is retryable."""

        async def call() -> Completion:
            return await self._provider.complete(messages, timeout=self._timeout)

        try:
            completion, _ = await call_with_retry(call, self._policy, self._rng)
        except ProviderError as exc:
            raise JudgeError(f"judge unreachable: {exc}") from None
        self.calls += 1
        return completion.text


class StoreCache:
    """A namespace of the store's cache: reads go to the store, writes ride the batch writer."""

    def __init__(self, store: CacheStore, writer: BatchWriter, namespace: str) -> None:
        self._store = store
        self._writer = writer
        self._namespace = namespace
        # Entries written this run but not flushed yet, so a repeat in the same run hits.
        self._pending: dict[str, dict[str, Any]] = {}
        self.hits = 0
        """Lookups answered from the cache."""

    def get(self, key: str) -> dict[str, Any] | None:
        """The cached value, or None."""
        value = self._pending.get(key)
        if value is None:
            value = self._store.cache.get(self._namespace, key)
        if value is not None:
            self.hits += 1
        return value

    def put(self, key: str, verdict: dict[str, Any]) -> None:
        """Remember a value (first write wins in the store)."""
        self._pending[key] = verdict
        self._writer.cache(self._namespace, key, verdict)


def target_cache_key(
    target_id: str, messages: list[Message], tools: Sequence[dict[str, Any]] = ()
) -> str:
    """The target cache key: the service and the exact messages (and tools) sent."""
    sent: list[Any] = [target_id, messages]
    if tools:
        sent.append(list(tools))
    payload = orjson.dumps(sent, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(payload).hexdigest()
