"""An evaluation: load cases, run them against the target, fold trials, gate — `evallock run`.

This is the library behind the command; the CLI only turns flags into an
:class:`EvalRequest` and an :class:`EvalOutcome` into reports and an exit code.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from typing import Any

import anyio

from evallock.cases import CaseFile, open_cases
from evallock.errors import ConfigError, InfraError, TargetError, UsageError
from evallock.gate import GateCounter, GateResult, GateThresholds
from evallock.providers import (
    CallableProvider,
    OpenAICompatProvider,
    PromptTemplate,
    Provider,
)
from evallock.records import CaseResult, EvalRecord, Run
from evallock.runner import (
    Progress,
    RetryingJudge,
    RetryPolicy,
    RunOptions,
    RunStats,
    execute_run,
    stream_results,
)

__all__ = [
    "NOTABLE_PER_KIND",
    "EvalOutcome",
    "EvalRequest",
    "JudgeSpecSettings",
    "TargetSpec",
    "make_judge",
    "make_provider",
    "new_run_id",
    "run_eval",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class TargetSpec:
    """The service under test: an OpenAI-compatible endpoint or a Python callable."""

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

    def public(self) -> dict[str, Any]:
        """What may be stored: everything but the key."""
        data = asdict(self)
        data.pop("api_key")
        return data


@dataclass(frozen=True, kw_only=True, slots=True)
class JudgeSpecSettings:
    """The judge model and the rubric used when a case asks for a judge without one."""

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


@dataclass(frozen=True, kw_only=True, slots=True)
class EvalRequest:
    """Everything one ``evallock run`` needs."""

    cases: str
    """The case file."""
    target: TargetSpec
    """The service under test."""
    judge: JudgeSpecSettings = field(default_factory=JudgeSpecSettings)
    """The judge, when cases ask for one."""
    keys: dict[str, str] = field(default_factory=dict)
    """Run-level shared keys (config + ``--key``)."""
    options: RunOptions = field(default_factory=RunOptions)
    """Concurrency, trials, timeout, retries, cache."""
    thresholds: GateThresholds = field(default_factory=GateThresholds)
    """The gate."""
    baseline: str = "last-pass"
    """``last-pass``, ``none`` or a run id."""
    resume: str | None = None
    """Continue this interrupted run."""


@dataclass(frozen=True, kw_only=True, slots=True)
class EvalOutcome:
    """A finished run: its record, the gate, the results the reports list, and statistics.

    The outcome does not hold every case's result (a run may have a million):
    :meth:`iter_results` reads them again, in file order, from the case file and
    the store. ``notable`` keeps the first results of each kind the reports list.
    """

    run: Run
    """The stored run (status complete)."""
    dataset: CaseFile
    """The case file that ran."""
    gate: GateResult
    """The verdict."""
    stats: RunStats
    """Counts of retries, errors, cache hits and the wall time."""
    notable: tuple[CaseResult, ...]
    """In file order: every failed lock, and the first results that failed, errored,
    failed anew or were flaky (up to :data:`NOTABLE_PER_KIND` of each kind)."""
    not_passing_or_flaky: int
    """How many cases did not pass or were flaky (``notable`` may list fewer)."""
    read_results: Callable[[], Iterator[tuple[CaseResult, list[EvalRecord]]]] = field(repr=False)
    """Reads every case's result and trial records again, in file order."""

    def iter_results(self) -> Iterator[CaseResult]:
        """Every case's result, in file order."""
        for result, _ in self.read_results():
            yield result

    def iter_trials(self) -> Iterator[tuple[CaseResult, list[EvalRecord]]]:
        """Every case's result with its trial records (by trial), in file order."""
        return self.read_results()


NOTABLE_PER_KIND = 100
"""Results of each kind (failed, errored, new failure, flaky) an outcome keeps."""


