"""A run session: the lifecycle every run of the target shares, written once.

``evallock run`` (one arm) and ``evallock ab`` (two arms, interleaved) do the same
things around their cases: open a provider per target and one for the judge,
create each arm's :class:`~evallock.records.Run`, execute, then finish the runs,
or mark them interrupted when anything stops them, and close every provider
whatever happened. :class:`RunSession` owns that, so a use case says only what
is its own (which runs, how to fold and judge the results)::

    async with RunSession(store, options=options, judge=judge) as session:
        session.add_arm(run, target)                 # create (or resume) + open
        stats = await session.execute(cases)         # the runner, every arm
        session.finish(run, summary=…, verdict=…)    # complete
    # leaving: providers closed; a run not finished is marked interrupted

The target and judge specs and the helpers that turn them into providers live
here too: they are what a session is made of.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Protocol

from evallock.calibration import LabelReader
from evallock.errors import ConfigError, InfraError
from evallock.providers import Price, PromptTemplate, Provider
from evallock.records import Case, EvalRecord, Run, RunStatus, RunSummary
from evallock.runner import (
    Arm,
    Progress,
    RecordReader,
    RetryingJudge,
    RetryPolicy,
    RunCache,
    RunOptions,
    RunRecords,
    RunStats,
    execute_arms,
)

__all__ = [
    "JudgeSpec",
    "RunSession",
    "SessionRuns",
    "SessionStore",
    "TargetSpec",
    "legacy_target_id",
    "make_judge",
    "make_provider",
    "make_target_id",
    "new_run_id",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class TargetSpec:
    """The service under test: an OpenAI-compatible endpoint or a Python callable.

    The config's ``target:`` section validates into this type, and the target
    flags replace its fields (:func:`evallock.config.overlay`).
    """

    base_url: str | None = None
    """``http://host/v1`` of an OpenAI-compatible service."""
    model: str | None = None
    """The ``model`` field sent."""
    api_key: str | None = field(default=None, repr=False)
    """Bearer token (read from the env var the config names; never stored)."""
    api_key_env: str | None = None
    """The env var the key came from (stored, so a resume can read it again)."""
    prompt: str | None = None
    """Prompt template file, rendered as the system message."""
    python: str | None = None
    """``module:function`` instead of an HTTP service."""
    params: dict[str, Any] = field(default_factory=dict)
    """Extra request fields (``temperature`` …)."""
    keys: dict[str, str] = field(default_factory=dict)
    """Shared keys that describe this target (``prompt_version`` …); every run of it
    carries them, and a case's own keys win."""
    name: str | None = None
    """The service's name for baselines (default: its base URL, or the callable). A
    model or prompt swap on the same service is still compared with its last pass."""
    api: Literal["chat", "responses"] = "chat"
    """Which OpenAI API asks it: chat completions, or the Responses API (``input``)."""
    price: Price | None = None
    """USD per 1M tokens in and out, for the ``cost`` check when the service reports no
    cost of its own."""

    def __post_init__(self) -> None:
        # a flag (``run --api``) is checked as the file's value is
        if self.api not in ("chat", "responses"):
            raise ConfigError(f"target.api {self.api!r}: expected chat or responses")

    def public(self) -> dict[str, Any]:
        """What may be stored: everything but the key."""
        data = asdict(self)
        data.pop("api_key")
        return data


@dataclass(frozen=True, kw_only=True, slots=True)
class JudgeSpec:
    """The judge model and the rubric used when a case asks for a judge without one.

    The config's ``judge:`` section validates into this type, and ``--judge-*``
    flags replace its fields: there is no other judge settings type.
    """

    base_url: str | None = None
    """The judge's OpenAI-compatible endpoint."""
    model: str | None = None
    """The judge model."""
    api_key: str | None = field(default=None, repr=False)
    """Bearer token, from the environment."""
    api_key_env: str | None = None
    """The env var the key came from."""
    rubric: str | None = None
    """Default rubric (``--rubric``)."""
    params: dict[str, Any] = field(default_factory=lambda: {"temperature": 0})
    """Judge request fields; part of ``judge_version``."""

    @property
    def configured(self) -> bool:
        """True when there is a judge to ask."""
        return bool(self.base_url and self.model)

    def public(self) -> dict[str, Any]:
        """What may be stored: everything but the key."""
        data = asdict(self)
        data.pop("api_key")
        return data


