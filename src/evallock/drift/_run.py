"""One drift check: sample a window, judge it, judge or load the baseline, report, store.

The library behind ``evallock drift`` and ``evallock serve --drift-every``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Literal

import anyio

from evallock.calibration import CalibrationFloor, judge_calibration, require_calibrated
from evallock.drift._detect import MonitorState
from evallock.drift._embedding import EmbeddingDrift
from evallock.drift._inputs import MODERATE_PSI, KeyShift, key_shift
from evallock.drift._json import drift_report
from evallock.drift._judge import judge_traces, session_histories
from evallock.drift._report import DriftReport, InputTest, build_report
from evallock.drift._sample import sample_traces
from evallock.drift._scores import DriftBaseline, TraceScore
from evallock.drift._window import Window, parse_range, parse_window
from evallock.errors import ConfigError, UsageError
from evallock.graders import DRIFT_RUBRIC, judge_version
from evallock.keys import TASK_KEYS
from evallock.records import StoredDriftReport, Trace
from evallock.runner import BatchWriter, RetryingJudge, RetryPolicy, StoreCache
from evallock.session import JudgeSpec, make_judge
from evallock.store import Store

__all__ = ["DriftOutcome", "DriftRequest", "run_drift"]

INPUT_KEYS = TASK_KEYS  # whose mix is compared with the baseline window


@dataclass(frozen=True, kw_only=True, slots=True)
class DriftRequest:
    """Everything one drift check needs."""

    since: str | None = None
    """Window start: ISO 8601 or a duration back from now (default 1d)."""
    until: str | None = None
    """Window end (default now)."""
    sample: int = 200
    """Traces to judge."""
    seed: int = 0
    """Picks the sample; the same seed picks the same traces."""
    stratify_by: str | None = None
    """Sample per value of this key."""
    min_per_slice: int = 20
    """Floor per stratum."""
    by: tuple[str, ...] = ()
    """Per-slice reports."""
    baseline: float | None = None
    """A baseline mean (1–5)."""
    baseline_window: str | None = None
    """``T..T``: judge a sample of this window as the baseline."""
    baseline_run: str | None = None
    """A golden-set run: its answers are re-judged with this judge and rubric."""
    alert_drop: float = 0.2
    """Alert when the mean drops by more than this (and significantly)."""
    alpha: float = 0.05
    """The report's false-alarm rate (split among mean, slices and detectors)."""
    batch: timedelta = timedelta(days=1)
    """Batch length for the detectors."""
    arl0: float = 370.0
    """Expected batches between false alarms of the detectors."""
    rubric: str | None = None
    """The rubric (default: the drift rubric)."""
    judge: JudgeSpec = field(default_factory=JudgeSpec)
    """The judge."""
    concurrency: int = 16
    """Judge requests in flight."""
    timeout: float = 60.0
    """Seconds per judge attempt."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    """Retries for the judge."""
    input_embeddings: bool = False
    """Also test the inputs themselves for drift (MMD on embeddings; the embeddings extra)."""
    calibration: CalibrationFloor | None = None
    """When the judge counts as calibrated against people's labels (the report notes it)."""
    require_calibrated: bool = False
    """Refuse to judge (exit 2) when the judge is not calibrated."""
    unit: Literal["trace", "session"] = "trace"
    """What one sample is: a trace, or a whole session (its conversation judged, on its
    newest trace in the window; a trace without a session stands for itself)."""

    def __post_init__(self) -> None:
        """Refuse what no report can do honestly (before anything is judged).

        Raises:
            UsageError: not exactly one baseline, or a number baseline with slices.
        """
        given = [x is not None for x in (self.baseline, self.baseline_window, self.baseline_run)]
        if sum(given) != 1:
            raise UsageError(
                "give one baseline: --baseline NUMBER, --baseline-window T..T or"
                " --baseline run:RUN_ID"
            )
        if self.baseline is not None and self.by:
            raise UsageError(
                "--baseline NUMBER with --by: one number is no baseline for each slice (a slice"
                " that is inherently lower would alert on every run); give --baseline-window"
                " T..T, whose judged sample gives each slice its own baseline"
            )