def new_run_id() -> str:
    """A unique run id that sorts by time: ``20261122T101530Z-3fa9c2``."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def make_provider(target: TargetSpec, *, concurrency: int) -> Provider:
    """The provider a target spec names.

    Raises:
        ConfigError: neither a base URL and model nor a Python callable is given.
    """
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
    )


def make_judge(
    judge: JudgeSpecSettings, *, concurrency: int, policy: RetryPolicy, timeout: float, seed: int
) -> tuple[Provider, RetryingJudge]:
    """The judge's provider (close it after use) and the retrying client graders ask."""
    provider = OpenAICompatProvider(
        base_url=judge.base_url or "",
        model=judge.model or "",
        api_key=judge.api_key,
        params=judge.params,
        max_connections=concurrency,
    )
    client = RetryingJudge(
        provider,
        model=judge.model or "",
        policy=policy,
        timeout=timeout,
        rng=random.Random(seed),
    )
    return provider, client


def run_eval(request: EvalRequest, store: Any, *, progress: Progress | None = None) -> EvalOutcome:
    """Run an evaluation end to end: the one sync entry point (asyncio underneath)."""
    from evallock.graders import load_plugins

    load_plugins()
    return anyio.run(_run_eval_async, request, store, progress)


async def _run_eval_async(
    request: EvalRequest, store: Any, progress: Progress | None
) -> EvalOutcome:
    dataset = open_cases(request.cases)
    baseline_run = _baseline_run(request.baseline, dataset, request.target, store)
    run, resuming = _start_or_resume(request, dataset, store)
    prompt = PromptTemplate.from_file(request.target.prompt) if request.target.prompt else None
    needs_judge = dataset.first_judged is not None
    if needs_judge and not request.judge.configured:
        raise ConfigError(
            f"{dataset.path}: some cases ask for a judge; give --judge-base-url and --judge-model"
            " (or judge: in evallock.yaml)"
        )
    provider = make_provider(request.target, concurrency=request.options.concurrency)
    judge_provider: Provider | None = None
    judge = None
    if needs_judge:
        judge_provider, judge = make_judge(
            request.judge,
            concurrency=request.options.concurrency,
            policy=request.options.retry,
            timeout=request.options.timeout,
            seed=request.options.seed + 1,
        )
    try:
        stats = await execute_run(
            run_id=run.run_id,
            cases=dataset,
            provider=provider,
            store=store,
            prompt=prompt,
            keys=run.keys,
            options=request.options,
            judge=judge,
            default_rubric=request.judge.rubric,
            judge_params=request.judge.params,
            resume=resuming,
            progress=progress,
        )
    except BaseException:
        _finish(store, run, status="interrupted")
        raise
    finally:
        await provider.aclose()
        if judge_provider is not None:
            await judge_provider.aclose()
    try:
        counter, notable, listed = _fold(dataset, store, run, baseline_run)
    except BaseException:
        _finish(store, run, status="interrupted")
        raise
    if counter.n and counter.target_errored == counter.n:
        _finish(store, run, status="interrupted")
        first = notable[0].error if notable else "?"
        raise TargetError(f"every case errored; the target failed: {first}")
    gate = counter.result(
        thresholds=request.thresholds,
        baseline_run_id=baseline_run.run_id if baseline_run else None,
    )
    finished = _finish(store, run, status="complete", gate=gate, stats=stats)
    return EvalOutcome(
        run=finished,
        dataset=dataset,
        gate=gate,
        stats=stats,
        notable=tuple(notable),
        not_passing_or_flaky=listed,
        read_results=partial(_read_results, dataset, store, run.run_id),
    )


def _read_results(
    dataset: CaseFile, store: Any, run_id: str
) -> Iterator[tuple[CaseResult, list[EvalRecord]]]:
    for result, records, _ in stream_results(dataset.heads(), store, run_id):
        yield result, records


def _fold(
    dataset: CaseFile, store: Any, run: Run, baseline_run: Run | None
) -> tuple[GateCounter, list[CaseResult], int]:
    """One pass over the results: the gate's counts and the results the reports list."""
    counter = GateCounter()
    notable: list[CaseResult] = []
    kept = dict.fromkeys(("failed", "errored", "new", "flaky"), 0)
    listed = 0
    baseline_id = baseline_run.run_id if baseline_run is not None else None
    for result, _, before in stream_results(
        dataset.heads(), store, run.run_id, baseline_run_id=baseline_id
    ):
        counter.add(result, passed_before=before)
        if result.passed and not result.flaky:
            continue
        listed += 1
        kinds = [
            kind
            for kind, applies in (
                ("failed", not result.passed),
                ("errored", result.errored),
                ("new", not result.passed and bool(before)),
                ("flaky", result.flaky),
            )
            if applies
        ]
        keep = result.lock and not result.passed
        for kind in kinds:
            if kept[kind] < NOTABLE_PER_KIND:
                kept[kind] += 1
                keep = True
        if keep:
            notable.append(result)
    return counter, notable, listed


