"""Comparing two variants: run both on the same cases (interleaved) or load two runs, pair, test.

The library behind ``evallock ab``; the CLI only builds an :class:`ABRequest`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import anyio

from evallock.ab._analysis import Metric, PairedAnalysis, analyse_pairs
from evallock.ab._slices import SliceResult, analyse_slices
from evallock.ab._spec import Variant
from evallock.calibration import (
    CalibrationFloor,
    judge_versions_of,
    pooled_calibration,
    require_calibrated,
)
from evallock.cases import CaseFile, open_cases
from evallock.errors import ConfigError, EvallockError, TargetError, UsageError
from evallock.records import EvalRecord, Run
from evallock.runner import BatchWriter, Progress, RetryingJudge, RunOptions, StoreCache
from evallock.session import (
    JudgeSpec,
    RunSession,
    SessionStore,
    make_target_id,
    new_run_id,
)

__all__ = ["ABOutcome", "ABRequest", "check_ab_settings", "compare_runs", "compare_variants"]

MetricChoice = Literal["auto", "pass", "judge", "score"]


@dataclass(frozen=True, kw_only=True, slots=True)
class ABRequest:
    """Everything one ``evallock ab`` needs."""

    cases: str
    """The case file both variants run on."""
    a: Variant | None = None
    """Variant A (None with ``a_run``)."""
    b: Variant | None = None
    """Variant B (None with ``b_run``)."""
    a_run: str | None = None
    """Compare this stored run as A instead of running."""
    b_run: str | None = None
    """… and this one as B."""
    judge: JudgeSpec = field(default_factory=JudgeSpec)
    """The judge, for judged cases and the pairwise mode."""
    options: RunOptions = field(default_factory=RunOptions)
    """Concurrency, trials, timeout, retries."""
    alpha: float = 0.05
    """One-sided level of the verdict's bounds."""
    min_effect: float = 0.05
    """The effect floor, on the metric's scale (0–1)."""
    metric: MetricChoice = "auto"
    """``auto``: judge scores when every case has one, else pass/fail."""
    by: tuple[str, ...] = ()
    """Slice keys."""
    min_slice_pairs: int = 5
    """Slices with fewer pairs get "insufficient data"."""
    judge_mode: Literal["score", "pairwise"] = "score"
    """``pairwise``: the judge compares the two answers, in both orders."""
    seed: int = 0
    """Seeds the bootstrap and permutation paths."""
    calibration: CalibrationFloor | None = None
    """When the judge counts as calibrated; None: its agreement with people is not shown."""
    require_calibrated: bool = False
    """Refuse to run (exit 2) when the judge of the judged cases is not calibrated."""

    def __post_init__(self) -> None:
        """Refuse settings the analysis cannot use, before anything runs.

        Raises:
            UsageError: ``alpha`` outside (0, 0.5), ``min_effect`` outside [0, 1),
                ``min_slice_pairs`` below 2, or an unknown metric or judge mode.
        """
        check_ab_settings(
            alpha=self.alpha,
            min_effect=self.min_effect,
            metric=self.metric,
            judge_mode=self.judge_mode,
            min_slice_pairs=self.min_slice_pairs,
        )


def check_ab_settings(
    *, alpha: float, min_effect: float, metric: str, judge_mode: str, min_slice_pairs: int
) -> None:
    """Check the statistical settings of a comparison (the flags of ``evallock ab``).

    The verdict reads one-sided (1 − α) bounds off a two-sided (1 − 2α) interval,
    so α must lie strictly between 0 and 0.5; Δ lies in [−1, 1], so a floor of 1
    or more could never be cleared.

    Raises:
        UsageError: with the flag and the reason.

    >>> check_ab_settings(  # doctest: +ELLIPSIS
    ...     alpha=0.5, min_effect=0.05, metric="pass", judge_mode="score", min_slice_pairs=5
    ... )
    Traceback (most recent call last):
    ...
    evallock.errors.UsageError: --alpha 0.5: must be above 0 and below 0.5 (...)
    """
    if not (isinstance(alpha, int | float) and math.isfinite(alpha) and 0 < alpha < 0.5):
        raise UsageError(
            f"--alpha {alpha}: must be above 0 and below 0.5 (the verdict's one-sided bounds"
            " come from a (1 − 2α) interval)"
        )
    if not (isinstance(min_effect, int | float) and math.isfinite(min_effect)):
        raise UsageError(f"--min-effect {min_effect}: must be a number from 0 to below 1")
    if not 0 <= min_effect < 1:
        raise UsageError(
            f"--min-effect {min_effect}: must be from 0 to below 1 (Δ lies in [−1, 1], so a"
            " floor of 1 or more could never be cleared)"
        )
    if metric not in {"auto", "pass", "judge", "score"}:
        raise UsageError(f"--metric {metric!r}: choose auto, pass, judge or score")
    if judge_mode not in {"score", "pairwise"}:
        raise UsageError(f"--judge-mode {judge_mode!r}: choose score or pairwise")
    if min_slice_pairs < 2:
        raise UsageError(f"--min-slice-pairs {min_slice_pairs}: must be at least 2")


