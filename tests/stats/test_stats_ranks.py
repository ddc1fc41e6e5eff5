"""Wilcoxon signed-rank with ties and zeros, and the Hodges-Lehmann estimator."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from evallock.stats import hodges_lehmann, wilcoxon_signed_rank_test

judge_scores = st.lists(st.tuples(st.integers(1, 5), st.integers(1, 5)), min_size=1, max_size=14)


def _brute_force_p(d: np.ndarray, zero_method: str) -> float:
    """Two-sided exact conditional p by listing every sign pattern (the definition)."""
    kept = d[d != 0] if zero_method == "wilcox" else d
    ranks = sps.rankdata(np.abs(kept))
    signed = ranks[kept != 0]
    observed = ranks[kept > 0].sum()
    centre = signed.sum() / 2
    hits = 0
    for signs in itertools.product((0, 1), repeat=signed.size):
        w = float(np.dot(signs, signed))
        hits += abs(w - centre) >= abs(observed - centre) - 1e-9
    return hits / 2**signed.size


@settings(max_examples=60, deadline=None)
@given(judge_scores, st.sampled_from(["pratt", "wilcox", "zsplit"]))
def test_exact_p_matches_enumeration(pairs: list[tuple[int, int]], zero_method: str) -> None:
    a = np.array([x for x, _ in pairs], dtype=float)
    b = np.array([y for _, y in pairs], dtype=float)
    result = wilcoxon_signed_rank_test(a, b, zero_method=zero_method, method="exact")
    assert result.p_value == pytest.approx(_brute_force_p(b - a, zero_method), abs=1e-12)
    assert 0.0 <= result.p_value <= 1.0


def test_pratt_exact_matches_scipy_full_permutation() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.integers(1, 6, size=13), rng.integers(1, 6, size=13)
    ours = wilcoxon_signed_rank_test(a, b, zero_method="pratt")
    permutation = sps.PermutationMethod(n_resamples=np.inf)
    theirs = sps.wilcoxon(b - a, zero_method="pratt", method=permutation)
    assert ours.p_value == pytest.approx(theirs.pvalue, abs=1e-12)


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_asymptotic_matches_scipy(alternative: str) -> None:
    rng = np.random.default_rng(9)
    a, b = rng.integers(1, 6, size=800), rng.integers(1, 6, size=800)
    ours = wilcoxon_signed_rank_test(a, b, alternative=alternative)
    assert "normal approximation" in ours.method  # beyond the exact limit
    theirs = sps.wilcoxon(b - a, zero_method="pratt", method="asymptotic", alternative=alternative)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9)


def test_all_zero_differences_give_p_one() -> None:
    for zero_method in ("pratt", "wilcox", "zsplit"):
        result = wilcoxon_signed_rank_test([3, 4, 5], [3, 4, 5], zero_method=zero_method)
        assert result.p_value == 1.0
        assert result.details["share_zero"] == 1.0


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(-40, 40).map(lambda x: x / 4), min_size=1, max_size=60))
def test_hodges_lehmann_is_the_median_of_walsh_averages(values: list[float]) -> None:
    d = np.asarray(values)
    i, j = np.triu_indices(d.size)
    assert hodges_lehmann(d) == pytest.approx(float(np.median((d[i] + d[j]) / 2)), abs=1e-12)
