"""Per-slice analysis: the same paired test in each slice, Holm and BH adjusted.

A slice's verdict is family-wise controlled twice over: its floor test ("B wins"
needs the lower bound above the floor) runs at α/m for m tested slices
(Bonferroni, so the slices' bounds hold together at 1 − α), and its Holm-adjusted
p-value against no difference must be below α. The Benjamini-Hochberg p-values
(false discovery rate) are shown beside them for scans. A slice with fewer than
``min_pairs`` pairs gets "insufficient data", not a p-value.

With several ``by`` keys the slices are cut by each key alone and then by all of
them together (``customer_tier``, ``intent``, ``customer_tier × intent``): a
regression that lives in one tier shows in that tier's slice even when the cross
product splits it too thin to test. Every slice of every cut is one family for
the adjustments above.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from evallock.ab._analysis import Metric, PairedAnalysis, analyse_pairs
from evallock.keys import Slice
from evallock.stats import adjust_benjamini_hochberg, adjust_holm

__all__ = ["SliceResult", "analyse_slices"]


@dataclass(frozen=True, kw_only=True, slots=True)
class SliceResult:
    """One slice of the comparison."""

    slice: Slice
    """The key values that define it, e.g. ``customer_tier=enterprise``."""
    n_pairs: int
    """Paired cases in it."""
    analysis: PairedAnalysis | None
    """The paired analysis; None with too few pairs."""
    p_holm: float | None
    """Holm-adjusted p-value (decisions)."""
    p_bh: float | None
    """Benjamini-Hochberg-adjusted p-value (scans)."""
    verdict: str
    """The slice's verdict, from the Holm-adjusted p and the effect floor."""

    @property
    def label(self) -> str:
        """``customer_tier=enterprise``."""
        return self.slice.label


def analyse_slices(
    a: Mapping[str, Sequence[float]],
    b: Mapping[str, Sequence[float]],
    case_keys: Mapping[str, Mapping[str, str]],
    by: Sequence[str],
    *,
    metric: Metric,
    alpha: float,
    min_effect: float,
    min_pairs: int = 5,
    seed: int = 0,
) -> list[SliceResult]:
    """Analyse each slice of the paired cases, cut by each ``by`` key alone and by all together.

    Returns:
        The slices, one cut after another (each key alone in ``by``'s order, then the
        cross product), by label within a cut.
    """
    keys = tuple(dict.fromkeys(by))
    cuts = [(key,) for key in keys] + ([keys] if len(keys) > 1 else [])
    groups: dict[Slice, list[str]] = {}
    order: dict[Slice, tuple[int, str]] = {}
    paired = sorted(set(a) & set(b))
    for position, cut in enumerate(cuts):
        for case_id in paired:
            found = Slice.from_keys(cut, case_keys.get(case_id, {}))
            groups.setdefault(found, []).append(case_id)
            order.setdefault(found, (position, found.label))
    analysed: list[tuple[Slice, list[str], PairedAnalysis | None]] = []
    tested = sum(1 for ids in groups.values() if len(ids) >= max(min_pairs, 2))
    slice_alpha = alpha / max(tested, 1)  # Bonferroni: the slices' floor tests hold together
    for values, ids in sorted(groups.items(), key=lambda item: order[item[0]]):
        analysis = None
        if len(ids) >= max(min_pairs, 2):
            analysis = analyse_pairs(
                a,
                b,
                metric=metric,
                alpha=slice_alpha,
                min_effect=min_effect,
                ids=ids,
                with_power=False,
                seed=seed,
            )
        analysed.append((values, ids, analysis))
    with_test = [x for x in analysed if x[2] is not None]
    p_values = [x[2].p_value for x in with_test if x[2] is not None]
    holm = adjust_holm(p_values).adjusted if p_values else ()
    bh = adjust_benjamini_hochberg(p_values).adjusted if p_values else ()
    adjusted = {id(x): (holm[i], bh[i]) for i, x in enumerate(with_test)}
    results: list[SliceResult] = []
    for item in analysed:
        values, ids, analysis = item
        p_holm, p_bh = adjusted.get(id(item), (None, None))
        if analysis is None or p_holm is None:
            verdict = "insufficient data"
        elif p_holm >= alpha:
            verdict = "no significant difference"
        else:
            verdict = analysis.verdict  # the floor test at α/m
        results.append(
            SliceResult(
                slice=values,
                n_pairs=len(ids),
                analysis=analysis,
                p_holm=p_holm,
                p_bh=p_bh,
                verdict=verdict,
            )
        )
    return results
