"""The evaluator worker of ``evallock serve``, and the backfill of ``evallock evaluate``.

The worker runs on its own thread with its own event loop, so judging never holds up
ingest. Each round it takes up to ``batch`` trace ids that have been in the inbox for
``settle_s`` (time for a trace's last spans to arrive), evaluates them with every rule
and stores the verdicts, the spend and the inbox removal in one transaction. A crash
before that commit leaves the ids in the inbox: the next round evaluates them again,
and the judge's verdicts come from the verdict cache (written as each arrives), so no
judge call is paid twice. The judge unreachable stores nothing and backs off.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import anyio

from evallock.drift import session_histories
from evallock.errors import ConfigError, EvallockError
from evallock.online._evaluate import Meter, evaluate_traces
from evallock.online._monitor import StreamAlert, StreamMonitor
from evallock.online._rules import EvaluatorRule, rule_from_json
from evallock.providers import Provider
from evallock.records import Completion, Message, OnlineScore, Trace
from evallock.runner import RetryingJudge, RetryPolicy
from evallock.session import JudgeSpec, make_judge

__all__ = [
    "BackfillCounts",
    "OnlineStore",
    "OnlineWorker",
    "WorkerStats",
    "backfill",
    "check_rules",
    "histories_of",
]

log = logging.getLogger("evallock.online")


class _Online(Protocol):
    def settled(self, *, before: datetime, limit: int) -> list[str]: ...

    def finish(
        self,
        trace_ids: Sequence[str],
        scores: Sequence[OnlineScore],
        spend: Sequence[tuple[str, str, int, int, float]] = (),
        monitors: Mapping[str, dict[str, Any]] | None = None,
        alerts: Sequence[tuple[str, datetime, dict[str, Any]]] = (),
    ) -> None: ...

    def monitor(self, evaluator: str) -> dict[str, Any] | None: ...

    def spent(self, evaluator: str, day: str) -> tuple[int, int, float]: ...

    def per_slice(self, evaluator: str, key: str, *, since: datetime) -> dict[str, int]: ...

    def rules(self) -> list[tuple[str, dict[str, Any]]]: ...

    def unscored(
        self,
        evaluator: str,
        *,
        since: datetime,
        until: datetime,
        after: tuple[datetime, str] | None = None,
        limit: int = 500,
    ) -> list[Trace]: ...


class _Traces(Protocol):
    def get_many(self, trace_ids: Sequence[str]) -> list[Trace]: ...

    def session(self, session_id: str) -> list[Trace]: ...


class _Cache(Protocol):
    def get(self, namespace: str, key: str) -> dict[str, Any] | None: ...

    def put(self, namespace: str, items: Sequence[tuple[str, dict[str, Any]]]) -> None: ...


class OnlineStore(Protocol):
    """What online evaluation needs of the store (``Store`` is one)."""

    @property
    def online(self) -> _Online: ...

    @property
    def traces(self) -> _Traces: ...

    @property
    def cache(self) -> _Cache: ...


def histories_of(
    store: OnlineStore, rules: Sequence[EvaluatorRule], traces: Sequence[Trace]
) -> dict[str, list[Trace]]:
    """For rules of ``scope: conversation``: each trace's session up to it (trace id → its
    session's traces, oldest first), read once per session; empty when no rule wants it."""
    wanting = [rule for rule in rules if rule.scope == "conversation"]
    if not wanting:
        return {}
    wanted = (t for t in traces if any(rule.matches(t) for rule in wanting))
    return session_histories(store.traces.session, wanted)


class _Verdicts:
    """The judge's verdict cache, written through as each verdict arrives."""

    def __init__(self, store: OnlineStore) -> None:
        self._cache = store.cache

    def get(self, key: str) -> dict[str, Any] | None:
        return self._cache.get("judge", key)

    def put(self, key: str, verdict: dict[str, Any]) -> None:
        self._cache.put("judge", [(key, verdict)])


class _Metered:
    """A provider whose answers add to a :class:`Meter` (calls, tokens, cost)."""

    def __init__(self, provider: Provider, meter: Meter) -> None:
        self._provider = provider
        self._meter = meter

    @property
    def target_id(self) -> str:
        return self._provider.target_id

    async def complete(
        self, messages: list[Message], *, timeout: float, tools: Sequence[dict[str, Any]] = ()
    ) -> Completion:
        completion = await self._provider.complete(messages, timeout=timeout, tools=tools)
        self._meter.calls += 1
        self._meter.tokens += (completion.tokens_in or 0) + (completion.tokens_out or 0)
        self._meter.cost += completion.cost or 0.0
        return completion

    async def aclose(self) -> None:
        await self._provider.aclose()


