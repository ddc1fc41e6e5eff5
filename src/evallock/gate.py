"""The deploy gate: thresholds, locks and new failures against a baseline → a verdict.

A run fails the gate when any lock case fails (whatever the pass rate), when
its pass rate is below ``min_pass_rate``, or when more than ``max_new_failures``
cases that passed on the baseline run do not pass now. Errored cases count as
not passed and are listed apart.

The pass rate is held to the threshold by its point estimate (``gate_on:
point``, the default: a run at the threshold passes) or by the lower bound of its
one-sided 95 % Wilson interval (``gate_on: lower-bound``: the run must show it is
above the threshold; fewer good services slip through small n, more are held
back). Either way the result says when the run has too few cases for the rule to
tell a service ``SEPARATION_MARGIN`` below the threshold from one as far above
it, with the binomial error rates and about how many cases would (:func:`separation`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

from evallock.errors import ConfigError
from evallock.records import CaseResult
from evallock.stats import Interval, wilson_interval

__all__ = [
    "SEPARATION_MARGIN",
    "GateCounter",
    "GateOn",
    "GateResult",
    "GateThresholds",
    "Separation",
    "evaluate_gate",
    "separation",
]

GateOn = Literal["point", "lower-bound"]
"""How the pass rate is held to ``min_pass_rate``."""
LOWER_BOUND_CONFIDENCE = 0.95
"""The one-sided Wilson lower bound ``gate_on: lower-bound`` compares."""
SEPARATION_MARGIN = 0.05
"""How far from the threshold a service counts as clearly good or clearly bad."""
SEPARATION_ERROR = 0.10
"""The most often a clearly good service may fail, or a clearly bad one pass."""
_EXACT_UP_TO = 20_000
"""Above this many cases a margin of 0.05 is always separated; nothing is computed."""


@dataclass(frozen=True, kw_only=True, slots=True)
class GateThresholds:
    """When the gate fails: the config's ``gate:`` section and the gate flags."""

    min_pass_rate: float = 0.9
    """Lowest pass rate (point estimate) that passes."""
    max_new_failures: int = 0
    """Most cases allowed to pass on the baseline and fail now."""
    gate_on: GateOn = "point"
    """``point``: the pass rate itself must reach ``min_pass_rate``; ``lower-bound``:
    the lower bound of its one-sided 95 % Wilson interval must."""

    def __post_init__(self) -> None:
        """Refuse thresholds no gate can use.

        Raises:
            ConfigError: a pass rate outside [0, 1], a negative count or an unknown rule.
        """
        if self.gate_on not in get_args(GateOn):
            raise ConfigError(
                f"gate_on must be one of {', '.join(get_args(GateOn))}, got {self.gate_on!r}"
            )
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
    """Lock cases that were answered and failed their checks: a fixed bug came back."""
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
    locks_errored: tuple[str, ...] = ()
    """Lock cases that errored (target, template, grader or judge): not checked, so the
    gate fails, but nothing says the bug is back."""
    separation: Separation | None = None
    """How well this many cases tell a good service from a bad one under the rule
    (None with no case, or with more cases than it takes)."""
    warnings: tuple[str, ...] = ()
    """What the reader should know about the verdict (too few cases to separate …)."""

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
        self.locks_errored: list[str] = []
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
            (self.locks_errored if result.errored else self.locks_failed).append(result.case_id)
        if result.flaky:
            self.flaky.append(result.case_id)

    def result(
        self,
        *,
        thresholds: GateThresholds,
        baseline_run_id: str | None = None,
        baseline_note: str | None = None,
    ) -> GateResult:
        """The verdict over every case counted."""
        n, passed = self.n, self.passed
        pass_rate = passed / n if n else 0.0
        new_failures = tuple(self.new_failures)
        reasons: list[str] = []
        if self.locks_failed:
            reasons.append(f"lock case failed: {', '.join(self.locks_failed)}")
        if self.locks_errored:
            reasons.append(
                f"lock case errored, so it could not be checked: {', '.join(self.locks_errored)}"
            )
        if n == 0:
            reasons.append("no case was graded")
        elif thresholds.gate_on == "lower-bound":
            lower = wilson_interval(passed, n, LOWER_BOUND_CONFIDENCE, side="lower").lo
            if lower < thresholds.min_pass_rate:
                reasons.append(
                    f"pass rate {pass_rate:.1%} ({passed}/{n}): the lower 95% bound "
                    f"{lower:.1%} is below min_pass_rate {thresholds.min_pass_rate:.1%}"
                )
        elif pass_rate < thresholds.min_pass_rate:
            reasons.append(
                f"pass rate {pass_rate:.1%} ({passed}/{n}) is below "
                f"min_pass_rate {thresholds.min_pass_rate:.1%}"
            )
        apart = separation(n, thresholds.min_pass_rate, gate_on=thresholds.gate_on) if n else None
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
            locks_errored=tuple(self.locks_errored),
            new_failures=new_failures,
            flaky=tuple(self.flaky),
            errored_ids=tuple(self.errored_ids),
            baseline_run_id=baseline_run_id,
            thresholds=thresholds,
            separation=apart,
            warnings=tuple(
                w for w in (baseline_note, apart.warning if apart else None) if w is not None
            ),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class Separation:
    """Whether ``n`` cases let the gate's rule tell a good service from a bad one.

    A *bad* service's true pass rate is ``margin`` below the threshold, a *good*
    one's ``margin`` above (clipped to [0, 1]); the error rates are exact binomial
    probabilities of the rule's verdict over cases (trials folded by majority).
    """

    n: int
    """Cases graded."""
    threshold: float
    """``min_pass_rate``."""
    gate_on: GateOn
    """The rule."""
    bad: float
    """The bad service's pass rate."""
    good: float
    """The good service's pass rate."""
    bad_passes: float
    """Probability that the bad service passes."""
    good_fails: float
    """Probability that the good service fails."""
    n_needed: int | None
    """About how many cases keep both below :data:`SEPARATION_ERROR` (None: already do)."""

    @property
    def warning(self) -> str | None:
        """One line for the report when this many cases cannot separate the two."""
        if self.n_needed is None:
            return None
        rule = "its lower 95% bound" if self.gate_on == "lower-bound" else "its pass rate"
        return (
            f"{self.n} cases are too few for min_pass_rate {self.threshold:.0%} (judged by {rule}):"
            f" a service at {self.bad:.0%} passes {self.bad_passes:.0%} of the time and one at"
            f" {self.good:.0%} fails {self.good_fails:.0%}; about {self.n_needed} cases"
            f" would keep both under {SEPARATION_ERROR:.0%}"
        )


