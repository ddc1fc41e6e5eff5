"""An evaluation: load cases, run them against the target, fold trials, gate — `evallock run`.

This is the library behind the command; the CLI only turns flags into an
:class:`EvalRequest` and an :class:`EvalOutcome` into reports and an exit code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from typing import Literal

import anyio

from evallock.calibration import (
    Calibration,
    CalibrationFloor,
    judge_versions_of,
    pooled_calibration,
    require_calibrated,
)
from evallock.cases import CaseFile, open_cases
from evallock.errors import ConfigError, TargetError, UsageError
from evallock.gate import GateCounter, GateResult, GateThresholds
from evallock.records import CaseResult, EvalRecord, Run, RunSummary
from evallock.runner import Progress, RunOptions, RunStats, stream_results
from evallock.session import (
    JudgeSpec,
    RunSession,
    SessionStore,
    TargetSpec,
    legacy_target_id,
    make_judge,
    make_provider,
    make_target_id,
    new_run_id,
)

__all__ = [
    "NOTABLE_PER_KIND",
    "EvalOutcome",
    "EvalRequest",
    "JudgeSpec",
    "TargetSpec",
    "make_judge",
    "make_provider",
    "make_target_id",
    "new_run_id",
    "run_eval",
]
# The target and judge specs and their helpers live in evallock.session (what a run
# session is made of); they are re-exported here, where ``evallock run`` users find them.


@dataclass(frozen=True, kw_only=True, slots=True)
class EvalRequest:
    """Everything one ``evallock run`` needs."""

    cases: str
    """The case file."""
    target: TargetSpec
    """The service under test."""
    judge: JudgeSpec = field(default_factory=JudgeSpec)
    """The judge, when cases ask for one."""
    options: RunOptions = field(default_factory=RunOptions)
    """Concurrency, trials, timeout, retries, cache."""
    thresholds: GateThresholds = field(default_factory=GateThresholds)
    """The gate."""
    baseline: str = "last-pass"
    """``last-pass``, ``none`` or a run id."""
    resume: str | None = None
    """Continue this interrupted run."""
    kind: Literal["gate", "experiment"] = "gate"
    """``gate`` (a deploy's run) or ``experiment`` (ad hoc: kept out of the timeline
    and never a baseline)."""
    calibration: CalibrationFloor | None = None
    """When the judge counts as calibrated; None: its agreement with people is not shown."""
    require_calibrated: bool = False
    """Refuse to run (exit 2) when the judge is not calibrated (``--require-calibrated``)."""


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
    calibration: Calibration | None = None
    """The judge's agreement with people, for a judge-graded run."""

    def iter_results(self) -> Iterator[CaseResult]:
        """Every case's result, in file order."""
        for result, _ in self.read_results():
            yield result

    def iter_trials(self) -> Iterator[tuple[CaseResult, list[EvalRecord]]]:
        """Every case's result with its trial records (by trial), in file order."""
        return self.read_results()


NOTABLE_PER_KIND = 100
"""Results of each kind (failed, errored, new failure, flaky) an outcome keeps."""


def run_eval(
    request: EvalRequest, store: SessionStore, *, progress: Progress | None = None
) -> EvalOutcome:
    """Run an evaluation end to end: the one sync entry point (asyncio underneath)."""
    from evallock.graders import load_plugins

    load_plugins()
    return anyio.run(_run_eval_async, request, store, progress)


async def _run_eval_async(
    request: EvalRequest, store: SessionStore, progress: Progress | None
) -> EvalOutcome:
    dataset = open_cases(request.cases)
    baseline_run = _baseline_run(request.baseline, dataset, request.target, store)
    run, resuming = _start_or_resume(request, dataset, store)
    needs_judge = dataset.first_judged is not None
    if (needs_judge or dataset.simulated_user is not None) and not request.judge.configured:
        what = (
            "ask for a judge" if needs_judge else "have a simulated user (the judge model plays it)"
        )
        raise ConfigError(
            f"{dataset.path}: some cases {what}; give --judge-base-url and --judge-model"
            " (or judge: in evallock.yaml)"
        )
    calibration = _calibration(request, store, dataset) if needs_judge else None
    async with RunSession(
        store,
        options=request.options,
        judge=request.judge if needs_judge or dataset.simulated_user is not None else None,
        judge_seed=request.options.seed + 1,
    ) as session:
        session.add_arm(run, request.target, resumed=resuming)
        stats = await session.execute(dataset, resume=resuming, progress=progress)
        counter, notable, listed = _fold(dataset, store, run, baseline_run)
        if counter.n and counter.target_errored == counter.n:
            first = notable[0].error if notable else "?"
            raise TargetError(f"every case errored; the target failed: {first}")
        gate = counter.result(
            thresholds=request.thresholds,
            baseline_run_id=baseline_run.run_id if baseline_run else None,
            baseline_note=_what_changed(baseline_run, run, request.target)
            if baseline_run
            else None,
        )
        if calibration is not None:
            gate = replace(gate, warnings=(*gate.warnings, calibration.line()))
        finished = session.finish(
            run,
            verdict=gate.verdict,
            summary=_summary(gate, stats),
            baseline_run_id=gate.baseline_run_id,
        )
    return EvalOutcome(
        run=finished,
        dataset=dataset,
        gate=gate,
        stats=stats,
        notable=tuple(notable),
        not_passing_or_flaky=listed,
        read_results=partial(_read_results, dataset, store, run.run_id),
        calibration=calibration,
    )