@dataclass(slots=True)
class WorkerStats:
    """What the worker has done since it started (for ``/metrics`` and the status API)."""

    rounds: int = 0
    evaluated: int = 0
    """Trace ids taken out of the inbox."""
    scores: dict[str, int] = field(default_factory=lambda: {"scored": 0, "error": 0, "skipped": 0})
    failures: int = 0
    """Rounds that stored nothing (the judge or the store unreachable)."""
    alerts: int = 0
    """Drift alarms raised (each stored, logged and posted)."""
    webhook_failures: int = 0
    last_error: str | None = None


def _judge_client(
    judge: JudgeSpec, meter: Meter, *, concurrency: int, policy: RetryPolicy, timeout: float
) -> tuple[Provider, RetryingJudge]:
    return make_judge(
        judge,
        concurrency=concurrency,
        policy=policy,
        timeout=timeout,
        seed=0,
        wrap=lambda provider: _Metered(provider, meter),
    )


def check_rules(rules: Sequence[EvaluatorRule], judge: JudgeSpec) -> None:
    """Refuse rules that cannot run: a repeated name, a judge needed and not configured.

    Raises:
        ConfigError: naming the evaluator.
    """
    seen: set[str] = set()
    for rule in rules:
        if rule.name in seen:
            raise ConfigError(f"evaluators: {rule.name!r} is named twice")
        seen.add(rule.name)
        if rule.judged and not judge.configured:
            raise ConfigError(
                f"evaluator {rule.name} asks the judge: set judge.base_url and judge.model"
            )


