"""A case's graders and the combined verdict."""

from __future__ import annotations

from dataclasses import dataclass

import anyio
import pytest

from evallock.errors import JudgeError
from evallock.graders import (
    DRIFT_RUBRIC,
    MATCHES_EXPECTED,
    REFERENCE_RUBRIC,
    GradeContext,
    JudgeGrader,
    Verdict,
    build_graders,
    case_weights,
    combine,
    parse_assertion,
    run_graders,
)
from evallock.records import Case, CaseJudge, Completion, Grade

EXPECTED = "Yes; duplicate charges are refunded within 5 business days."


def make_case(**kwargs) -> Case:
    return Case(id="refund-017", input="Charged twice, refund?", **kwargs)


def test_graders_come_in_order_assertions_then_rules_then_judge() -> None:
    case = make_case(
        expected=EXPECTED,
        asserts=(
            parse_assertion({"type": "icontains", "value": "5 business days"}),
            parse_assertion({"type": "not-icontains", "value": "30 days"}),
            parse_assertion({"type": MATCHES_EXPECTED, "value": EXPECTED}),
        ),
        judge=CaseJudge(rubric="Promises a refund?", pass_score=4),
    )
    graders = build_graders(case)
    assert [g.name for g in graders] == ["icontains", "not-icontains", MATCHES_EXPECTED, "judge"]
    assert graders[-1] == JudgeGrader(rubric="Promises a refund?", pass_score=4)


def test_no_judge_without_a_judge_spec() -> None:
    assert build_graders(make_case(asserts=(parse_assertion({"type": "is-json"}),))) != []
    assert all(g.name != "judge" for g in build_graders(make_case(expected=EXPECTED)))


@pytest.mark.parametrize(
    ("rubric", "default", "expected", "chosen"),
    [
        ("Case rubric", "Flag rubric", EXPECTED, "Case rubric"),
        ("", "Flag rubric", EXPECTED, "Flag rubric"),
        ("  ", None, EXPECTED, REFERENCE_RUBRIC),
        ("", None, None, DRIFT_RUBRIC),
    ],
)
def test_judge_rubric_precedence(rubric, default, expected, chosen) -> None:
    case = make_case(expected=expected, judge=CaseJudge(rubric=rubric))
    (grader,) = build_graders(case, default_rubric=default, judge_params={"temperature": 0})
    assert isinstance(grader, JudgeGrader)
    assert (grader.rubric, grader.params) == (chosen, {"temperature": 0})


def test_bad_pass_score_is_rejected() -> None:
    with pytest.raises(ValueError, match="pass_score must be 1-5, got 6"):
        build_graders(make_case(judge=CaseJudge(rubric="x", pass_score=6)))


def g(name: str, passed: bool, score: float, reason: str = "r", **kw) -> Grade:
    return Grade(name=name, passed=passed, score=score, reason=reason, **kw)


def test_combine_all_pass() -> None:
    verdict = combine([g("contains", True, 1.0), g("judge", True, 0.75, judge_score=4)])
    assert verdict == Verdict(passed=True, score=0.875, reason="ok", judge_score=4)


def test_combine_reports_the_first_failure() -> None:
    verdict = combine([
        g("contains", True, 1.0),
        g("regex", False, 0.0, "expected to match /x/"),
        g("judge", False, 0.25, "score 2/5: vague", judge_score=2),
    ])  # fmt: skip
    assert (verdict.passed, verdict.reason, verdict.judge_score) == (
        False,
        "regex: expected to match /x/",
        2,
    )
    assert verdict.score == pytest.approx(1.25 / 3)
    assert verdict.error is None


def test_combine_surfaces_the_first_error() -> None:
    bad = "judge reply could not be parsed: no JSON object"
    verdict = combine([
        g("contains", True, 1.0),
        g("judge", False, 0.0, bad, error=bad, error_kind="judge"),
    ])  # fmt: skip
    assert verdict == Verdict(
        passed=False, score=0.5, reason=f"judge: {bad}", error=bad, error_kind="judge"
    )


def test_an_error_never_passes_even_if_marked_passed() -> None:
    verdict = combine([g("odd", True, 1.0, error="boom", error_kind="grader")])
    assert (verdict.passed, verdict.error, verdict.reason) == (False, "boom", "odd: r")