@dataclass(frozen=True, kw_only=True, slots=True)
class DriftOutcome:
    """The report, the input-mix shifts and the stored report's id."""

    report: DriftReport
    """The figures and the alert."""
    inputs: list[KeyShift]
    """Input-mix drift per key (with a baseline window)."""
    embedding: EmbeddingDrift | None = None
    """Input drift on embeddings (with ``input_embeddings`` and a baseline window)."""
    report_id: str | None
    """Where the report was stored."""


def run_drift(request: DriftRequest, store: Store) -> DriftOutcome:
    """Run a drift check (sync entry point)."""
    return anyio.run(_run_drift, request, store)


async def _run_drift(request: DriftRequest, store: Store) -> DriftOutcome:
    if not request.judge.configured:
        raise ConfigError("drift needs a judge: give --judge-base-url and --judge-model")
    if request.input_embeddings:
        from evallock.graders.similarity import EMBEDDINGS_MISSING, embeddings_available

        if request.baseline_window is None:
            raise UsageError(
                "--input-embeddings compares with a baseline window: give --baseline-window"
            )
        if not embeddings_available():
            raise UsageError(EMBEDDINGS_MISSING.replace("similar", "--input-embeddings"))
    window = parse_window(request.since, request.until)
    rubric = request.rubric or DRIFT_RUBRIC
    model = request.judge.model or ""
    version = judge_version(model, rubric, request.judge.params)
    if request.require_calibrated:
        floor = request.calibration or CalibrationFloor()
        require_calibrated(judge_calibration(store.labels, version, floor))
    provider, client = make_judge(
        request.judge,
        concurrency=request.concurrency,
        policy=request.retry,
        timeout=request.timeout,
        seed=request.seed,
    )
    writer = BatchWriter(store)
    cache = StoreCache(store, writer, "judge")
    notes: list[str] = []
    try:
        scores, available, sizes = await _judge_window(
            request, store, window, client, cache, rubric, notes
        )
        baseline = await _baseline(request, store, client, cache, rubric, version)
    finally:
        writer.flush()
        await provider.aclose()
    inputs: list[KeyShift] = []
    if request.baseline_window:
        base = parse_range(request.baseline_window)
        for key in INPUT_KEYS:
            before = store.traces.count_by(key, since=base.start, until=base.end)
            now = store.traces.count_by(key, since=window.start, until=window.end)
            if len(set(before) | set(now)) > 1 or (before and now and set(before) != set(now)):
                inputs.append(key_shift(key, before, now))
    embedding = None
    if request.input_embeddings:
        from evallock.drift._embedding import embedding_drift
        from evallock.graders.similarity import default_embedder

        embedding = await anyio.to_thread.run_sync(
            lambda: embedding_drift(
                [s.input for s in baseline.scores],
                [s.input for s in scores],
                embedder=default_embedder(),
                seed=request.seed,
            )
        )
    notes.extend(_judge_notes(request, store, version))
    monitor_id = _monitor_id(request, baseline, version)
    report = build_report(
        window=window,
        available=available,
        scores=scores,
        baseline=baseline,
        judge_version=version,
        by=request.by,
        alert_drop=request.alert_drop,
        alpha=request.alpha,
        stratum_sizes=sizes if request.stratify_by else None,
        batch=request.batch,
        arl0=request.arl0,
        notes=notes,
        monitor_id=monitor_id,
        prior_monitor=_prior_monitor(store, monitor_id),
        input_tests=_input_tests(inputs, embedding),
    )
    report_id = _save(store, report, inputs, scores, embedding)
    return DriftOutcome(report=report, inputs=inputs, report_id=report_id, embedding=embedding)