def separation(
    n: int, threshold: float, *, gate_on: GateOn = "point", margin: float = SEPARATION_MARGIN
) -> Separation | None:
    """How often ``n`` cases give the wrong verdict for a service ``margin`` off the threshold.

    Exact binomial tails (pure Python, no numpy at start-up); None when ``n`` is 0 or
    so large that the margin is always separated.

    >>> s = separation(28, 0.9)
    >>> round(s.bad_passes, 2), round(s.good_fails, 2), s.n_needed is not None
    (0.19, 0.16, True)
    """
    if n <= 0 or n > _EXACT_UP_TO:
        return None
    bad, good = max(threshold - margin, 0.0), min(threshold + margin, 1.0)

    def errors(cases: int) -> tuple[float, float]:
        need = _passes_needed(cases, threshold, gate_on)
        return _tail(cases, bad, need), 1.0 - _tail(cases, good, need)

    bad_passes, good_fails = errors(n)
    n_needed = None
    if max(bad_passes, good_fails) > SEPARATION_ERROR:
        low, high = n, n
        while max(errors(high)) > SEPARATION_ERROR and high < _EXACT_UP_TO:
            low, high = high, min(high * 2, _EXACT_UP_TO)
        while high - low > max(1, low // 100):  # within 1 %: the tails are not monotone in n
            mid = (low + high) // 2
            low, high = (low, mid) if max(errors(mid)) <= SEPARATION_ERROR else (mid, high)
        n_needed = high
    return Separation(
        n=n,
        threshold=threshold,
        gate_on=gate_on,
        bad=bad,
        good=good,
        bad_passes=bad_passes,
        good_fails=good_fails,
        n_needed=n_needed,
    )


def _passes_needed(n: int, threshold: float, gate_on: GateOn) -> int:
    """The fewest passes out of ``n`` that pass the rule (``n + 1``: none can)."""
    if gate_on == "point":
        need = math.ceil(threshold * n - 1e-9)
        return max(need, 0)
    low, high = 0, n + 1  # the Wilson lower bound grows with the passes
    while low < high:
        mid = (low + high) // 2
        if wilson_interval(mid, n, LOWER_BOUND_CONFIDENCE, side="lower").lo >= threshold:
            high = mid
        else:
            low = mid + 1
    return low


def _tail(n: int, p: float, k: int) -> float:
    """P(X >= k) for X ~ Binomial(n, p), summed in log space."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    if p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    log_p, log_q = math.log(p), math.log1p(-p)
    base = math.lgamma(n + 1)
    return min(
        1.0,
        math.fsum(
            math.exp(
                base - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p + (n - i) * log_q
            )
            for i in range(k, n + 1)
        ),
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
