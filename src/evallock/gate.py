"""The deploy gate: thresholds, locks and new failures against a baseline → a verdict.

A run fails the gate when any lock case fails (whatever the pass rate), when
its pass rate is below ``min_pass_rate``, or when more than ``max_new_failures``
cases that passed on the baseline run do not pass now. Errored cases count as
not passed and are listed apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from evallock.errors import ConfigError
from evallock.records import CaseResult
from evallock.stats import Interval, wilson_interval

__all__ = ["GateCounter", "GateResult", "GateThresholds", "evaluate_gate"]


@dataclass(frozen=True, kw_only=True, slots=True)
class GateThresholds:
    """When the gate fails: the config's ``gate:`` section and the gate flags."""

    min_pass_rate: float = 0.9
    """Lowest pass rate (point estimate) that passes."""
    max_new_failures: int = 0
    """Most cases allowed to pass on the baseline and fail now."""

    def __post_init__(self) -> None:
        """Refuse thresholds no gate can use.

        Raises:
            ConfigError: a pass rate outside [0, 1] or a negative count.
        """
        if not 0.0 <= self.min_pass_rate <= 1.0:
            raise ConfigError(f"min_pass_rate must be within [0, 1], got {self.min_pass_rate}")
        if self.max_new_failures < 0:
            raise ConfigError(f"max_new_failures must be 0 or more, got {self.max_new_failures}")


@dataclass(frozen=True, kw_only=True, slots=True)
class GateResult:
    """The gate's verdict and the figures behind it."""

    verdict: Literal["pass", "fail"]
    """``pass`` or ``fail``."""
    reasons: tuple[str, ...]
    """Why it failed, one line each (empty when it passed)."""
    n: int
    """Cases graded."""
    passed: int
    """Cases that passed."""
    failed: int
    """Cases that were answered and failed a grader."""
    errored: int
    """Cases where every trial errored (target, grader or judge)."""
    pass_rate: float
    """passed / n."""
    pass_rate_ci: Interval
    """95 % Wilson interval of the pass rate."""
    locks_failed: tuple[str, ...]
    """Lock cases that did not pass."""
    new_failures: tuple[str, ...]
    """Cases that passed on the baseline and do not pass now."""
    flaky: tuple[str, ...]
    """Cases whose trials disagree."""
    errored_ids: tuple[str, ...]
    """Cases that errored."""
    baseline_run_id: str | None
    """The run compared with, if any."""
    thresholds: GateThresholds = field(default_factory=GateThresholds)
    """What the run was held to."""

    @property
    def exit_code(self) -> int:
        """0 when the gate passed, 1 when it failed."""
        return 0 if self.verdict == "pass" else 1


class GateCounter:
    """Folds case results into a :class:`GateResult` as they stream by.

    Keeps counts and the ids the verdict lists (locks failed, new failures,
    flaky, errored), never the results: memory grows with the failures, not
    with the number of cases.
    """

    def __init__(self) -> None:
        self.n = 0
        """Cases counted so far."""
        self.passed = 0
        """Of which passed."""
        self.target_errored = 0
        """Of which errored because the target failed."""
        self.errored_ids: list[str] = []
        self.locks_failed: list[str] = []
        self.new_failures: list[str] = []
        self.flaky: list[str] = []

    def add(self, result: CaseResult, *, passed_before: bool | None = None) -> None:
        """Count one case; ``passed_before`` is whether it passed on the baseline run."""
        self.n += 1
        if result.passed:
            self.passed += 1
        elif passed_before:
            self.new_failures.append(result.case_id)
        if result.errored:
            self.errored_ids.append(result.case_id)
            if result.error_kind == "target":
                self.target_errored += 1
        if result.lock and not result.passed:
            self.locks_failed.append(result.case_id)
        if result.flaky:
            self.flaky.append(result.case_id)

    def result(
        self, *, thresholds: GateThresholds, baseline_run_id: str | None = None
    ) -> GateResult:
        """The verdict over every case counted."""
        n, passed = self.n, self.passed
        pass_rate = passed / n if n else 0.0
        new_failures = tuple(self.new_failures)
        reasons: list[str] = []
        if self.locks_failed:
            reasons.append(f"lock case failed: {', '.join(self.locks_failed)}")
        if n == 0:
            reasons.append("no case was graded")
        elif pass_rate < thresholds.min_pass_rate:
            reasons.append(
                f"pass rate {pass_rate:.1%} ({passed}/{n}) is below "
                f"min_pass_rate {thresholds.min_pass_rate:.1%}"
            )
        if len(new_failures) > thresholds.max_new_failures:
            reasons.append(
                f"{len(new_failures)} new failure(s) against baseline {baseline_run_id} "
                f"(allowed {thresholds.max_new_failures}): {', '.join(new_failures[:10])}"
                + (" …" if len(new_failures) > 10 else "")
            )
        return GateResult(
            verdict="fail" if reasons else "pass",
            reasons=tuple(reasons),
            n=n,
            passed=passed,
            failed=n - passed - len(self.errored_ids),
            errored=len(self.errored_ids),
            pass_rate=pass_rate,
            pass_rate_ci=wilson_interval(passed, n),
            locks_failed=tuple(self.locks_failed),
            new_failures=new_failures,
            flaky=tuple(self.flaky),
            errored_ids=tuple(self.errored_ids),
            baseline_run_id=baseline_run_id,
            thresholds=thresholds,
        )


def evaluate_gate(
    results: Iterable[CaseResult],
    *,
    thresholds: GateThresholds,
    baseline: Mapping[str, bool] | None = None,
    baseline_run_id: str | None = None,
) -> GateResult:
    """Decide the gate for a run's case results.

    Args:
        results: one result per case (trials already folded).
        thresholds: pass-rate floor and new-failure allowance.
        baseline: case id → passed on the baseline run; None when there is none.
        baseline_run_id: the baseline's id, for the report.
    """
    counter = GateCounter()
    for result in results:
        before = baseline.get(result.case_id) if baseline is not None else None
        counter.add(result, passed_before=before)
    return counter.result(thresholds=thresholds, baseline_run_id=baseline_run_id)