async def _judge_window(
    request: DriftRequest,
    store: Store,
    window: Window,
    client: RetryingJudge,
    cache: StoreCache,
    rubric: str,
    notes: list[str],
) -> tuple[list[TraceScore], int, dict[str, int]]:
    by_session = request.unit == "session"
    rows = store.traces.window_ids(
        since=window.start, until=window.end, key=request.stratify_by, sessions=by_session
    )
    if not rows:
        raise UsageError(
            f"no traces between {window.start:%Y-%m-%dT%H:%M:%SZ} and "
            f"{window.end:%Y-%m-%dT%H:%M:%SZ}"
        )
    sample = sample_traces(
        rows,
        request.sample,
        seed=request.seed,
        stratified=request.stratify_by is not None,
        min_per_stratum=request.min_per_slice,
    )
    if sample.available < request.sample:
        notes.append(
            f"the window holds {sample.available} traces, fewer than --sample "
            f"{request.sample}: all are judged"
        )
    traces = store.traces.get_many(sample.trace_ids)
    if by_session:
        notes.append(
            f"judged by session: {sample.available} sessions in the window, each scored on its"
            " whole conversation"
        )
    scores = await judge_traces(
        traces,
        client=client,
        rubric=rubric,
        cache=cache,
        concurrency=request.concurrency,
        strata=sample.stratum_of,
        params=request.judge.params,
        sessions=session_histories(store.traces.session, traces) if by_session else None,
    )
    return scores, sample.available, sample.stratum_sizes


async def _baseline(
    request: DriftRequest,
    store: Store,
    client: RetryingJudge,
    cache: StoreCache,
    rubric: str,
    version: str,
) -> DriftBaseline:
    if request.baseline is not None:
        return DriftBaseline(mean=request.baseline, source="number")
    if request.baseline_window is not None:
        base = parse_range(request.baseline_window)
        by_session = request.unit == "session"
        rows = store.traces.window_ids(
            since=base.start, until=base.end, key=request.stratify_by, sessions=by_session
        )
        if not rows:
            raise UsageError(f"--baseline-window: no traces in {base}")
        sample = sample_traces(
            rows,
            request.sample,
            seed=request.seed,
            stratified=request.stratify_by is not None,
            min_per_stratum=request.min_per_slice,
        )
        sampled = store.traces.get_many(sample.trace_ids)
        scores = await judge_traces(
            sampled,
            client=client,
            rubric=rubric,
            cache=cache,
            concurrency=request.concurrency,
            strata=sample.stratum_of,
            params=request.judge.params,
            sessions=session_histories(store.traces.session, sampled) if by_session else None,
        )
        judged = [s.score for s in scores if s.score is not None]
        if not judged:
            raise UsageError(f"--baseline-window {base}: no trace could be judged")
        # The baseline window is judged now, with the current judge and rubric: the
        # comparison never crosses judge versions, whatever judged it before.
        return DriftBaseline(
            mean=sum(judged) / len(judged),
            source=f"window {base}",
            scores=scores,
            judge_version=version,
            stratum_sizes=sample.stratum_sizes if request.stratify_by else None,
        )
    return await _run_baseline(request, store, client, cache, rubric, version)


async def _run_baseline(
    request: DriftRequest,
    store: Store,
    client: RetryingJudge,
    cache: StoreCache,
    rubric: str,
    version: str,
) -> DriftBaseline:
    """A golden-set run at deploy: its answers re-judged with this judge and rubric."""
    from datetime import UTC, datetime

    from evallock.cases import open_cases

    run_id = request.baseline_run or ""
    run = store.runs.get(run_id)
    if run is None:
        raise UsageError(f"--baseline run:{run_id}: no such run in {store.url}")
    cases_path = run.settings.get("cases")
    if not isinstance(cases_path, str):
        raise UsageError(f"--baseline run:{run_id}: the run names no case file to re-judge with")
    try:
        dataset = open_cases(cases_path)
    except UsageError as exc:
        raise UsageError(f"--baseline run:{run_id}: cannot re-judge its answers: {exc}") from None
    if dataset.dataset_id != run.dataset_id:
        raise UsageError(
            f"--baseline run:{run_id}: it ran {run.dataset_id} but {cases_path} is now "
            f"{dataset.dataset_id}; its answers cannot be re-judged with the current judge"
        )
    inputs = {case.id: case.input for case in dataset}
    traces = []
    for record in store.runs.iter_records(run_id):
        question = inputs.get(record.case_id)
        if record.output is None or question is None:
            continue
        traces.append(
            Trace(
                trace_id=f"{record.case_id}#{record.trial}",
                timestamp=run.started_at or datetime.now(UTC),
                input=question if isinstance(question, str) else None,
                messages=None if isinstance(question, str) else question,
                output=record.output,
                keys=dict(record.keys),
            )
        )
    scores = await judge_traces(
        traces, client=client, rubric=rubric, cache=cache, concurrency=request.concurrency
    )
    # A case's trials are one observation (the case), not K independent traces.
    scores = [replace(s, cluster=s.trace_id.rpartition("#")[0]) for s in scores]
    judged = [s.score for s in scores if s.score is not None]
    if not judged:
        raise UsageError(f"--baseline run:{run_id}: none of its answers could be judged")
    return DriftBaseline(
        mean=sum(judged) / len(judged),
        source=f"run:{run_id} (re-judged with {version})",
        scores=scores,
        judge_version=version,
    )


