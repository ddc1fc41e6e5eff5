"""The gate: thresholds, locks, new failures, errored cases, Wilson interval."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from evallock.gate import GateThresholds, evaluate_gate
from evallock.records import CaseResult


def result(
    case_id: str,
    passed: bool,
    *,
    lock: bool = False,
    error: str | None = None,
    trials: int = 1,
    trials_passed: int | None = None,
) -> CaseResult:
    return CaseResult(
        case_id=case_id,
        passed=passed,
        score=None if error else float(passed),
        reason="ok" if passed else "expected to contain 'x'",
        output=None if error else "out",
        error=error,
        error_kind="target" if error else None,
        trials=trials,
        trials_passed=(trials if passed else 0) if trials_passed is None else trials_passed,
        lock=lock,
    )


def test_passes_at_the_threshold_and_fails_below() -> None:
    results = [result(f"c{i}", i < 9) for i in range(10)]
    gate = evaluate_gate(results, thresholds=GateThresholds(min_pass_rate=0.9))
    assert gate.verdict == "pass" and gate.exit_code == 0 and gate.pass_rate == 0.9
    gate = evaluate_gate(results, thresholds=GateThresholds(min_pass_rate=0.91))
    assert gate.verdict == "fail" and gate.exit_code == 1
    assert gate.reasons == ("pass rate 90.0% (9/10) is below min_pass_rate 91.0%",)


def test_a_failing_lock_fails_the_gate_whatever_the_pass_rate() -> None:
    results = [result(f"c{i}", True) for i in range(99)] + [result("lock-1", False, lock=True)]
    gate = evaluate_gate(results, thresholds=GateThresholds(min_pass_rate=0.5))
    assert gate.verdict == "fail"
    assert gate.locks_failed == ("lock-1",)
    assert gate.reasons == ("lock case failed: lock-1",)


def test_an_errored_lock_fails_the_gate_but_is_never_called_a_returned_bug() -> None:
    results = [result(f"c{i}", True) for i in range(9)]
    results.append(result("lock-1", False, lock=True, error="'plan' is undefined"))
    gate = evaluate_gate(results, thresholds=GateThresholds(min_pass_rate=0.5))
    assert gate.verdict == "fail"
    assert gate.locks_failed == () and gate.locks_errored == ("lock-1",)
    assert gate.reasons == ("lock case errored, so it could not be checked: lock-1",)


def test_new_failures_against_baseline() -> None:
    results = [result("a", False), result("b", False), result("c", True)]
    baseline = {"a": True, "b": False, "c": True}
    gate = evaluate_gate(
        results,
        thresholds=GateThresholds(min_pass_rate=0.0, max_new_failures=0),
        baseline=baseline,
        baseline_run_id="r1",
    )
    assert gate.new_failures == ("a",) and gate.verdict == "fail"
    assert "1 new failure(s) against baseline r1" in gate.reasons[0]
    relaxed = evaluate_gate(
        results, thresholds=GateThresholds(min_pass_rate=0.0, max_new_failures=1), baseline=baseline
    )
    assert relaxed.verdict == "pass"


def test_no_baseline_means_no_new_failures() -> None:
    gate = evaluate_gate([result("a", False)], thresholds=GateThresholds(min_pass_rate=0.0))
    assert gate.new_failures == () and gate.baseline_run_id is None


def test_errored_cases_count_as_not_passed_and_are_listed_apart() -> None:
    results = [result("a", True), result("b", False), result("c", False, error="HTTP 500")]
    gate = evaluate_gate(results, thresholds=GateThresholds(min_pass_rate=0.0))
    assert (gate.passed, gate.failed, gate.errored) == (1, 1, 1)
    assert gate.errored_ids == ("c",)
    assert abs(gate.pass_rate - 1 / 3) < 1e-12


def test_flaky_cases_are_listed() -> None:
    results = [result("a", True, trials=3, trials_passed=2), result("b", True, trials=3)]
    gate = evaluate_gate(results, thresholds=GateThresholds())
    assert gate.flaky == ("a",)


def test_empty_run_fails() -> None:
    gate = evaluate_gate([], thresholds=GateThresholds(min_pass_rate=0.0))
    assert gate.verdict == "fail" and gate.reasons == ("no case was graded",)


def test_wilson_interval_reference_value() -> None:
    # 9/10 at 95 %: Wilson (0.5958, 0.9821) — standard textbook value.
    gate = evaluate_gate([result(f"c{i}", i < 9) for i in range(10)], thresholds=GateThresholds())
    assert abs(gate.pass_rate_ci.lo - 0.5958) < 1e-3 and abs(gate.pass_rate_ci.hi - 0.9821) < 1e-3


@given(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=60))
def test_gate_properties(rows: list[tuple[bool, bool]]) -> None:
    results = [result(f"c{i}", passed, lock=lock) for i, (passed, lock) in enumerate(rows)]
    gate = evaluate_gate(results, thresholds=GateThresholds(min_pass_rate=0.0))
    assert gate.pass_rate_ci.lo <= gate.pass_rate <= gate.pass_rate_ci.hi
    assert gate.passed + gate.failed + gate.errored == gate.n
    assert (gate.verdict == "fail") == any(lock and not passed for passed, lock in rows)


# --- the confidence rule and the separation note (issue 12, item 8) ---


def test_lower_bound_rule_needs_the_interval_above_the_threshold() -> None:
    from evallock.stats import wilson_interval

    rule = GateThresholds(min_pass_rate=0.9, gate_on="lower-bound")
    for passed in range(20, 29):
        results = [result(f"c{i}", i < passed) for i in range(28)]
        gate = evaluate_gate(results, thresholds=rule)
        lower = wilson_interval(passed, 28, 0.95, side="lower").lo
        assert (gate.verdict == "pass") == (lower >= 0.9), passed
    # the point rule passes 26/28 (92.9 %), the lower-bound rule does not
    results = [result(f"c{i}", i < 26) for i in range(28)]
    assert evaluate_gate(results, thresholds=GateThresholds(min_pass_rate=0.9)).verdict == "pass"
    failed = evaluate_gate(results, thresholds=rule)
    assert failed.verdict == "fail" and "lower 95% bound" in failed.reasons[0]


def test_an_unknown_rule_is_refused() -> None:
    import pytest

    from evallock.errors import ConfigError

    with pytest.raises(ConfigError, match="gate_on must be one of point, lower-bound"):
        GateThresholds(gate_on="median")  # type: ignore[arg-type]


def test_separation_is_the_exact_binomial_error_of_the_rule() -> None:
    from scipy.stats import binom

    from evallock.gate import separation
    from evallock.stats import wilson_interval

    # the figures: n = 28, threshold 0.9, point rule
    s = separation(28, 0.9)
    assert s is not None
    assert s.bad_passes == pytest_approx(binom.sf(25, 28, 0.85))  # 26+ of 28 pass
    assert s.good_fails == pytest_approx(binom.cdf(25, 28, 0.95))
    assert round(s.bad_passes, 2) == 0.19 and round(s.good_fails, 2) == 0.16
    assert s.warning is not None and "about" in s.warning
    # the n it names does separate them (both errors at most 10 %)
    assert s.n_needed is not None
    need = next(k for k in range(s.n_needed + 1) if k / s.n_needed >= 0.9)
    assert binom.sf(need - 1, s.n_needed, 0.85) <= 0.10
    assert binom.cdf(need - 1, s.n_needed, 0.95) <= 0.10
    # lower-bound rule: the passes needed are where the Wilson bound reaches 0.9
    lb = separation(28, 0.9, gate_on="lower-bound")
    assert lb is not None
    need = min(k for k in range(29) if wilson_interval(k, 28, 0.95, side="lower").lo >= 0.9)
    assert lb.good_fails == pytest_approx(binom.cdf(need - 1, 28, 0.95))
    # enough cases: no note
    big = separation(400, 0.9)
    assert big is not None and big.n_needed is None and big.warning is None


def test_separation_matches_simulated_verdicts() -> None:
    """A seeded simulation of the gate's verdicts agrees with the stated error rates."""
    import random

    from evallock.gate import separation

    rng = random.Random(12)
    rule = GateThresholds(min_pass_rate=0.9)
    sims = 2000
    passes = 0
    for _ in range(sims):
        results = [result(f"c{i}", rng.random() < 0.85) for i in range(28)]
        passes += evaluate_gate(results, thresholds=rule).verdict == "pass"
    s = separation(28, 0.9)
    assert s is not None
    se = (s.bad_passes * (1 - s.bad_passes) / sims) ** 0.5
    assert abs(passes / sims - s.bad_passes) < 4 * se


def test_the_gate_result_carries_the_note() -> None:
    results = [result(f"c{i}", True) for i in range(10)]
    gate = evaluate_gate(results, thresholds=GateThresholds(min_pass_rate=0.9))
    assert gate.verdict == "pass"
    assert gate.warnings and gate.warnings[0].startswith("10 cases are too few")


def pytest_approx(value: float) -> object:
    import pytest

    return pytest.approx(value, rel=1e-9, abs=1e-12)