@dataclass(frozen=True, kw_only=True, slots=True)
class ABOutcome:
    """A finished comparison."""

    comparison_id: str
    """Unique id."""
    dataset: CaseFile
    """The cases."""
    run_a: Run
    """A's run."""
    run_b: Run
    """B's run."""
    overall: PairedAnalysis
    """The whole set of pairs."""
    slices: list[SliceResult]
    """Per slice, with ``by``."""
    unpaired: dict[str, list[str]]
    """Case ids with a value on one side only: ``{"only_a": [...], "only_b": [...]}``."""
    flaky: list[str]
    """Cases whose trials disagree, in either variant."""
    judge_errors: int
    """Judge replies that could not be used (those cases are unpaired)."""
    consistency: float | None
    """Pairwise mode: share of cases whose verdict did not flip with the order."""
    warnings: list[str]
    """What the reader must know (too small to detect the floor, unpaired cases …)."""
    alpha: float
    """The level used."""
    min_effect: float
    """The floor used."""


def compare_variants(
    request: ABRequest, store: SessionStore, *, progress: Progress | None = None
) -> ABOutcome:
    """Run A and B on the same cases, interleaved, then compare (sync entry point)."""
    if request.a is None or request.b is None:
        raise UsageError("give --a and --b (or --a-run and --b-run)")
    if request.a.target == request.b.target:
        raise UsageError(
            f"the variants differ in nothing: --a {request.a.spec!r} and --b {request.b.spec!r}"
        )
    return anyio.run(_compare_variants, request, store, progress)


async def _compare_variants(
    request: ABRequest, store: SessionStore, progress: Progress | None
) -> ABOutcome:
    assert request.a is not None
    assert request.b is not None
    dataset = open_cases(request.cases)
    comparison_id = new_run_id()
    needs_judge = request.judge_mode == "pairwise" or dataset.first_judged is not None
    if request.metric == "judge" and request.judge_mode == "score" and not needs_judge:
        raise UsageError(
            f"--metric judge: no case in {dataset.path} asks for a judge, so there are no"
            " judge scores to compare; use --metric pass or score"
        )
    if request.require_calibrated:
        versions = judge_versions_of(
            dataset.judge_rubrics,
            model=request.judge.model or "",
            params=dict(request.judge.params),
            default_rubric=request.judge.rubric,
        )
        require_calibrated(pooled_calibration(store.labels, versions, request.calibration))
    simulates = dataset.simulated_user is not None  # the judge model plays the user
    if (needs_judge or simulates) and not request.judge.configured:
        raise ConfigError("this comparison needs a judge: give --judge-base-url and --judge-model")
    async with RunSession(
        store,
        options=request.options,
        judge=request.judge if needs_judge or simulates else None,
        judge_seed=request.seed + 1,
    ) as session:
        runs: list[Run] = []
        for variant in (request.a, request.b):
            run = Run(
                run_id=f"{comparison_id}-{variant.name.lower()}",
                dataset_id=dataset.dataset_id,
                dataset_name=dataset.name,
                target_id=make_target_id(variant.target),
                started_at=datetime.now(UTC),
                keys={
                    **variant.target.keys,
                    "dataset_id": dataset.dataset_id,
                    "experiment": variant.name,
                },
                settings={
                    "kind": "ab",
                    "cases": request.cases,
                    "target": variant.target.public(),
                    "trials": request.options.trials,
                    "ab": comparison_id,
                    "arm": variant.name,
                    "spec": variant.spec,
                },
            )
            session.add_arm(run, variant.target)
            runs.append(run)
        await session.execute(dataset, progress=progress)
        records_a = list(store.runs.iter_records(runs[0].run_id))
        records_b = list(store.runs.iter_records(runs[1].run_id))
        for variant, records in ((request.a, records_a), (request.b, records_b)):
            if records and all(r.error_kind == "target" for r in records):
                # a verdict over answers that never came would be a verdict over nothing
                raise TargetError(
                    f"variant {variant.name}: every case errored; the target failed:"
                    f" {records[0].error}"
                )
        pairwise = None
        if request.judge_mode == "pairwise" and session.judge is not None:
            pairwise = await _judge_pairs(
                request, dataset, records_a, records_b, session.judge, store
            )
        finished = [session.finish(run) for run in runs]  # run ids carry the comparison id
    outcome = _analyse(
        request, dataset, comparison_id, finished[0], finished[1], records_a, records_b, pairwise
    )
    _note_calibration(outcome, request, store, records_a + records_b)
    return outcome


