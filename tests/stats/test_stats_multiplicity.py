"""Adjusted p-values: monotone, never below the raw p, capped at 1, in input order."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from evallock.errors import UsageError
from evallock.stats import (
    adjust_benjamini_hochberg,
    adjust_benjamini_yekutieli,
    adjust_bonferroni,
    adjust_hochberg,
    adjust_holm,
)

ADJUSTMENTS = [
    adjust_bonferroni,
    adjust_holm,
    adjust_hochberg,
    adjust_benjamini_hochberg,
    adjust_benjamini_yekutieli,
]
p_lists = st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=40)


@pytest.mark.parametrize("adjust", ADJUSTMENTS)
@given(p=p_lists)
def test_adjusted_p_values_are_valid(adjust, p: list[float]) -> None:  # type: ignore[no-untyped-def]
    result = adjust(p)
    raw, adjusted = np.asarray(result.raw), np.asarray(result.adjusted)
    assert result.raw == tuple(p)
    assert np.all(adjusted >= raw - 1e-15)
    assert np.all(adjusted <= 1.0)
    order = np.argsort(raw, kind="stable")
    assert np.all(np.diff(adjusted[order]) >= -1e-15)  # monotone in the raw p-values


@given(p=p_lists)
def test_methods_are_ordered_by_stringency(p: list[float]) -> None:
    bonferroni = np.asarray(adjust_bonferroni(p).adjusted)
    holm = np.asarray(adjust_holm(p).adjusted)
    hochberg = np.asarray(adjust_hochberg(p).adjusted)
    bh = np.asarray(adjust_benjamini_hochberg(p).adjusted)
    by = np.asarray(adjust_benjamini_yekutieli(p).adjusted)
    assert np.all(bonferroni >= holm - 1e-12)
    assert np.all(holm >= hochberg - 1e-12)
    assert np.all(hochberg >= bh - 1e-12)
    assert np.all(by >= bh - 1e-12)


def test_empty_family_and_bad_p_values() -> None:
    assert adjust_holm([]).adjusted == ()
    assert adjust_benjamini_hochberg([]).reject() == ()
    with pytest.raises(UsageError):
        adjust_holm([0.5, 1.2])
    with pytest.raises(UsageError):
        adjust_benjamini_hochberg([float("nan")])