class SessionRuns(RunRecords, RecordReader, Protocol):
    """The runs a session creates, finishes and looks up (``Store.runs`` is one)."""

    def create(self, run: Run) -> None:
        """Store a new run (status running)."""
        ...

    def finish(
        self,
        run_id: str,
        *,
        status: str,
        verdict: str | None,
        summary: RunSummary | None,
        baseline_run_id: str | None,
        finished_at: datetime,
    ) -> None:
        """Record how a run ended."""
        ...

    def get(self, run_id: str) -> Run | None:
        """The run with this id, or None."""
        ...

    def iter_records(self, run_id: str) -> Iterator[EvalRecord]:
        """Every record of a run, in the order written."""
        ...

    def last_passing(
        self,
        dataset_name: str,
        target_id: str,
        *,
        exclude_run_id: str | None = ...,
        keys: Mapping[str, str] | None = ...,
    ) -> Run | None:
        """The newest complete gate run of this dataset and target whose verdict was
        ``pass`` (and whose keys include ``keys``)."""
        ...


class SessionStore(Protocol):
    """What a session and its use cases need of the store (``Store`` is one)."""

    @property
    def url(self) -> str:
        """Where the store is, for messages (password masked)."""
        ...

    @property
    def runs(self) -> SessionRuns:
        """Runs and their records."""
        ...

    @property
    def cache(self) -> RunCache:
        """Judge verdicts and target answers."""
        ...

    @property
    def labels(self) -> LabelReader:
        """People's labels of judged answers (the judge's calibration)."""
        ...


