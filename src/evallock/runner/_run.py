"""Running cases: a pool of workers asks the target, grades, and writes records in batches.

Concurrency is a fixed pool of ``concurrency`` worker tasks pulling jobs from one
iterator: no task, thread or process per case, so memory stays flat with the
number of cases. Results are read back from the store in input order
(``_results.py``).
"""

from __future__ import annotations

import math
import random
import time
from collections import OrderedDict
from collections.abc import Callable, Container, Iterable, Iterator, Sequence, Sized
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import anyio

from evallock.errors import ConfigError, EvallockError, TargetError, UsageError
from evallock.graders import (
    GradeContext,
    Grader,
    JudgeClient,
    JudgeGrader,
    build_graders,
    case_weights,
    combine,
    judge_version,
    run_graders,
)
from evallock.keys import merge_keys
from evallock.providers import Price, PromptTemplate, Provider, ProviderError, build_messages
from evallock.records import Case, Completion, EvalRecord, Grade, RunStats, ToolCall
from evallock.runner._clients import StoreCache, target_cache_key
from evallock.runner._conversation import (
    ToolHandlers,
    simulated_reply,
    simulator_messages,
    tool_turn,
)
from evallock.runner._results import blocks
from evallock.runner._retry import RetryPolicy, call_with_retry
from evallock.runner._run_store import RunStore
from evallock.runner._writer import BatchWriter

__all__ = [
    "Arm",
    "Progress",
    "RunOptions",
    "RunStats",
    "execute_arms",
    "execute_run",
    "interleave",
]

Progress = Callable[[int, int], None]
"""Called with (done, total) after each trial."""


MAX_CONCURRENCY = 1024
"""Most requests a run keeps in flight."""
MAX_TRIALS = 100
"""Most times a run asks each case."""
MAX_RETRIES = 20
"""Most further attempts after a failed request."""