def compare_runs(request: ABRequest, store: SessionStore) -> ABOutcome:
    """Compare two stored runs of the same case file, calling nothing."""
    assert request.a_run is not None
    assert request.b_run is not None
    if request.judge_mode == "pairwise":
        raise UsageError("--judge-mode pairwise needs live variants (--a/--b), not stored runs")
    if request.a_run == request.b_run:
        raise UsageError("the variants differ in nothing: --a-run and --b-run are the same run")
    run_a, run_b = store.runs.get(request.a_run), store.runs.get(request.b_run)
    for flag, run_id, run in (("--a-run", request.a_run, run_a), ("--b-run", request.b_run, run_b)):
        if run is None:
            raise UsageError(f"{flag} {run_id}: no such run in {store.url}")
    assert run_a is not None
    assert run_b is not None
    if run_a.dataset_name != run_b.dataset_name:
        raise UsageError(
            f"--a-run is of {run_a.dataset_name!r} and --b-run of {run_b.dataset_name!r}:"
            " compare runs of the same case file"
        )
    dataset = open_cases(request.cases)
    records_a = list(store.runs.iter_records(run_a.run_id))
    records_b = list(store.runs.iter_records(run_b.run_id))
    if request.require_calibrated:
        versions = {
            r.keys["judge_version"] for r in records_a + records_b if "judge_version" in r.keys
        }
        require_calibrated(pooled_calibration(store.labels, versions, request.calibration))
    outcome = _analyse(request, dataset, new_run_id(), run_a, run_b, records_a, records_b, None)
    _note_calibration(outcome, request, store, records_a + records_b)
    if run_a.dataset_id != run_b.dataset_id:
        outcome.warnings.append(
            f"the runs used different versions of the cases ({run_a.dataset_id} vs "
            f"{run_b.dataset_id}); only cases with the same id are paired"
        )
    return outcome


def _note_calibration(
    outcome: ABOutcome, request: ABRequest, store: SessionStore, records: list[EvalRecord]
) -> None:
    """Put the judge's agreement with people beside judge-graded comparisons."""
    if request.calibration is None:
        return
    versions = {
        r.keys["judge_version"]
        for r in records
        if r.judge_score is not None and "judge_version" in r.keys
    }
    found = pooled_calibration(store.labels, versions, request.calibration)
    if found is not None:
        outcome.warnings.append(found.line())


async def _judge_pairs(
    request: ABRequest,
    dataset: CaseFile,
    records_a: list[EvalRecord],
    records_b: list[EvalRecord],
    judge: RetryingJudge,
    store: SessionStore,
) -> dict[str, tuple[float, bool] | None]:
    """case id → (+1/−1/0, consistent) from the pairwise judge on trial 0; None on a judge error."""
    from evallock.graders import DRIFT_RUBRIC, REFERENCE_RUBRIC
    from evallock.graders.pairwise import PairwiseParseError, judge_pair

    outputs_a = {r.case_id: r.output for r in records_a if r.trial == 0 and r.output is not None}
    outputs_b = {r.case_id: r.output for r in records_b if r.trial == 0 and r.output is not None}
    writer = BatchWriter(store)
    cache = StoreCache(store, writer, "judge")
    results: dict[str, tuple[float, bool] | None] = {}
    limiter = anyio.CapacityLimiter(request.options.concurrency)
    cases = [c for c in dataset if c.id in outputs_a and c.id in outputs_b]

    fatal: list[EvallockError] = []

    async def one(case_index: int, scope: anyio.CancelScope) -> None:
        case = cases[case_index]
        rubric = (
            (case.judge.rubric if case.judge else "")
            or request.judge.rubric
            or (REFERENCE_RUBRIC if case.expected else DRIFT_RUBRIC)
        )
        async with limiter:
            try:
                verdict = await judge_pair(
                    client=judge,
                    rubric=rubric,
                    question=case.input,
                    answer_a=outputs_a[case.id],
                    answer_b=outputs_b[case.id],
                    reference=case.expected,
                    cache=cache,
                )
            except PairwiseParseError:
                results[case.id] = None
                return
            except EvallockError as exc:  # the judge is down: stop, and say so plainly
                fatal.append(exc)
                scope.cancel()
                return
        results[case.id] = (verdict.value, verdict.consistent)

    try:
        async with anyio.create_task_group() as group:
            for index in range(len(cases)):
                group.start_soon(one, index, group.cancel_scope)
    finally:
        writer.flush()
    if fatal:
        raise fatal[0]
    return results


