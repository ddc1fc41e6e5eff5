"""A case's grader suite: which graders grade it, and their combined verdict."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evallock.errors import EvallockError
from evallock.graders._base import GradeContext, Grader
from evallock.graders._common import error_grade
from evallock.graders.judge import DRIFT_RUBRIC, REFERENCE_RUBRIC, JudgeGrader
from evallock.graders.registry import build_grader
from evallock.records import Case, CaseJudge, ErrorKind, Grade

__all__ = [
    "Verdict",
    "build_graders",
    "build_judge_grader",
    "case_weights",
    "combine",
    "run_graders",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class Verdict:
    """The combined verdict of all graders on one answer."""

    passed: bool
    """Every gating grader passed (or the score reached the case's threshold), none errored."""
    score: float
    """Weighted mean of the graders' scores, 0–1."""
    reason: str
    """``name: reason`` of the first failing grader, or ``ok``."""
    judge_score: int | None = None
    """The judge's 1–5 score, when a judge graded."""
    error: str | None = None
    """The first grader error, if any."""
    error_kind: ErrorKind | None = None
    """Its kind (``grader`` or ``judge``)."""


def build_judge_grader(
    spec: CaseJudge,
    *,
    has_reference: bool,
    default_rubric: str | None = None,
    params: Mapping[str, Any] | None = None,
) -> JudgeGrader:
    """The judge grader for a case's :class:`CaseJudge`.

    The rubric is the case's own; when it is empty (the short form ``grader:
    judge``) it is ``default_rubric`` (``--rubric``), else
    :data:`REFERENCE_RUBRIC` when the case has an expected answer, else
    :data:`DRIFT_RUBRIC`.

    Raises:
        ValueError: when ``pass_score`` is not 1–5.
    """
    if not 1 <= spec.pass_score <= 5:
        raise ValueError(f"judge pass_score must be 1-5, got {spec.pass_score}")
    rubric = spec.rubric.strip() or (default_rubric or "").strip()
    if not rubric:
        rubric = REFERENCE_RUBRIC if has_reference else DRIFT_RUBRIC
    return JudgeGrader(rubric=rubric, pass_score=spec.pass_score, params=dict(params or {}))


def build_graders(
    case: Case,
    *,
    default_rubric: str | None = None,
    judge_params: Mapping[str, Any] | None = None,
) -> list[Grader]:
    """The graders for a case: its assertions in order, then the judge if it has one.

    The short form ``grader: rules`` reaches here as a ``matches-expected``
    assertion among ``case.asserts`` (the loader adds it); ``grader: judge`` as
    ``case.judge`` with an empty rubric.

    Args:
        case: the case.
        default_rubric: the rubric for judged cases that give none (``--rubric``).
        judge_params: the judge's sampling params, part of its version.

    Raises:
        ValueError: an assertion that does not validate (cases are validated at
            load, so this means one was built by hand).
    """
    graders = [build_grader(a) for a in case.asserts]
    if case.judge is not None:
        graders.append(
            build_judge_grader(
                case.judge,
                has_reference=case.expected is not None,
                default_rubric=default_rubric,
                params=judge_params,
            )
        )
    return graders


async def run_graders(graders: Sequence[Grader], ctx: GradeContext) -> list[Grade]:
    """Grade one answer with each grader, in order.

    A grader that raises (a plugin's bug) becomes an error grade; an
    :class:`~evallock.errors.EvallockError` (the judge unreachable after
    retries) stops the run and is re-raised.
    """
    grades: list[Grade] = []
    for grader in graders:
        try:
            grades.append(await grader.grade(ctx))
        except EvallockError:
            raise
        except Exception as exc:
            grades.append(error_grade(grader.name, f"grader raised {type(exc).__name__}: {exc}"))
    return grades


def combine(
    grades: Sequence[Grade],
    *,
    weights: Sequence[float] | None = None,
    threshold: float | None = None,
) -> Verdict:
    """Combine grades into the case's verdict, as promptfoo scores a test.

    The score is the weighted mean of the grades' scores (equal weights when none
    are given). Without a ``threshold`` every grade with a weight above 0 must pass
    (weight 0: reported, never gating); with one, the score must reach it. A grader
    error fails the case whatever its weight: an unchecked answer is not a pass.
    No grades at all is not a pass either: a case nothing checked is a grader error.
    """
    if not grades:
        message = "no graders: the case has no assertions, expected answer or judge"
        return Verdict(passed=False, score=0.0, reason=message, error=message, error_kind="grader")
    shares = [1.0] * len(grades) if weights is None else list(weights)
    if len(shares) != len(grades):
        raise ValueError(f"{len(shares)} weights for {len(grades)} grades")
    total = sum(shares)
    score = (
        sum(g.score * w for g, w in zip(grades, shares, strict=True)) / total
        if total > 0
        else sum(g.score for g in grades) / len(grades)
    )
    errored = next((g for g in grades if g.error is not None), None)
    failing = next(
        (g for g, w in zip(grades, shares, strict=True) if w > 0 and not g.passed), errored
    )
    if threshold is None:
        passed = failing is None and errored is None
        reason = "ok" if passed or failing is None else f"{failing.name}: {failing.reason}"
    else:
        passed = errored is None and score >= threshold
        why = errored or failing
        reason = (
            f"score {score:.2f} ≥ threshold {threshold:g}"
            if passed
            else f"score {score:.2f} < threshold {threshold:g}"
            + ("" if why is None else f"; {why.name}: {why.reason}")
        )
    judge_score = next((g.judge_score for g in grades if g.judge_score is not None), None)
    return Verdict(
        passed=passed,
        score=score,
        reason=reason,
        judge_score=judge_score,
        error=None if errored is None else errored.error,
        error_kind=None if errored is None else errored.error_kind,
    )


def case_weights(case: Case) -> list[float]:
    """The weight of each of the case's graders, in :func:`build_graders`' order."""
    return [a.weight for a in case.asserts] + ([case.judge.weight] if case.judge else [])