def _start_or_resume(request: EvalRequest, dataset: CaseFile, store: Any) -> tuple[Run, bool]:
    if request.resume:
        run = store.get_run(request.resume)
        if run is None:
            raise UsageError(f"--resume {request.resume}: no such run in {store.url}")
        if run.status == "complete":
            raise UsageError(f"--resume {request.resume}: that run is already complete")
        if run.dataset_id != dataset.dataset_id:
            raise UsageError(
                f"--resume {request.resume}: the run was of {run.dataset_id}, but "
                f"{dataset.path} is now {dataset.dataset_id}; start a new run"
            )
        return run, True
    keys = {**request.keys, "dataset_id": dataset.dataset_id}
    judged = dataset.first_judged
    if request.judge.configured and judged is not None and "judge_version" not in keys:
        # The run's judge version is that of its first judged case; each record
        # carries the exact version of the rubric it was graded with.
        from evallock.graders import JudgeGrader, build_graders, judge_version

        grader = next(
            g
            for g in build_graders(
                judged, default_rubric=request.judge.rubric, judge_params=request.judge.params
            )
            if isinstance(g, JudgeGrader)
        )
        keys["judge_version"] = judge_version(
            request.judge.model or "", grader.rubric, grader.params
        )
    target_id = make_target_id(request.target)
    run = Run(
        run_id=new_run_id(),
        dataset_id=dataset.dataset_id,
        dataset_name=dataset.name,
        target_id=target_id,
        started_at=datetime.now(UTC),
        keys=keys,
        settings={
            "cases": request.cases,
            "target": request.target.public(),
            "judge": request.judge.public(),
            "trials": request.options.trials,
            "cache": request.options.cache_target,
            "thresholds": asdict(request.thresholds),
            "baseline": request.baseline,
        },
    )
    store.create_run(run)
    return run, False


def make_target_id(target: TargetSpec) -> str:
    """Which service a spec names (without the prompt): how baselines are matched."""
    if target.python:
        return f"python:{target.python}"
    return f"{(target.base_url or '').rstrip('/')}#{target.model}"


def _baseline_run(spec: str, dataset: CaseFile, target: TargetSpec, store: Any) -> Run | None:
    """The run to compare with, found before anything runs (a bad id is exit 2 at once).

    ``last-pass`` never finds the run being made: it is not complete until the end.
    """
    if spec == "none":
        return None
    if spec == "last-pass":
        found: Run | None = store.last_passing_run(dataset.name, make_target_id(target))
        return found
    found = store.get_run(spec)
    if found is None:
        raise UsageError(f"--baseline {spec}: no such run in {store.url}")
    return found


def _finish(
    store: Any,
    run: Run,
    *,
    status: str,
    gate: GateResult | None = None,
    stats: RunStats | None = None,
) -> Run:
    finished_at = datetime.now(UTC)
    summary: dict[str, Any] = {}
    if gate is not None:
        summary = {
            "n": gate.n,
            "passed": gate.passed,
            "failed": gate.failed,
            "errored": gate.errored,
            "pass_rate": gate.pass_rate,
            "pass_rate_ci": [gate.pass_rate_ci.lo, gate.pass_rate_ci.hi],
            "locks_failed": list(gate.locks_failed),
            "new_failures": list(gate.new_failures),
            "flaky": list(gate.flaky),
            "reasons": list(gate.reasons),
        }
    if stats is not None:
        summary["stats"] = asdict(stats)
    try:
        store.finish_run(
            run.run_id,
            status=status,
            verdict=gate.verdict if gate else None,
            summary=summary,
            baseline_run_id=gate.baseline_run_id if gate else None,
            finished_at=finished_at,
        )
    except InfraError:
        if status == "complete":
            raise
    return replace(
        run,
        status="complete" if status == "complete" else "interrupted",
        finished_at=finished_at,
        verdict=gate.verdict if gate else None,
        summary=summary,
        baseline_run_id=gate.baseline_run_id if gate else None,
    )