def _judge_notes(request: DriftRequest, store: Store, version: str) -> list[str]:
    """What the reader must know about the judge behind the comparison.

    A number baseline carries no judge: it compares only if this judge produced it. A
    run baseline is re-judged now, and a window baseline judged now, so they never mix
    judges. And scores of an earlier report by another judge or rubric do not compare
    with this one's.
    """
    notes = []
    if request.baseline is not None:
        notes.append(
            f"baseline {request.baseline:g} is a number: it compares only if it was scored by"
            f" this judge and rubric ({version}); from another judge it is not comparable"
        )
    elif request.baseline_run is not None:
        notes.append(
            f"baseline run:{request.baseline_run} was re-judged now by this judge ({version})"
        )
    floor = request.calibration or CalibrationFloor()
    notes.append(judge_calibration(store.labels, version, floor).line())
    last = store.reports.drift_reports(limit=1)
    if last and last[0].judge_version != version:
        notes.append(
            f"judge or rubric changed since the last report ({last[0].judge_version} →"
            f" {version}): scores before and after are not comparable"
        )
    return notes


def _input_tests(inputs: list[KeyShift], embedding: EmbeddingDrift | None) -> list[InputTest]:
    """The input-drift tests the report alerts on: each key's mix (at least a moderate PSI)
    and the embedding MMD."""
    tests = [
        InputTest(
            name=f"{k.key} mix",
            p_value=k.p_value,
            detail=f"PSI {k.psi:.2f} ({k.level}), chi-square p {k.p_value:.3g}",
            large_enough=k.psi >= MODERATE_PSI,
        )
        for k in inputs
    ]
    if embedding is not None:
        tests.append(
            InputTest(
                name="input texts (embeddings)",
                p_value=embedding.p_value,
                detail=f"MMD² {embedding.mmd2:.4f}, permutation p {embedding.p_value:.3g}",
                large_enough=True,
            )
        )
    return tests


def _monitor_id(request: DriftRequest, baseline: DriftBaseline, version: str) -> str:
    """Which detector monitor a check continues: same judge, baseline, batch and ARL0."""
    import hashlib

    number = f"{baseline.mean:g}" if baseline.source == "number" else ""
    parts: tuple[str, ...] = (
        version,
        baseline.source,
        number,
        str(request.batch.total_seconds()),
        str(request.arl0),
    )
    if request.unit != "trace":  # a monitor of sessions is another series
        parts += (request.unit,)
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


MONITOR_LOOKBACK = 200
"""Stored reports searched (newest first) for the monitor's last state."""


def _prior_monitor(store: Store, monitor_id: str) -> MonitorState | None:
    """The detectors' state the last report of this monitor left, if one is stored."""
    for stored in store.reports.drift_reports(limit=MONITOR_LOOKBACK):
        found = MonitorState.from_json(stored.body.get("monitor"))
        if found is not None and found.monitor_id == monitor_id:
            return found
    return None


def _save(
    store: Store,
    report: DriftReport,
    inputs: list[KeyShift],
    scores: list[TraceScore],
    embedding: EmbeddingDrift | None,
) -> str:
    stored = StoredDriftReport(
        window_start=report.window.start,
        window_end=report.window.end,
        judge_version=report.judge_version,
        alert=report.alert,
        body=drift_report(report, inputs, embedding),
    )
    return store.reports.add_drift_report(stored, [(s.trace_id, s.score, s.reason) for s in scores])
