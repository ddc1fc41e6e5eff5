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