class OnlineWorker:
    """Evaluates settled traces from the inbox with every rule, round after round."""

    def __init__(
        self,
        store: OnlineStore,
        rules: Sequence[EvaluatorRule],
        judge: JudgeSpec,
        *,
        settle_s: float = 5.0,
        batch: int = 512,
        concurrency: int = 16,
        poll_s: float = 0.5,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        clock: Callable[[], datetime] | None = None,
        stored_rules: bool = False,
    ) -> None:
        """Check the rules (a ``ConfigError`` names what cannot run). With ``stored_rules``,
        the evaluators added through the API run too, read again each round."""
        check_rules(rules, judge)
        self.stored_rules = stored_rules
        self.store = store
        self.rules = list(rules)
        self.judge = judge
        self.settle = timedelta(seconds=settle_s)
        self.batch = batch
        self.concurrency = concurrency
        self.poll_s = poll_s
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.clock = clock or (lambda: datetime.now(UTC))
        self.stats = WorkerStats()
        self._wanting: list[EvaluatorRule] = list(rules)
        """The rules of the last round: what :meth:`wants` answers from (ingest asks)."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def wants(self, trace_id: str) -> bool:
        """Whether some evaluator may take this trace (its sample, or a minimum per slice):
        ingest puts only those in the inbox, so traces no evaluator wants cost nothing."""
        return any(rule.min_per_slice or rule.samples(trace_id) for rule in self._wanting)

    def refresh(self) -> list[EvaluatorRule]:
        """Read the rules again (an evaluator was added or removed through the API)."""
        self._wanting = self.current_rules()
        return self._wanting

    def current_rules(self) -> list[EvaluatorRule]:
        """The file's rules, then those added through the API (when asked): one that no
        longer parses, repeats a name or needs a judge that is not there is left out."""
        rules = list(self.rules)
        if not self.stored_rules:
            return rules
        names = {rule.name for rule in rules}
        for name, data in self.store.online.rules():
            try:
                rule = rule_from_json(data)
                check_rules([rule], self.judge)
            except ConfigError as exc:
                log.warning("evaluator %s left out: %s", name, exc)
                continue
            if rule.name not in names:
                names.add(rule.name)
                rules.append(rule)
        return rules

    async def run_once(
        self, client: RetryingJudge | None = None, meter: Meter | None = None
    ) -> int:
        """One round: evaluate up to ``batch`` settled traces; how many ids were taken.

        Raises:
            EvallockError: the judge unreachable or the store failing (nothing stored).
        """
        meter = meter or Meter()
        rules = self.refresh()
        ids = self.store.online.settled(before=self.clock() - self.settle, limit=self.batch)
        if not ids:
            return 0
        # Sampling needs only the id: traces no rule samples are never read (unless a rule
        # keeps a minimum per slice, which needs every matching trace's keys).
        topping = any(rule.min_per_slice for rule in rules)
        wanted = [t for t in ids if topping or any(rule.samples(t) for rule in rules)]
        traces = self.store.traces.get_many(wanted) if wanted else []
        extra = {
            rule.name: rule.topped_up(
                traces,
                self.store.online.per_slice(
                    rule.name, rule.slice_by, since=rule.window_start(self.clock())
                ),
            )
            for rule in rules
            if rule.min_per_slice and rule.slice_by
        }
        opened: Provider | None = None
        if client is None and any(r.judged for r in rules):
            opened, client = self._client(meter)
        judges, extra_providers = self._judges(rules, meter)
        try:
            scores = await evaluate_traces(
                traces,
                rules,
                judge=client,
                meter=meter,
                cache=_Verdicts(self.store),
                spent=self.store.online.spent,
                now=self.clock,
                judge_params=dict(self.judge.params),
                concurrency=self.concurrency,
                extra=extra,
                judges=judges,
                histories=histories_of(self.store, rules, traces),
            )
        finally:
            if opened is not None:
                await opened.aclose()
            for provider in extra_providers:
                await provider.aclose()
        day = self.clock().date().isoformat()
        spend = [(name, day, *used) for name, used in meter.by_rule.items()]
        monitors, alerts = self._watch(rules, scores)
        self.store.online.finish(
            ids,
            scores,
            spend,
            monitors=monitors,
            alerts=[(a.evaluator, a.at, a.as_json()) for a in alerts],
        )
        self.stats.rounds += 1
        self.stats.evaluated += len(ids)
        for score in scores:
            self.stats.scores[score.status] += 1
        for alert in alerts:
            self._raise(rules, alert)
        return len(ids)

    def _watch(
        self, rules: list[EvaluatorRule], scores: list[OnlineScore]
    ) -> tuple[dict[str, dict[str, Any]], list[StreamAlert]]:
        """Feed each watched rule's new scores to its drift chart (read from the store each
        round, so a round that fails to commit feeds nothing)."""
        states: dict[str, dict[str, Any]] = {}
        alerts: list[StreamAlert] = []
        for rule in rules:
            if rule.drift is None:
                continue
            mine = [s for s in scores if s.evaluator == rule.name]
            if not mine:
                continue
            monitor = StreamMonitor(rule.name, rule.drift, self.store.online.monitor(rule.name))
            alerts.extend(monitor.feed(mine, self.clock()))
            states[rule.name] = monitor.state()
        return states, alerts

    def _raise(self, rules: list[EvaluatorRule], alert: StreamAlert) -> None:
        """An alarm, after it is stored: logged, counted, posted to the rule's webhook."""
        self.stats.alerts += 1
        log.warning("%s", alert.text())
        rule = next(r for r in rules if r.name == alert.evaluator)
        if rule.drift is None or rule.drift.webhook is None:
            return
        import httpx

        try:
            answer = httpx.post(rule.drift.webhook, json={"text": alert.text()}, timeout=10)
            answer.raise_for_status()
        except httpx.HTTPError as exc:
            self.stats.webhook_failures += 1
            log.warning("drift webhook %s failed: %s", rule.drift.webhook, exc)

    def _judges(
        self, rules: list[EvaluatorRule], meter: Meter
    ) -> tuple[dict[str, RetryingJudge], list[Provider]]:
        """A client for each judge model the rules name (the configured endpoint and key)."""
        from dataclasses import replace

        judges: dict[str, RetryingJudge] = {}
        providers: list[Provider] = []
        for model in sorted({r.model for r in rules if r.judged and r.model}):
            provider, client = _judge_client(
                replace(self.judge, model=model),
                meter,
                concurrency=self.concurrency,
                policy=self.retry,
                timeout=self.timeout,
            )
            judges[model] = client
            providers.append(provider)
        return judges, providers

    def _client(self, meter: Meter) -> tuple[Provider, RetryingJudge]:
        return _judge_client(
            self.judge,
            meter,
            concurrency=self.concurrency,
            policy=self.retry,
            timeout=self.timeout,
        )

    async def run_until_stopped(self) -> None:
        """Rounds until :meth:`stop`; an idle round waits ``poll_s``, a failed one backs off."""
        meter = Meter()
        provider, client = self._client(meter) if self.judge.configured else (None, None)
        backoff = 1.0
        try:
            while not self._stop.is_set():
                meter.by_rule.clear()
                try:
                    taken = await self.run_once(client, meter)
                except (EvallockError, OSError) as exc:
                    self.stats.failures += 1
                    self.stats.last_error = str(exc)
                    log.warning("online evaluation round failed (retried): %s", exc)
                    await anyio.sleep(backoff)
                    backoff = min(backoff * 2, 60.0)
                    continue
                backoff = 1.0
                if taken < self.batch:  # idle: wait, but wake at once to stop
                    await anyio.to_thread.run_sync(self._stop.wait, self.poll_s)
        finally:
            if provider is not None:
                await provider.aclose()

    def start(self) -> None:
        """Run on a thread of its own (its own event loop) until :meth:`stop`."""
        self.refresh()
        self._stop.clear()
        self._thread = threading.Thread(
            target=anyio.run, args=(self.run_until_stopped,), name="evallock-online", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the thread to finish its round and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None


@dataclass(slots=True)
class BackfillCounts:
    """What a backfill did for one evaluator."""

    looked_at: int = 0
    scores: dict[str, int] = field(default_factory=lambda: {"scored": 0, "error": 0, "skipped": 0})
    seconds: float = 0.0


async def backfill(
    store: OnlineStore,
    rules: Sequence[EvaluatorRule],
    judge: JudgeSpec,
    *,
    since: datetime,
    until: datetime,
    concurrency: int = 16,
    page: int = 200,
    retry: RetryPolicy | None = None,
    timeout: float = 60.0,
) -> dict[str, BackfillCounts]:
    """Evaluate the stored traces of ``[since, until)`` that each rule has no verdict on,
    with the worker's code, budget and verdict cache.

    Raises:
        ConfigError: a rule that cannot run.
        EvallockError: the judge unreachable (what was stored so far stays).
    """
    check_rules(rules, judge)
    found: dict[str, BackfillCounts] = {}
    meter = Meter()
    provider: Provider | None = None
    client: RetryingJudge | None = None
    if any(r.judged for r in rules):
        provider, client = _judge_client(
            judge, meter, concurrency=concurrency, policy=retry or RetryPolicy(), timeout=timeout
        )
    judges: dict[str, RetryingJudge] = {}
    extra_providers: list[Provider] = []
    for model in sorted({r.model for r in rules if r.judged and r.model}):
        from dataclasses import replace

        more, judges[model] = _judge_client(
            replace(judge, model=model),
            meter,
            concurrency=concurrency,
            policy=retry or RetryPolicy(),
            timeout=timeout,
        )
        extra_providers.append(more)
    try:
        for rule in rules:
            counts = found.setdefault(rule.name, BackfillCounts())
            started = time.perf_counter()
            after: tuple[datetime, str] | None = None
            while True:
                traces = store.online.unscored(
                    rule.name, since=since, until=until, after=after, limit=page
                )
                if not traces:
                    break
                after = (traces[-1].timestamp, traces[-1].trace_id)
                counts.looked_at += len(traces)
                meter.by_rule.clear()
                scores = await evaluate_traces(
                    traces,
                    [rule],
                    judges=judges,
                    judge=client,
                    meter=meter,
                    cache=_Verdicts(store),
                    spent=store.online.spent,
                    now=lambda: datetime.now(UTC),
                    judge_params=dict(judge.params),
                    concurrency=concurrency,
                    histories=histories_of(store, [rule], traces),
                )
                day = datetime.now(UTC).date().isoformat()
                spend = [(name, day, *used) for name, used in meter.by_rule.items()]
                store.online.finish([], scores, spend)
                for score in scores:
                    counts.scores[score.status] += 1
            counts.seconds = time.perf_counter() - started
    finally:
        if provider is not None:
            await provider.aclose()
        for more in extra_providers:
            await more.aclose()
    return found