def new_run_id() -> str:
    """A unique run id that sorts by time: ``20261122T101530Z-3fa9c2``."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def make_target_id(target: TargetSpec) -> str:
    """Which service a spec names: how ``last-pass`` finds a baseline.

    The service, not its model or prompt: swapping ``--model bot-v3`` for ``bot-v4``
    on the same endpoint is the regression a gate must catch, so it compares with
    the last passing run of that endpoint. ``target.name`` overrides (two services
    behind one URL, or one service moving URL).
    """
    if target.name:
        return f"name:{target.name}"
    if target.python:
        return f"python:{target.python}"
    return (target.base_url or "").rstrip("/")


def legacy_target_id(target: TargetSpec) -> str | None:
    """The id runs stored before 2026-12 carried (base URL ``#`` model), or None."""
    if target.name or target.python:
        return None
    return f"{(target.base_url or '').rstrip('/')}#{target.model}"


def make_provider(target: TargetSpec, *, concurrency: int) -> Provider:
    """The provider a target spec names.

    Raises:
        ConfigError: neither a base URL and model nor a Python callable is given.
    """
    # Imported here: a --python target never loads aiohttp (~90 ms of start-up).
    from evallock.providers import CallableProvider, OpenAICompatProvider

    if target.python:
        return CallableProvider(target.python)
    if not target.base_url or not target.model:
        raise ConfigError(
            "no target: give --base-url and --model (or target.base_url/model in evallock.yaml),"
            " or target.python: module:function"
        )
    return OpenAICompatProvider(
        base_url=target.base_url,
        model=target.model,
        api_key=target.api_key,
        params=target.params,
        max_connections=concurrency,
        api=target.api,
    )


def make_judge(
    judge: JudgeSpec,
    *,
    concurrency: int,
    policy: RetryPolicy,
    timeout: float,
    seed: int,
    wrap: Callable[[Provider], Provider] | None = None,
) -> tuple[Provider, RetryingJudge]:
    """The judge's provider (close it after use) and the retrying client graders ask;
    ``wrap`` puts a layer between them (a meter of what the judge costs)."""
    from evallock.providers import OpenAICompatProvider

    provider = OpenAICompatProvider(
        base_url=judge.base_url or "",
        model=judge.model or "",
        api_key=judge.api_key,
        params=judge.params,
        max_connections=concurrency,
    )
    client = RetryingJudge(
        provider if wrap is None else wrap(provider),
        model=judge.model or "",
        policy=policy,
        timeout=timeout,
        rng=random.Random(seed),
    )
    return provider, client


class RunSession:
    """The providers and runs of one evaluation: create → execute → finish → close.

    Args:
        store: where runs and records go.
        options: concurrency, trials, timeout, retries, cache (one set for every arm).
        judge: the judge to open for cases that ask for one; None when none does.
        judge_seed: seeds the judge client's retry jitter.
    """

    def __init__(
        self,
        store: SessionStore,
        *,
        options: RunOptions,
        judge: JudgeSpec | None = None,
        judge_seed: int = 1,
    ) -> None:
        """Open the judge's provider now (targets open as arms are added)."""
        self.store = store
        self.options = options
        self.judge_settings = judge
        self._arms: list[Arm] = []
        self._providers: list[Provider] = []
        self._runs: dict[str, Run] = {}
        self.closed = False
        """True once every provider of the session was closed."""
        self.judge: RetryingJudge | None = None
        if judge is not None:
            provider, self.judge = make_judge(
                judge,
                concurrency=options.concurrency,
                policy=options.retry,
                timeout=options.timeout,
                seed=judge_seed,
            )
            self._providers.append(provider)

    def add_arm(self, run: Run, target: TargetSpec, *, resumed: bool = False) -> Arm:
        """Create ``run`` in the store (unless ``resumed``) and open its target.

        Raises:
            ConfigError: the target names no service.
            UsageError: the prompt template does not load.
        """
        prompt = PromptTemplate.from_file(target.prompt) if target.prompt else None
        provider = make_provider(target, concurrency=self.options.concurrency)
        self._providers.append(provider)
        if not resumed:
            self.store.runs.create(run)
        self._runs[run.run_id] = run
        arm = Arm(
            run_id=run.run_id, provider=provider, prompt=prompt, keys=run.keys, price=target.price
        )
        self._arms.append(arm)
        return arm

    async def execute(
        self, cases: Iterable[Case], *, resume: bool = False, progress: Progress | None = None
    ) -> RunStats:
        """Ask every arm for every (case, trial), interleaved; grade; store (the runner)."""
        judge = self.judge_settings
        return await execute_arms(
            arms=self._arms,
            cases=cases,
            store=self.store,
            options=self.options,
            judge=self.judge,
            default_rubric=judge.rubric if judge is not None else None,
            judge_params=judge.params if judge is not None else None,
            resume=resume,
            progress=progress,
        )

    def finish(
        self,
        run: Run,
        *,
        status: RunStatus = "complete",
        verdict: Literal["pass", "fail"] | None = None,
        summary: RunSummary | None = None,
        baseline_run_id: str | None = None,
    ) -> Run:
        """Record how ``run`` ended and return it as stored.

        A failure to mark a run *interrupted* is swallowed (the error that stopped
        the run is the one to report); a failure to complete one is raised.
        """
        finished_at = datetime.now(UTC)
        try:
            self.store.runs.finish(
                run.run_id,
                status=status,
                verdict=verdict,
                summary=summary,
                baseline_run_id=baseline_run_id,
                finished_at=finished_at,
            )
        except InfraError:
            if status == "complete":
                raise
        self._runs.pop(run.run_id, None)
        return replace(
            run,
            status=status,
            finished_at=finished_at,
            verdict=verdict,
            summary=summary,
            baseline_run_id=baseline_run_id,
        )

    async def __aenter__(self) -> RunSession:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Mark every run not finished as interrupted, then close every provider."""
        try:
            for run in list(self._runs.values()):
                self.finish(run, status="interrupted")
        finally:
            for provider in self._providers:
                await provider.aclose()
            self.closed = True


if TYPE_CHECKING:
    from evallock.store import Store

    def _store_conforms(store: Store) -> SessionStore:
        return store