def _calibration(
    request: EvalRequest, store: SessionStore, dataset: CaseFile
) -> Calibration | None:
    """The run's judge against people's labels, before anything runs: the labels of every
    judge version its judged cases use (a rubric per case is a version per rubric).

    Raises:
        UsageError: ``require_calibrated`` and the judge is not calibrated.
    """
    if request.calibration is None:
        if request.require_calibrated:
            raise UsageError("--require-calibrated: no calibration floor is configured")
        return None
    versions = judge_versions_of(
        dataset.judge_rubrics,
        model=request.judge.model or "",
        params=dict(request.judge.params),
        default_rubric=request.judge.rubric,
    )
    found = pooled_calibration(store.labels, versions, request.calibration)
    if request.require_calibrated:
        require_calibrated(found)
    return found


def _what_changed(baseline: Run, run: Run, target: TargetSpec) -> str:
    """One line: which run the gate compared with, and what differs (model, prompt, keys)."""
    before = baseline.settings.get("target") or {}
    changes = []
    for field_name in ("model", "prompt"):
        old, new = before.get(field_name), getattr(target, field_name)
        if old != new:
            changes.append(f"{field_name} {old or '-'} → {new or '-'}")
    for key in sorted(set(baseline.keys) | set(run.keys)):
        if key in ("dataset_id", "judge_version"):
            continue
        old_value, new_value = baseline.keys.get(key), run.keys.get(key)
        if old_value != new_value:
            changes.append(f"{key} {old_value or '-'} → {new_value or '-'}")
    what = "; ".join(changes) if changes else "same model, prompt and keys"
    line = f"compared with run {baseline.run_id}, the last pass on this service: {what}"
    old_judge, new_judge = baseline.keys.get("judge_version"), run.keys.get("judge_version")
    if old_judge and new_judge and old_judge != new_judge:
        line += (
            f". The judge or rubric changed ({old_judge} → {new_judge}): a judged case's new"
            " failure may be the judge's, not the service's"
        )
    return line


def _read_results(
    dataset: CaseFile, store: SessionStore, run_id: str
) -> Iterator[tuple[CaseResult, list[EvalRecord]]]:
    for result, records, _ in stream_results(dataset.heads(), store, run_id):
        yield result, records


def _fold(
    dataset: CaseFile, store: SessionStore, run: Run, baseline_run: Run | None
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


def _start_or_resume(
    request: EvalRequest, dataset: CaseFile, store: SessionStore
) -> tuple[Run, bool]:
    if request.resume:
        run = store.runs.get(request.resume)
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
    keys = {**request.target.keys, "dataset_id": dataset.dataset_id}
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
            "kind": request.kind,
            "cases": request.cases,
            "target": request.target.public(),
            "judge": request.judge.public(),
            "trials": request.options.trials,
            "cache": request.options.cache_target,
            "thresholds": asdict(request.thresholds),
            "baseline": request.baseline,
        },
    )
    return run, False  # the session creates it


def baseline_keys(spec: str) -> dict[str, str]:
    """The keys a ``last-pass:k=v,k2=v2`` baseline must carry (none for ``last-pass``).

    >>> baseline_keys("last-pass:branch=main")
    {'branch': 'main'}

    Raises:
        UsageError: a part that is not ``k=v``.
    """
    _, _, pairs = spec.partition(":")
    keys: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in pairs.split(","))):
        name, sep, value = pair.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise UsageError(f"--baseline {spec}: expected last-pass:key=value[,key=value]")
        keys[name.strip()] = value.strip()
    if spec != "last-pass" and not keys:
        raise UsageError(f"--baseline {spec}: expected last-pass:key=value[,key=value]")
    return keys


def _baseline_run(
    spec: str, dataset: CaseFile, target: TargetSpec, store: SessionStore
) -> Run | None:
    """The run to compare with, found before anything runs (a bad id is exit 2 at once).

    ``last-pass`` never finds the run being made: it is not complete until the end;
    ``last-pass:branch=main`` is the last pass whose keys say so (the base branch's).

    Raises:
        UsageError: an unknown run id, or keys that are not ``k=v`` pairs.
    """
    if spec == "none":
        return None
    if spec == "last-pass" or spec.startswith("last-pass:"):
        keys = baseline_keys(spec)
        found: Run | None = store.runs.last_passing(dataset.name, make_target_id(target), keys=keys)
        legacy = legacy_target_id(target)
        if found is None and legacy is not None:  # runs stored before the id dropped the model
            found = store.runs.last_passing(dataset.name, legacy, keys=keys)
        return found
    found = store.runs.get(spec)
    if found is None:
        raise UsageError(f"--baseline {spec}: no such run in {store.url}")
    return found


def _summary(gate: GateResult, stats: RunStats) -> RunSummary:
    """What a complete run stores of its gate and statistics."""
    return RunSummary(
        n=gate.n,
        passed=gate.passed,
        failed=gate.failed,
        errored=gate.errored,
        pass_rate=gate.pass_rate,
        pass_rate_ci=(gate.pass_rate_ci.lo, gate.pass_rate_ci.hi),
        locks_failed=gate.locks_failed,
        locks_errored=gate.locks_errored,
        new_failures=gate.new_failures,
        flaky=gate.flaky,
        reasons=gate.reasons,
        warnings=gate.warnings,
        stats=replace(stats),
    )