@dataclass(frozen=True, kw_only=True, slots=True)
class RunOptions:
    """How a run asks the target: the config's ``run:`` section and the run flags."""

    concurrency: int = 16
    """Requests in flight at once."""
    trials: int = 1
    """Times each case is asked; pass by majority, score by mean."""
    timeout: float = 60.0
    """Seconds per request attempt."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    """Retries for retryable failures (429, 5xx, timeouts, connection errors)."""
    cache_target: bool = False
    """Reuse stored target answers for identical requests (off: test the live service)."""
    seed: int = 0
    """Seeds the retry jitter."""

    def __post_init__(self) -> None:
        """Refuse options no run can use (the config's ``run:`` section and the flags alike).

        Raises:
            ConfigError: concurrency outside 1–1024, trials outside 1–100, retries
                outside 0–20, or a timeout that is not a positive number of seconds.
        """
        if not 1 <= self.concurrency <= MAX_CONCURRENCY:
            raise ConfigError(
                f"concurrency must be within 1–{MAX_CONCURRENCY}, got {self.concurrency}"
            )
        if not 1 <= self.trials <= MAX_TRIALS:
            raise ConfigError(f"trials must be within 1–{MAX_TRIALS}, got {self.trials}")
        if not 0 <= self.retry.retries <= MAX_RETRIES:
            raise ConfigError(f"retries must be within 0–{MAX_RETRIES}, got {self.retry.retries}")
        if not (math.isfinite(self.timeout) and self.timeout > 0):
            raise ConfigError(f"timeout must be a positive number of seconds, got {self.timeout}")


@dataclass(frozen=True, kw_only=True, slots=True)
class Arm:
    """One variant in a run: where its records go, what it asks, with which keys."""

    run_id: str
    """The run its records belong to."""
    provider: Provider
    """The service asked."""
    prompt: PromptTemplate | None = None
    """The prompt template rendered as the system message."""
    keys: dict[str, str] = field(default_factory=dict)
    """Run-level keys merged into each record (the case's own keys win)."""
    price: Price | None = None
    """The target's token price, for answers whose service reports no cost."""


class _Runner:
    def __init__(
        self,
        *,
        options: RunOptions,
        judge: JudgeClient | None,
        writer: BatchWriter,
        store: RunStore,
        default_rubric: str | None,
        judge_params: dict[str, Any] | None,
    ) -> None:
        self.options = options
        self.judge = judge
        self.writer = writer
        self.default_rubric = default_rubric
        self.judge_params = judge_params
        self.rng = random.Random(options.seed)
        self.verdicts = StoreCache(store, writer, "judge")
        self.answers = StoreCache(store, writer, "target") if options.cache_target else None
        self.tool_handlers = ToolHandlers()
        self.stats = RunStats()
        self.fatal: EvallockError | None = None
        self.unreachable = 0
        self.last_unreachable = ""
        # Graders and keys are built once per case and reused by its trials and arms;
        # jobs come case by case, so a small LRU suffices and memory stays flat.
        self._graders: OrderedDict[str, tuple[list[Grader], str | None]] = OrderedDict()
        self._keys: OrderedDict[tuple[str, str], dict[str, str]] = OrderedDict()
        self._cache_size = 4 * options.concurrency + 16

    def _for_case(self, arm: Arm, case: Case) -> tuple[list[Grader], dict[str, str]]:
        found = self._graders.get(case.id)
        if found is None:
            graders = build_graders(
                case, default_rubric=self.default_rubric, judge_params=self.judge_params
            )
            judged = next((g for g in graders if isinstance(g, JudgeGrader)), None)
            version = None
            if judged is not None and self.judge is not None:
                version = judge_version(self.judge.model, judged.rubric, judged.params)
            found = (graders, version)
            self._graders[case.id] = found
            if len(self._graders) > self._cache_size:
                self._graders.popitem(last=False)
        keys = self._keys.get((arm.run_id, case.id))
        if keys is None:
            keys = merge_keys(arm.keys, case.keys)
            if found[1] is not None:
                keys["judge_version"] = found[1]
            self._keys[(arm.run_id, case.id)] = keys
            if len(self._keys) > self._cache_size:
                self._keys.popitem(last=False)
        return found[0], keys

    def _count_retry(self) -> None:
        # Counted as each retry starts: a call that fails after its retries spent them too.
        self.stats.retries += 1

    async def ask(
        self,
        provider: Provider,
        messages: list[dict[str, Any]],
        tools: Sequence[dict[str, Any]] = (),
    ) -> Completion:
        key = target_cache_key(provider.target_id, messages, tools) if self.answers else None
        if self.answers is not None and key is not None:
            hit = self.answers.get(key)
            if hit is not None:
                self.stats.cache_hits += 1
                return Completion(
                    text=hit["text"],
                    latency_ms=0.0,
                    tokens_in=hit.get("tokens_in"),
                    tokens_out=hit.get("tokens_out"),
                    cost=hit.get("cost"),
                    tool_calls=tuple(ToolCall(**c) for c in hit.get("tool_calls") or ()),
                    cached=True,
                )

        async def call() -> Completion:
            return await provider.complete(messages, timeout=self.options.timeout, tools=tools)

        completion, _ = await call_with_retry(
            call, self.options.retry, self.rng, on_retry=self._count_retry
        )
        if self.answers is not None and key is not None:
            self.answers.put(
                key,
                {
                    "text": completion.text,
                    "tokens_in": completion.tokens_in,
                    "tokens_out": completion.tokens_out,
                    "cost": completion.cost,
                    "tool_calls": [asdict(c) for c in completion.tool_calls],
                },
            )
        return completion

    async def converse(
        self, provider: Provider, case: Case, messages: list[dict[str, Any]]
    ) -> Completion:
        """Ask, and go on while the case says how: a tool call is answered with the case's
        mocked result or its tool handler's (``_conversation.py``) and the target asked
        again (at most :data:`MAX_TOOL_STEPS` times a turn); then the next user turn, fixed
        (``turns``) or written by the simulated user (``user``). The completion is the last
        answer, with every tool call, the latencies and tokens summed, the user's turns
        counted and the whole exchange as its transcript.

        Raises:
            ToolHandlerError: the case's tool handler cannot be loaded.
            UsageError: the case has a simulated user and the run no judge model.
        """
        if not case.tools and not case.turns and case.user is None:
            return await self.ask(provider, messages, case.tools)
        answers_tools = bool(case.tool_results) or case.tool_handler is not None
        conversation = list(messages)
        calls: list[ToolCall] = []
        latency, tokens_in, tokens_out = 0.0, 0, 0
        follow_ups = iter(case.turns)
        user_turns = 1
        while True:
            for _ in range(MAX_TOOL_STEPS):
                answer = await self.ask(provider, conversation, case.tools)
                latency += answer.latency_ms
                tokens_in += answer.tokens_in or 0
                tokens_out += answer.tokens_out or 0
                calls.extend(answer.tool_calls)
                if not answer.tool_calls or not answers_tools:
                    said: dict[str, Any] = {"role": "assistant", "content": answer.text}
                    if answer.tool_calls:  # calls the case gives no answers for
                        said["tool_calls"] = [
                            {
                                "type": "function",
                                "function": {"name": c.name, "arguments": c.arguments},
                            }
                            for c in answer.tool_calls
                        ]
                    conversation.append(said)
                    break
                # after MAX_TOOL_STEPS rounds the exchange ends on these results: not asked again
                conversation += await tool_turn(
                    answer, case.tool_results, case.tool_handler, self.tool_handlers
                )
            follow_up = next(follow_ups, None)
            if follow_up is None and case.user is not None and user_turns < case.user.max_turns:
                follow_up = await self._simulated_user(case, conversation)
            if follow_up is None:
                break
            conversation.append({"role": "user", "content": follow_up})
            user_turns += 1
        return replace(
            answer,
            latency_ms=latency,
            tokens_in=tokens_in or answer.tokens_in,
            tokens_out=tokens_out or answer.tokens_out,
            tool_calls=tuple(calls),
            turns=user_turns,
            transcript=tuple(conversation),
        )

    async def _simulated_user(self, case: Case, conversation: list[dict[str, Any]]) -> str | None:
        """The simulated user's next message (the judge model plays it); None: it is done."""
        assert case.user is not None
        if self.judge is None:
            raise UsageError(
                f"case {case.id!r}: a simulated user is played by the judge model; "
                "give one (--judge-model, or judge: in evallock.yaml)"
            )
        reply = await self.judge.ask(simulator_messages(case.user, conversation))
        return simulated_reply(reply)

    async def one(self, arm: Arm, case: Case, trial: int) -> EvalRecord:
        graders, keys = self._for_case(arm, case)
        try:
            messages = build_messages(case, arm.prompt)
        except ValueError as exc:
            return _errored(arm, case, trial, keys, str(exc))
        try:
            completion = await self.converse(arm.provider, case, messages)
        except ProviderError as exc:
            self.stats.target_errors += 1
            if exc.status is None:
                self.unreachable += 1
                self.last_unreachable = str(exc)
            return _errored(arm, case, trial, keys, str(exc))
        except UsageError as exc:  # the case cannot run as written (its tool handler …)
            return _errored(arm, case, trial, keys, str(exc), what="case error")
        self.stats.asked += 1
        if arm.price is not None:
            completion = arm.price.priced(completion)
        ctx = GradeContext(
            case=case,
            output=completion.text,
            completion=completion,
            judge=self.judge,
            cache=self.verdicts,
        )
        grades: list[Grade] = await run_graders(graders, ctx)
        verdict = combine(grades, weights=case_weights(case), threshold=case.threshold)
        if verdict.error_kind == "judge":
            self.stats.judge_errors += 1
        return EvalRecord(
            run_id=arm.run_id,
            case_id=case.id,
            trial=trial,
            passed=verdict.passed,
            score=verdict.score,
            reason=verdict.reason,
            output=completion.text,
            error=verdict.error,
            error_kind=verdict.error_kind,
            judge_score=verdict.judge_score,
            latency_ms=completion.latency_ms,
            tokens_in=completion.tokens_in,
            tokens_out=completion.tokens_out,
            grades=tuple(grades),
            keys=keys,
            tool_calls=completion.tool_calls,
            turns=completion.turns,
        )


MAX_TOOL_STEPS = 8
"""Tool rounds (a call, its result, the next answer) in one user turn at most."""


def _errored(
    arm: Arm,
    case: Case,
    trial: int,
    keys: dict[str, str],
    error: str,
    *,
    what: str = "target error",
) -> EvalRecord:
    return EvalRecord(
        run_id=arm.run_id,
        case_id=case.id,
        trial=trial,
        passed=False,
        score=None,
        reason=f"{what}: {error}",
        error=error,
        error_kind="target",
        keys=keys,
    )


def interleave(
    arms: Sequence[Arm],
    cases: Iterable[Case],
    trials: int,
    skip: set[tuple[str, str, int]],
) -> list[tuple[Arm, Case, int]]:
    """The jobs in the order they are asked: per case and trial, every arm in turn.

    The arms' order alternates from one (case, trial) to the next, so with two arms
    A goes first half the time: a service that drifts during the run, or a cache
    warmed by the first request, affects both variants alike.
    """
    return list(_jobs(arms, cases, trials, lambda block: skip))


_BLOCK = 256
"""Cases read (and, on a resume, looked up in the store) at a time."""


def _jobs(
    arms: Sequence[Arm],
    cases: Iterable[Case],
    trials: int,
    done: Callable[[list[Case]], Container[tuple[str, str, int]]] | None,
) -> Iterator[tuple[Arm, Case, int]]:
    position = 0
    for block in blocks(cases, _BLOCK):
        skip = done(block) if done is not None else ()
        for case in block:
            for trial in range(trials):
                ordered = arms if position % 2 == 0 else list(reversed(arms))
                position += 1
                for arm in ordered:
                    if (arm.run_id, case.id, trial) not in skip:
                        yield arm, case, trial


async def execute_run(
    *,
    run_id: str,
    cases: Iterable[Case],
    provider: Provider,
    store: RunStore,
    prompt: PromptTemplate | None = None,
    keys: dict[str, str] | None = None,
    options: RunOptions | None = None,
    judge: JudgeClient | None = None,
    default_rubric: str | None = None,
    judge_params: dict[str, Any] | None = None,
    resume: bool = False,
    progress: Progress | None = None,
) -> RunStats:
    """Ask the target for every (case, trial), grade, and store the records.

    One arm of :func:`execute_arms`; see there.
    """
    arm = Arm(run_id=run_id, provider=provider, prompt=prompt, keys=keys or {})
    return await execute_arms(
        arms=[arm],
        cases=cases,
        store=store,
        options=options,
        judge=judge,
        default_rubric=default_rubric,
        judge_params=judge_params,
        resume=resume,
        progress=progress,
    )


async def execute_arms(
    *,
    arms: Sequence[Arm],
    cases: Iterable[Case],
    store: RunStore,
    options: RunOptions | None = None,
    judge: JudgeClient | None = None,
    default_rubric: str | None = None,
    judge_params: dict[str, Any] | None = None,
    resume: bool = False,
    progress: Progress | None = None,
) -> RunStats:
    """Ask every arm for every (case, trial), interleaved; grade; store.

    ``cases`` is read once, as the workers need them (a :class:`evallock.cases.CaseFile`
    streams from disk), so memory does not grow with the number of cases. With
    ``resume``, the (case, trial) pairs an arm's run already stored are skipped,
    looked up a block of cases at a time.

    Records are flushed in batches and once more on the way out, also when the
    run is cancelled (Ctrl-C), so ``--resume`` never asks a stored trial again.

    Raises:
        TargetError: no target ever answered and connections kept failing.
        JudgeError: the judge stayed unreachable after retries.
    """
    options = options or RunOptions()
    writer = BatchWriter(store)
    runner = _Runner(
        options=options,
        judge=judge,
        writer=writer,
        store=store,
        default_rubric=default_rubric,
        judge_params=judge_params,
    )
    count = len(cases) if isinstance(cases, Sized) else None
    total = 0 if count is None else count * options.trials * len(arms)
    done_lookup = None
    if resume:
        total -= sum(store.runs.count_records(arm.run_id) for arm in arms)

        def done_lookup(block: list[Case]) -> set[tuple[str, str, int]]:
            ids = [case.id for case in block]
            return {
                (arm.run_id, case_id, trial)
                for arm in arms
                for case_id, trial in store.runs.completed_trials(arm.run_id, ids)
            }

    queue = _jobs(arms, cases, options.trials, done_lookup)
    done = 0
    started = time.perf_counter()
    # Give up early on a target that refuses every connection: waiting out the
    # retries of every case would only delay the same exit 3.
    give_up_after = 3

    async def worker(scope: anyio.CancelScope) -> None:
        nonlocal done
        for arm, case, trial in queue:
            try:
                record = await runner.one(arm, case, trial)
            except EvallockError as exc:
                runner.fatal = exc
                scope.cancel()
                return
            writer.add(record)
            done += 1
            if progress is not None:
                progress(done, max(total, done))
            if runner.stats.asked == 0 and runner.unreachable >= give_up_after:
                runner.fatal = TargetError(f"target unreachable: {runner.last_unreachable}")
                scope.cancel()
                return

    try:
        async with anyio.create_task_group() as group:
            for _ in range(options.concurrency):
                group.start_soon(worker, group.cancel_scope)
    finally:
        writer.flush()
        runner.stats.judge_cache_hits = runner.verdicts.hits
        runner.stats.seconds = time.perf_counter() - started
    if runner.fatal is not None:
        raise runner.fatal
    return runner.stats
