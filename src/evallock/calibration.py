"""The judge's calibration: how well its scores agree with people's labels, per judge version.

People label a sample of judged answers (``evallock labels``); each label pairs a
reviewer's 1–5 score with the judge's score of the same answer. Per judge version this
gives agreement (quadratic-weighted κ with a bootstrap interval, Krippendorff's ordinal
α, exact and within-one agreement), the confusion table, the judge's bias (judge − human,
with a t interval) and, when several people labelled the same answers, how well *they*
agree with each other. A judge is *calibrated* when it has at least ``min_labels`` labelled
answers and κ ≥ ``min_kappa``; a changed judge version starts with no labels.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from evallock.errors import ConfigError
from evallock.records import JudgeLabel

__all__ = [
    "Calibration",
    "CalibrationFloor",
    "CalibrationStatus",
    "LabelReader",
    "calibration_of",
    "disputes",
    "judge_calibration",
    "judge_versions_of",
    "pooled_calibration",
    "require_calibrated",
]

CalibrationStatus = Literal["calibrated", "below-floor", "too-few", "no-labels"]
SCALE = (1, 2, 3, 4, 5)


@dataclass(frozen=True, kw_only=True, slots=True)
class CalibrationFloor:
    """When a judge counts as calibrated (``calibration:`` in evallock.yaml)."""

    min_kappa: float = 0.6
    """Least quadratic-weighted κ against people (0.6: "substantial" on Landis & Koch's scale)."""
    min_labels: int = 30
    """Fewest labelled answers before the κ is taken as evidence at all."""

    def __post_init__(self) -> None:
        if not -1.0 <= self.min_kappa <= 1.0:
            raise ConfigError(f"calibration.min_kappa must be in [-1, 1], got {self.min_kappa}")
        if self.min_labels < 2:
            raise ConfigError(f"calibration.min_labels must be at least 2, got {self.min_labels}")


@dataclass(frozen=True, kw_only=True, slots=True)
class Calibration:
    """A judge version against people's labels."""

    judge_version: str
    labels: int
    """Labels stored for this version (every reviewer's)."""
    n: int
    """Answers with a judge score and at least one label (the pairs compared)."""
    judge_errors: int
    """Labelled answers whose judge reply was unusable (no score to compare)."""
    reviewers: int
    kappa: float | None = None
    """Quadratic-weighted κ (judge vs the people's label, the median when several)."""
    kappa_ci: tuple[float, float] | None = None
    alpha: float | None = None
    """Krippendorff's ordinal α between judge and people."""
    exact: float | None = None
    within_one: float | None = None
    bias: float | None = None
    """Mean judge − human score: positive when the judge is lenient."""
    bias_ci: tuple[float, float] | None = None
    confusion: list[list[int]] | None = None
    """Counts, rows the judge's score 1–5, columns the people's."""
    reviewer_alpha: float | None = None
    """Krippendorff's ordinal α among the reviewers, over answers two or more labelled."""
    disputed: int = 0
    """Answers whose reviewers disagree by more than a point, not yet adjudicated."""
    status: CalibrationStatus = "no-labels"
    floor: CalibrationFloor = CalibrationFloor()

    def line(self) -> str:
        """One line for the reports beside a judge-graded verdict."""
        if self.status == "no-labels":
            return (
                f"judge {self.judge_version} is not calibrated: no labels yet"
                " (evallock labels sample / import)"
            )
        shown = f"κ {self.kappa:.2f}" if self.kappa is not None else "κ undefined"
        if self.kappa_ci is not None:
            shown += f" [{self.kappa_ci[0]:.2f}, {self.kappa_ci[1]:.2f}]"
        if self.bias is not None:
            shown += f", bias {self.bias:+.2f}"
        shown += f", n={self.n} labelled"
        verdict = {
            "calibrated": "agrees with people",
            "below-floor": f"is below the floor κ {self.floor.min_kappa:g}",
            "too-few": f"has too few labels (fewer than {self.floor.min_labels})",
        }[self.status]
        return f"judge {self.judge_version} {verdict}: {shown}"

    def as_json(self) -> dict[str, Any]:
        """The figures as ``evallock calibration --json`` and the reports give them."""
        return {
            "judge_version": self.judge_version,
            "status": self.status,
            "labels": self.labels,
            "n": self.n,
            "judge_errors": self.judge_errors,
            "reviewers": self.reviewers,
            "kappa_quadratic": self.kappa,
            "kappa_ci": list(self.kappa_ci) if self.kappa_ci else None,
            "alpha_ordinal": self.alpha,
            "exact": self.exact,
            "within_one": self.within_one,
            "bias": self.bias,
            "bias_ci": list(self.bias_ci) if self.bias_ci else None,
            "confusion": self.confusion,
            "reviewer_alpha": self.reviewer_alpha,
            "disputed": self.disputed,
            "floor": {"min_kappa": self.floor.min_kappa, "min_labels": self.floor.min_labels},
        }


class LabelReader(Protocol):
    """What calibration reads of the store (``store.labels``)."""

    def of_version(self, judge_version: str, *, limit: int = ...) -> list[JudgeLabel]: ...


def judge_calibration(
    labels: LabelReader, judge_version: str, floor: CalibrationFloor | None = None
) -> Calibration:
    """The calibration of ``judge_version`` from the stored labels."""
    return calibration_of(judge_version, labels.of_version(judge_version), floor)


def pooled_calibration(
    labels: LabelReader, versions: Iterable[str], floor: CalibrationFloor | None = None
) -> Calibration | None:
    """The calibration of the judge behind a run whose cases use these judge versions (a
    rubric per case is a version per rubric): their labels pooled. None for no version."""
    chosen = sorted(set(versions))
    if not chosen:
        return None
    found = [label for version in chosen for label in labels.of_version(version)]
    model = chosen[0].rsplit("@", 1)[0]
    name = chosen[0] if len(chosen) == 1 else f"{model} ({len(chosen)} rubrics)"
    return calibration_of(name, found, floor)


def calibration_of(
    judge_version: str, labels: Sequence[JudgeLabel], floor: CalibrationFloor | None = None
) -> Calibration:
    """Agreement, bias and confusion of a judge version from its labels.

    Several reviewers of one answer count once: their median label (the lower middle
    one for an even count) is compared with the judge, unless an adjudication settled the
    answer (then the newest adjudication stands); how they agree with each other is
    reported apart, and answers they dispute by more than a point and nobody settled are
    counted.
    """
    floor = floor or CalibrationFloor()
    by_subject: dict[str, list[JudgeLabel]] = defaultdict(list)
    for label in labels:
        by_subject[label.subject].append(label)
    reviewers = sorted({label.reviewer for label in labels if not label.adjudicated})
    pairs: list[tuple[int, int]] = []
    errors = disputed = 0
    for group in by_subject.values():
        settled = [lab for lab in group if lab.adjudicated]
        scores = sorted(lab.human_score for lab in group if not lab.adjudicated)
        if scores and scores[-1] - scores[0] > 1 and not settled:
            disputed += 1
        judge = next((lab.judge_score for lab in group if lab.judge_score is not None), None)
        if judge is None:
            errors += 1
            continue
        if settled:  # an adjudication stands for its answer
            human = max(settled, key=lambda lab: lab.labeled_at).human_score
        else:
            human = scores[(len(scores) - 1) // 2]
        pairs.append((judge, human))
    base = Calibration(
        judge_version=judge_version,
        labels=len(labels),
        n=len(pairs),
        judge_errors=errors,
        reviewers=len(reviewers),
        disputed=disputed,
        floor=floor,
        reviewer_alpha=_reviewer_alpha(by_subject, reviewers),
    )
    if not pairs:
        return base
    from dataclasses import replace

    confusion = [[0] * 5 for _ in SCALE]
    for judge, human in pairs:
        confusion[judge - 1][human - 1] += 1
    status: CalibrationStatus = "too-few"
    if len(pairs) < 2:
        return replace(base, confusion=confusion, status=status)
    from evallock.stats import estimate_interval, judge_agreement, kappa_interval

    judge_scores = [float(j) for j, _ in pairs]
    human_scores = [float(h) for _, h in pairs]
    figures = judge_agreement(judge_scores, human_scores, categories=SCALE)
    kappa = None if math.isnan(figures.kappa_quadratic) else figures.kappa_quadratic
    kappa_ci = None
    if kappa is not None:
        interval = kappa_interval(judge_scores, human_scores).interval
        kappa_ci = (interval.lo, interval.hi)
    gaps = [j - h for j, h in zip(judge_scores, human_scores, strict=True)]
    se = statistics.stdev(gaps) / math.sqrt(len(gaps))
    bias_interval = estimate_interval(figures.mean_bias, se, df=len(gaps) - 1, method="t")
    if len(pairs) >= floor.min_labels:
        status = "calibrated" if kappa is not None and kappa >= floor.min_kappa else "below-floor"
    return replace(
        base,
        kappa=kappa,
        kappa_ci=kappa_ci,
        alpha=None if math.isnan(figures.alpha_ordinal) else figures.alpha_ordinal,
        exact=figures.exact,
        within_one=figures.within_one,
        bias=figures.mean_bias,
        bias_ci=(bias_interval.lo, bias_interval.hi),
        confusion=confusion,
        status=status,
    )


def _reviewer_alpha(by_subject: dict[str, list[JudgeLabel]], reviewers: list[str]) -> float | None:
    shared = [group for group in by_subject.values() if len({g.reviewer for g in group}) > 1]
    if len(reviewers) < 2 or not shared:
        return None
    from evallock.stats import krippendorff_alpha

    table: list[list[float | None]] = []
    for reviewer in reviewers:
        row: list[float | None] = []
        for group in shared:
            mine = [g.human_score for g in group if g.reviewer == reviewer]
            row.append(float(mine[0]) if mine else None)
        table.append(row)
    value = krippendorff_alpha(table).value
    return None if math.isnan(value) else value


def disputes(labels: Sequence[JudgeLabel]) -> list[tuple[str, dict[str, int]]]:
    """The answers reviewers disagree on by more than a point and nobody adjudicated:
    ``(subject, {reviewer: score})``, in subject order."""
    by_subject: dict[str, list[JudgeLabel]] = defaultdict(list)
    for label in labels:
        by_subject[label.subject].append(label)
    found = []
    for subject in sorted(by_subject):
        group = by_subject[subject]
        if any(lab.adjudicated for lab in group):
            continue
        scores = {lab.reviewer: lab.human_score for lab in group}
        if max(scores.values()) - min(scores.values()) > 1:
            found.append((subject, scores))
    return found


def judge_versions_of(
    judge_rubrics: Iterable[tuple[str, bool]],
    *,
    model: str,
    params: dict[str, Any],
    default_rubric: str | None,
) -> set[str]:
    """The judge versions a case file's judged cases use (``CaseFile.judge_rubrics``): one
    per distinct rubric, as the runner stamps them on the records."""
    from evallock.graders import build_judge_grader, judge_version
    from evallock.records import CaseJudge

    return {
        judge_version(
            model,
            build_judge_grader(
                CaseJudge(rubric=rubric),
                has_reference=has_reference,
                default_rubric=default_rubric,
                params=params,
            ).rubric,
            params,
        )
        for rubric, has_reference in judge_rubrics
    }


def require_calibrated(found: Calibration | None, flag: str = "--require-calibrated") -> None:
    """Refuse what a judge that does not agree with people would grade.

    Raises:
        UsageError: the judge is not calibrated (the reason), or there is no judge to check.
    """
    from evallock.errors import UsageError

    if found is None:
        raise UsageError(f"{flag}: nothing here is graded by the judge")
    if found.status != "calibrated":
        raise UsageError(f"{flag}: {found.line()}")