def test_combine_of_nothing_is_an_error() -> None:
    verdict = combine([])
    assert not verdict.passed
    assert verdict.error_kind == "grader"


def test_weights_set_the_score_and_weight_zero_reports_without_gating() -> None:
    grades = [g("contains", True, 1.0), g("regex", False, 0.0, "no match"), g("judge", True, 0.5)]
    verdict = combine(grades, weights=[3.0, 0.0, 1.0])
    assert verdict.passed  # the weight-0 regex is reported, it does not gate
    assert verdict.score == pytest.approx((3 * 1.0 + 0.5) / 4)
    assert not combine(grades, weights=[3.0, 0.5, 1.0]).passed


@pytest.mark.parametrize(
    ("threshold", "passed", "reason"),
    [
        (0.7, True, "score 0.75 ≥ threshold 0.7"),
        (0.8, False, "score 0.75 < threshold 0.8; regex: no match"),
    ],
)
def test_a_case_threshold_passes_on_the_weighted_score(threshold, passed, reason) -> None:
    grades = [g("contains", True, 1.0), g("regex", False, 0.0, "no match")]
    verdict = combine(grades, weights=[3.0, 1.0], threshold=threshold)
    assert (verdict.passed, verdict.reason, verdict.score) == (passed, reason, 0.75)


def test_an_error_fails_the_case_whatever_its_weight_or_the_threshold() -> None:
    grades = [
        g("contains", True, 1.0),
        g("odd", False, 0.0, "x", error="boom", error_kind="grader"),
    ]
    assert not combine(grades, weights=[1.0, 0.0]).passed
    verdict = combine(grades, weights=[9.0, 1.0], threshold=0.5)
    assert (verdict.passed, verdict.error) == (False, "boom")


def test_weights_must_match_the_grades() -> None:
    with pytest.raises(ValueError, match="1 weights for 2 grades"):
        combine([g("a", True, 1.0), g("b", True, 1.0)], weights=[1.0])


def test_case_weights_follow_the_graders_order() -> None:
    case = make_case(
        asserts=(
            parse_assertion({"type": "icontains", "value": "refund", "weight": 2}),
            parse_assertion({"type": "is-json", "weight": 0}),
        ),
        judge=CaseJudge(rubric="Promises a refund?", weight=0.5),
    )
    assert case_weights(case) == [2.0, 0.0, 0.5]
    assert len(build_graders(case)) == 3


@dataclass(frozen=True)
class Raises:
    exc: Exception
    name: str = "plugin"

    async def grade(self, ctx: GradeContext) -> Grade:
        raise self.exc


def context() -> GradeContext:
    return GradeContext(
        case=make_case(), output="ok", completion=Completion(text="ok", latency_ms=1.0)
    )


def test_run_graders_keeps_a_raising_grader_as_data() -> None:
    graders = [Raises(ZeroDivisionError("division by zero")), *build_graders(
        make_case(asserts=(parse_assertion({"type": "contains", "value": "ok"}),)))]  # fmt: skip
    grades = anyio.run(run_graders, graders, context())
    assert [x.name for x in grades] == ["plugin", "contains"]
    assert grades[0].error == "grader raised ZeroDivisionError: division by zero"
    assert grades[0].error_kind == "grader"
    assert grades[1].passed


def test_run_graders_lets_an_outage_stop_the_run() -> None:
    with pytest.raises(JudgeError):
        anyio.run(run_graders, [Raises(JudgeError("judge down"))], context())


def test_end_to_end_case_with_rules_and_judge(make_judge) -> None:
    case = make_case(
        expected=EXPECTED,
        asserts=(
            parse_assertion({"type": "icontains", "value": "5 business days"}),
            parse_assertion({"type": MATCHES_EXPECTED, "value": EXPECTED}),
        ),
        judge=CaseJudge(rubric="Promises a refund?"),
    )
    answer = "Yes; duplicate charges are refunded within 5 business days!"
    ctx = GradeContext(
        case=case,
        output=answer,
        completion=Completion(text=answer, latency_ms=10.0),
        judge=make_judge('{"score": 5, "reason": "exact"}'),
    )
    verdict = combine(anyio.run(run_graders, build_graders(case), ctx))
    assert verdict == Verdict(passed=True, score=1.0, reason="ok", judge_score=5)