def _values(records: Iterable[EvalRecord], metric: Metric) -> dict[str, list[float]]:
    values: dict[str, list[float]] = {}
    for record in sorted(records, key=lambda r: (r.case_id, r.trial)):
        if metric == "pass":
            value: float | None = float(record.passed)
        elif metric == "judge":
            value = None if record.judge_score is None else (record.judge_score - 1) / 4
        else:
            value = record.score
        if value is not None:
            values.setdefault(record.case_id, []).append(value)
    return values


def _choose_metric(choice: MetricChoice, records: list[EvalRecord]) -> Metric:
    if choice != "auto":
        return choice
    answered = [r for r in records if r.error_kind != "target"]
    if answered and all(r.judge_score is not None for r in answered):
        return "judge"
    return "pass"


def _analyse(
    request: ABRequest,
    dataset: CaseFile,
    comparison_id: str,
    run_a: Run,
    run_b: Run,
    records_a: list[EvalRecord],
    records_b: list[EvalRecord],
    pairwise: Mapping[str, tuple[float, bool] | None] | None,
) -> ABOutcome:
    case_keys = {head.id: head.keys for head in dataset.heads()}
    warnings: list[str] = []
    judge_errors = sum(1 for r in (*records_a, *records_b) if r.error_kind == "judge")
    consistency = None
    if pairwise is not None:
        metric: Metric = "pairwise"
        values_b = {cid: [v[0]] for cid, v in pairwise.items() if v is not None}
        values_a = {cid: [0.0] for cid in values_b}
        judged = [v for v in pairwise.values() if v is not None]
        judge_errors += sum(1 for v in pairwise.values() if v is None)
        consistency = sum(1 for v in judged if v[1]) / len(judged) if judged else None
    else:
        metric = _choose_metric(request.metric, records_a + records_b)
        values_a, values_b = _values(records_a, metric), _values(records_b, metric)
    known = set(case_keys)
    values_a = {k: v for k, v in values_a.items() if k in known}
    values_b = {k: v for k, v in values_b.items() if k in known}
    paired = sorted(set(values_a) & set(values_b))
    unpaired = {
        "only_a": sorted(set(values_a) - set(values_b)),
        "only_b": sorted(set(values_b) - set(values_a)),
    }
    if len(paired) < 2:
        raise UsageError(
            f"only {len(paired)} paired case(s) between A and B; a comparison needs at least 2"
        )
    overall = analyse_pairs(
        values_a,
        values_b,
        metric=metric,
        alpha=request.alpha,
        min_effect=request.min_effect,
        ids=paired,
        seed=request.seed,
    )
    slices = (
        analyse_slices(
            values_a,
            values_b,
            case_keys,
            request.by,
            metric=metric,
            alpha=request.alpha,
            min_effect=request.min_effect,
            min_pairs=request.min_slice_pairs,
            seed=request.seed,
        )
        if request.by
        else []
    )
    if unpaired["only_a"] or unpaired["only_b"]:
        count = len(unpaired["only_a"]) + len(unpaired["only_b"])
        warnings.append(f"{count} case(s) have a value on one side only and are not paired")
    if overall.power is not None and overall.power.underpowered:
        power = overall.power
        shown = (
            f"the smallest true effect it detects with 80 % power is {power.mde:.3f}"
            if math.isfinite(power.mde)
            else "no true effect is detected with 80 % power"
        )
        plan = (
            f"; about {power.n_needed} pairs would detect {power.planning_effect:g}"
            if power.n_needed and power.planning_effect
            else ""
        )
        warnings.append(
            f"too small to clear the floor: at {overall.n_pairs} pairs {shown}"
            f' ("B wins" needs the lower bound above min_effect {request.min_effect:g}){plan}'
        )
    flaky = sorted(
        cid
        for values in (_values(records_a, "pass"), _values(records_b, "pass"))
        for cid, trial_values in values.items()
        if 0 < sum(trial_values) < len(trial_values)
    )
    return ABOutcome(
        comparison_id=comparison_id,
        dataset=dataset,
        run_a=run_a,
        run_b=run_b,
        overall=overall,
        slices=slices,
        unpaired=unpaired,
        flaky=sorted(set(flaky)),
        judge_errors=judge_errors,
        consistency=consistency,
        warnings=warnings,
        alpha=request.alpha,
        min_effect=request.min_effect,
    )
