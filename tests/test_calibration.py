"""The judge's calibration from people's labels: figures, status, several reviewers."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from evallock.calibration import CalibrationFloor, calibration_of
from evallock.errors import ConfigError
from evallock.records import JudgeLabel
from evallock.stats import judge_agreement, kappa_interval, weighted_kappa

T0 = datetime(2026, 12, 1, tzinfo=UTC)
VERSION = "judge@0123456789ab"


def label(n: int, human: int, judge: int | None, reviewer: str = "ana") -> JudgeLabel:
    return JudgeLabel(
        subject=f"trace:{n:032x}",
        judge_version=VERSION,
        reviewer=reviewer,
        human_score=human,
        judge_score=judge,
        labeled_at=T0,
        evaluator="quality",
    )


def pairs(n: int, seed: int = 3) -> list[tuple[int, int]]:
    rng = np.random.default_rng(seed)
    human = rng.integers(1, 6, n)
    judge = np.clip(human + rng.choice([-1, 0, 0, 0, 1], n), 1, 5)
    return list(zip(judge.tolist(), human.tolist(), strict=True))


def test_the_figures_are_the_agreement_library_s() -> None:
    found = pairs(60)
    calibration = calibration_of(VERSION, [label(i, h, j) for i, (j, h) in enumerate(found)])
    judge = [float(j) for j, _ in found]
    human = [float(h) for _, h in found]
    figures = judge_agreement(judge, human, categories=[1, 2, 3, 4, 5])
    assert calibration.n == 60 and calibration.status == "calibrated"
    assert calibration.kappa == pytest.approx(figures.kappa_quadratic)
    assert calibration.bias == pytest.approx(figures.mean_bias)
    assert calibration.kappa_ci is not None
    assert calibration.kappa_ci[0] < calibration.kappa < calibration.kappa_ci[1]
    assert calibration.bias_ci is not None and calibration.bias_ci[0] < calibration.bias_ci[1]
    assert sum(map(sum, calibration.confusion or [])) == 60
    assert calibration.confusion[found[0][0] - 1][found[0][1] - 1] >= 1  # rows: the judge
    assert "agrees with people" in calibration.line() and "n=60 labelled" in calibration.line()


@pytest.mark.parametrize(
    ("labels", "status"),
    [
        ([], "no-labels"),
        ([label(1, 3, 3)], "too-few"),
        ([label(i, h, j) for i, (j, h) in enumerate(pairs(20))], "too-few"),
        ([label(i, h, 6 - h) for i, (_, h) in enumerate(pairs(40))], "below-floor"),
    ],
)
def test_status_follows_the_floor(labels, status) -> None:
    assert calibration_of(VERSION, labels).status == status


def test_several_reviewers_count_once_and_their_disputes_are_counted() -> None:
    labels = [
        label(1, 4, 4, "ana"),
        label(1, 4, 4, "ben"),
        label(2, 1, 2, "ana"),
        label(2, 5, 2, "ben"),  # disputed by four points
        label(3, 2, 2, "ana"),
        label(3, 3, 2, "ben"),
        label(3, 3, 2, "cy"),
        label(4, 3, None, "ana"),  # the judge's reply was unusable
    ]
    calibration = calibration_of(VERSION, labels, CalibrationFloor(min_labels=2))
    assert (calibration.labels, calibration.n, calibration.reviewers) == (8, 3, 3)
    assert calibration.judge_errors == 1 and calibration.disputed == 1
    assert calibration.reviewer_alpha is not None
    confusion = calibration.confusion
    assert confusion is not None
    assert confusion[2 - 1][3 - 1] == 1  # subject 3: median of 2, 3, 3 is 3


def test_kappa_interval_is_centred_on_the_estimate_and_never_flatters_a_flat_rater() -> None:
    found = pairs(80, seed=9)
    judge, human = [j for j, _ in found], [h for _, h in found]
    estimate = kappa_interval(judge, human)
    assert estimate.estimate == pytest.approx(
        weighted_kappa(judge, human, categories=[1, 2, 3, 4, 5]).value
    )
    assert estimate.interval.lo < estimate.estimate < estimate.interval.hi
    flat = kappa_interval([3] * 10, [1, 2, 3, 4, 5] * 2)  # a judge with no spread: κ = 0
    assert flat.estimate == pytest.approx(0.0) and flat.interval.hi <= 0.0 + 1e-9


def test_a_bad_floor_is_refused() -> None:
    with pytest.raises(ConfigError, match="min_labels must be at least 2"):
        CalibrationFloor(min_labels=1)
