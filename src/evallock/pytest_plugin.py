"""The pytest plugin: ``pytest --evallock evals/golden.jsonl`` runs a case file as tests.

Installed with the package (entry point ``pytest11``), idle unless ``--evallock`` is
given. Each case of the file is a test item; the first item to run runs the whole file
once, through the same runner and gate as ``evallock run`` (the target, judge, run
options and gate thresholds of ``evallock.yaml``; concurrency, retries and the cache
included), into the configured store, and each item then reports its case: passed,
failed with the grader's reason, errored, flaky (trials that disagree, decided by
majority), a lock ("a fixed bug came back"). The terminal summary gives each file's
pass rate with its Wilson interval, locks, new failures against the baseline and the
verdict, and the session's exit status follows the gate: a failed gate fails the
session even when every item passed the threshold's way, and a passed gate passes it
even with a few failing cases (when every failure is a case of a passing gate).

With ``--junitxml`` each case's keys are its properties (``key.intent`` …). The
plugin refuses ``-n`` (pytest-xdist): every worker would run the whole file; the
runner's own ``--evallock-concurrency`` is the parallelism.

Only the hooks live at the top of this module; evallock's heavy parts are imported
when ``--evallock`` is given, so an ordinary pytest session pays nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from evallock.evaluation import EvalOutcome
    from evallock.records import CaseResult

__all__ = ["CaseFile", "CaseItem", "EvalCaseFailure"]

_OUTCOMES = pytest.StashKey[dict[str, Any]]()
_EXPECTED = pytest.StashKey[list[tuple[str, list[Any]]]]()
_RECORDED = pytest.StashKey[str | None]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--evallock FILE`` (repeatable) and the settings of the runs it makes."""
    group = parser.getgroup("evallock", "evallock: run case files as tests, gated")
    group.addoption(
        "--evallock",
        action="append",
        default=[],
        metavar="CASES",
        help="Case file (JSONL, CSV, YAML) to run as tests against evallock.yaml's target.",
    )
    group.addoption(
        "--evallock-config",
        default=None,
        metavar="PATH",
        help="The evallock.yaml to read (default: ./evallock.yaml, or EVALLOCK_CONFIG).",
    )
    group.addoption(
        "--evallock-concurrency",
        type=int,
        default=None,
        metavar="N",
        help="Requests in flight (default: run.concurrency of the config).",
    )
    group.addoption(
        "--evallock-record",
        action="store_true",
        default=False,
        help="Record each test's evallock_expect checks as eval records (an experiment run"
        " named pytest in evallock.yaml's store), with their keys.",
    )
    group.addoption(
        "--evallock-trials",
        type=int,
        default=None,
        metavar="K",
        help="Trials per case, decided by majority (default: run.trials of the config).",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Check the options and make sure each case file is collected."""
    files: list[str] = config.getoption("evallock")
    if not files:
        return
    if getattr(config.option, "numprocesses", None):
        raise pytest.UsageError(
            "--evallock runs each case file once, with evallock's own concurrency"
            " (--evallock-concurrency); drop -n, or run evallock's cases in a session of their own"
        )
    config.stash[_OUTCOMES] = {}
    config.addinivalue_line(
        "markers", "evallock_lock: a lock case (a fixed bug that must stay fixed)"
    )
    wanted = {str(Path(f).resolve()) for f in files}
    for path in wanted:
        if not Path(path).is_file():
            raise pytest.UsageError(f"--evallock {path}: no such case file")
    config.args[:] = [*config.args, *sorted(wanted - {str(Path(a).resolve()) for a in config.args})]


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> CaseFile | None:
    """A case file named by ``--evallock`` is collected as its cases."""
    files = parent.config.getoption("evallock")
    if files and str(file_path.resolve()) in {str(Path(f).resolve()) for f in files}:
        return CaseFile.from_parent(parent, path=file_path)
    return None


class CaseFile(pytest.File):
    """A case file: one item per case; the file runs once, when its first item runs."""

    outcome: EvalOutcome | None = None
    results: dict[str, CaseResult] | None = None

    def collect(self) -> Iterator[CaseItem]:
        from evallock.cases import open_cases
        from evallock.errors import CaseFileError, UsageError

        try:
            cases = list(open_cases(self.path))
        except (CaseFileError, UsageError) as exc:
            raise self.CollectError(str(exc)) from None
        for case in cases:
            item = CaseItem.from_parent(self, name=case.id)
            if case.is_lock:
                item.add_marker("evallock_lock")
            for key, value in sorted(case.keys.items()):
                item.user_properties.append((f"key.{key}", value))
            yield item

    def run_once(self) -> dict[str, CaseResult]:
        """Run the file through evallock (once) and keep each case's result."""
        if self.results is None:
            outcome, results = _run(self.config, self.path)
            self.outcome, self.results = outcome, results
            self.config.stash[_OUTCOMES][str(self.path)] = outcome
        return results if self.results is None else self.results


class EvalCaseFailure(Exception):
    """A case did not pass: the grader's reason, or what errored."""


class CaseItem(pytest.Item):
    """One case of a case file."""

    def runtest(self) -> None:
        parent = self.parent
        assert isinstance(parent, CaseFile)
        result = parent.run_once().get(self.name)
        if result is None:
            raise EvalCaseFailure("not run (the run stopped before this case)")
        lock = result.lock or self.get_closest_marker("evallock_lock") is not None
        if result.flaky:
            self.user_properties.append(("flaky", f"{result.trials_passed}/{result.trials}"))
        if result.errored:
            raise EvalCaseFailure(f"errored ({result.error_kind}): {result.error}")
        if not result.passed:
            head = "lock: a fixed bug came back: " if lock else ""
            trials = (
                f" ({result.trials_passed}/{result.trials} trials passed)"
                if result.trials > 1
                else ""
            )
            raise EvalCaseFailure(f"{head}{result.reason}{trials}\nanswer: {result.output}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, EvalCaseFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"evallock case {self.name}"


def _run(config: pytest.Config, path: Path) -> tuple[EvalOutcome, dict[str, CaseResult]]:
    """One gate run of a case file with evallock.yaml's settings (and the options given),
    and each case's result (read before the store is closed)."""
    from evallock.config import judge_of, load_settings, overlay, target_of
    from evallock.evaluation import EvalRequest, run_eval
    from evallock.store import open_store

    settings = load_settings(config.getoption("evallock_config"))
    target = target_of(settings)
    judge = judge_of(settings)
    options = overlay(
        settings.run,
        concurrency=config.getoption("evallock_concurrency"),
        trials=config.getoption("evallock_trials"),
    )
    request = EvalRequest(
        cases=str(path),
        target=target,
        judge=judge,
        options=options,
        thresholds=settings.gate,
        baseline=settings.baseline,
    )
    store = open_store(settings.store)
    try:
        outcome = run_eval(request, store)
        return outcome, {result.case_id: result for result in outcome.iter_results()}
    finally:
        store.close()


@pytest.fixture
def evallock_expect(request: pytest.FixtureRequest) -> Iterator[Any]:
    """``evallock_expect(answer, keys={...})``: :func:`evallock.assert_that` whose checks are
    recorded as this test's eval record (with ``--evallock-record``), keys included."""
    from evallock.expect import Expectation, assert_that

    made: list[Expectation] = []

    def expect(
        answer: str, *, question: str = "", keys: dict[str, str] | None = None
    ) -> Expectation:
        expectation = assert_that(answer, question=question, keys=keys)
        made.append(expectation)
        return expectation

    yield expect
    if made:
        request.config.stash.setdefault(_EXPECTED, []).append((request.node.nodeid, made))


def _record_expectations(config: pytest.Config) -> str | None:
    """Write the tests' checks as one experiment run; its id (None when there were none)."""
    import hashlib
    from datetime import UTC, datetime

    from evallock.config import load_settings
    from evallock.records import EvalRecord, Run, RunSummary
    from evallock.session import new_run_id
    from evallock.stats import wilson_interval
    from evallock.store import open_store

    expected = config.stash.get(_EXPECTED, [])
    if not expected:
        return None
    names = sorted(nodeid for nodeid, _ in expected)
    digest = hashlib.sha256("\n".join(names).encode()).hexdigest()[:12]
    run = Run(
        run_id=new_run_id(),
        dataset_id=f"pytest@{digest}",
        dataset_name="pytest",
        target_id="pytest",
        started_at=datetime.now(UTC),
        settings={"kind": "experiment", "source": "pytest evallock_expect"},
    )
    records = []
    for nodeid, expectations in expected:
        grades = [grade for e in expectations for grade in e.grades]
        failing = next((g for g in grades if not g.passed), None)
        keys: dict[str, str] = {}
        for expectation in expectations:
            keys.update(expectation.keys)
        records.append(
            EvalRecord(
                run_id=run.run_id,
                case_id=nodeid,
                trial=0,
                passed=failing is None,
                score=sum(g.score for g in grades) / len(grades) if grades else None,
                reason="ok" if failing is None else f"{failing.name}: {failing.reason}",
                output=expectations[-1].answer,
                grades=tuple(grades),
                keys=keys,
            )
        )
    passed = sum(r.passed for r in records)
    interval = wilson_interval(passed, len(records))
    summary = RunSummary(
        n=len(records),
        passed=passed,
        failed=len(records) - passed,
        errored=0,
        pass_rate=passed / len(records),
        pass_rate_ci=(interval.lo, interval.hi),
    )
    store = open_store(load_settings(config.getoption("evallock_config")).store)
    try:
        store.runs.create(run)
        store.runs.add_records(records)
        store.runs.finish(
            run.run_id,
            status="complete",
            verdict=None,
            summary=summary,
            baseline_run_id=None,
            finished_at=datetime.now(UTC),
        )
    finally:
        store.close()
    return run.run_id


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Each case file's gate: pass rate with its interval, locks, new failures, verdict."""
    recorded = config.stash.get(_RECORDED, None)
    if recorded:
        terminalreporter.line(f"evallock: the tests' checks recorded as run {recorded}")
    outcomes: dict[str, EvalOutcome] = config.stash.get(_OUTCOMES, {})
    for path, outcome in outcomes.items():
        gate = outcome.gate
        lo, hi = gate.pass_rate_ci.lo, gate.pass_rate_ci.hi
        terminalreporter.section(f"evallock: {Path(path).name}", sep="-")
        terminalreporter.line(
            f"pass rate {gate.pass_rate:.1%} ({gate.passed}/{gate.n}), 95% Wilson interval"
            f" [{lo:.1%}, {hi:.1%}]; locks failed {len(gate.locks_failed)};"
            f" new failures {len(gate.new_failures)}; flaky {len(gate.flaky)}"
        )
        for reason in gate.reasons:
            terminalreporter.line(f"  {reason}")
        verdict = "GATE PASSED" if gate.verdict == "pass" else "GATE FAILED"
        terminalreporter.line(f"{verdict} (run {outcome.run.run_id})", bold=True)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The session's exit status follows each case file's gate (and, with
    ``--evallock-record``, the tests' checks are written as a run)."""
    if session.config.getoption("evallock_record"):
        session.config.stash[_RECORDED] = _record_expectations(session.config)
    outcomes: dict[str, EvalOutcome] = session.config.stash.get(_OUTCOMES, {})
    if not outcomes:
        return
    if any(outcome.gate.verdict != "pass" for outcome in outcomes.values()):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        return
    if exitstatus != pytest.ExitCode.TESTS_FAILED:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    failed = reporter.stats.get("failed", []) if reporter is not None else []
    if failed and all(_is_case(report) for report in failed):
        session.exitstatus = pytest.ExitCode.OK  # every failure is a case of a passed gate


def _is_case(report: Any) -> bool:
    return "evallock case " in str(getattr(report, "location", ("", 0, ""))[2])
