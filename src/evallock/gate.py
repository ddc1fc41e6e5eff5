"""The deploy gate: thresholds, locks and new failures against a baseline → a verdict.

A run fails the gate when any lock case fails (whatever the pass rate), when
its pass rate is below ``min_pass_rate``, or when more than ``max_new_failures``
cases that passed on the baseline run do not pass now. Errored cases count as
not passed and are listed apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from evallock.records import CaseResult
from evallock.stats import Interval, wilson_interval

__all__ = ["GateResult", "GateThresholds", "evaluate_gate"]


@dataclass(frozen=True, kw_only=True, slots=True)
class GateThresholds:
    """When the gate fails."""

    min_pass_rate: float = 0.9
    """Lowest pass rate (point estimate) that passes."""
    max_new_failures: int = 0
    """Most cases allowed to pass on the baseline and fail now."""


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


def evaluate_gate(
    results: Sequence[CaseResult],
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
    n = len(results)
    passed_ids = [r.case_id for r in results if r.passed]
    errored_ids = tuple(r.case_id for r in results if r.errored)
    failed = n - len(passed_ids) - len(errored_ids)
    pass_rate = len(passed_ids) / n if n else 0.0
    locks_failed = tuple(r.case_id for r in results if r.lock and not r.passed)
    new_failures: tuple[str, ...] = ()
    if baseline is not None:
        new_failures = tuple(r.case_id for r in results if not r.passed and baseline.get(r.case_id))
    reasons: list[str] = []
    if locks_failed:
        reasons.append(f"lock case failed: {', '.join(locks_failed)}")
    if n == 0:
        reasons.append("no case was graded")
    elif pass_rate < thresholds.min_pass_rate:
        reasons.append(
            f"pass rate {pass_rate:.1%} ({len(passed_ids)}/{n}) is below "
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
        passed=len(passed_ids),
        failed=failed,
        errored=len(errored_ids),
        pass_rate=pass_rate,
        pass_rate_ci=wilson_interval(len(passed_ids), n),
        locks_failed=locks_failed,
        new_failures=new_failures,
        flaky=tuple(r.case_id for r in results if r.flaky),
        errored_ids=errored_ids,
        baseline_run_id=baseline_run_id,
        thresholds=thresholds,
    )
