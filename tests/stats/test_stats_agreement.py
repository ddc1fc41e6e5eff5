"""Cohen's κ, weighted κ and Krippendorff's α: published examples and edge cases."""

from __future__ import annotations

import math

import pytest

from evallock.errors import UsageError
from evallock.stats import cohen_kappa, judge_agreement, krippendorff_alpha, weighted_kappa

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": 4 coders, 12 units.
N = None
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
    [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],
]


@pytest.mark.parametrize(
    ("level", "expected"),
    [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)],
)
def test_krippendorff_published_example(level: str, expected: float) -> None:
    result = krippendorff_alpha(KRIPPENDORFF_2011, level=level)  # type: ignore[arg-type]
    assert result.value == pytest.approx(expected, abs=5e-4)
    assert result.n == 11  # unit 12 has a single rating


def test_perfect_agreement_is_one() -> None:
    labels = [1, 2, 3, 4, 5, 3]
    assert cohen_kappa(labels, labels).value == 1.0
    assert weighted_kappa(labels, labels).value == 1.0
    assert krippendorff_alpha([labels, labels]).value == 1.0


def test_kappa_weights_use_the_category_index() -> None:
    a = [1, 2, 4, 4, 2, 1]
    b = [2, 2, 4, 2, 1, 1]
    seen_only = weighted_kappa(a, b).value  # categories 1, 2, 4: index gap 4-2 is 1
    full_scale = weighted_kappa(a, b, categories=[1, 2, 3, 4, 5]).value
    assert seen_only != pytest.approx(full_scale)


def test_kappa_accepts_nominal_string_labels() -> None:
    result = cohen_kappa(["yes", "no", "yes", "yes"], ["yes", "no", "no", "yes"])
    assert result.value == pytest.approx(0.5)


def test_no_variation_is_undefined_not_a_warning() -> None:
    assert math.isnan(cohen_kappa([3, 3, 3], [3, 3, 3]).value)
    assert math.isnan(krippendorff_alpha([[3, 3], [3, 3]]).value)
    summary = judge_agreement([4, 4, 4], [3, 4, 5])
    assert math.isnan(summary.spearman_rho)
    assert summary.mean_bias == 0.0


def test_bad_inputs_are_usage_errors() -> None:
    with pytest.raises(UsageError):
        cohen_kappa([1, 2], [1])
    with pytest.raises(UsageError):
        weighted_kappa([1, 7], [1, 2], categories=[1, 2, 3])
    with pytest.raises(UsageError):
        krippendorff_alpha([[1, N], [N, 2]])
