"""The paired analysis of an A/B comparison: the test follows the outcome type.

* ``pass`` (binary, one trial): difference of pass rates with Tango's score
  interval, McNemar's mid-p test against no difference, and the floor verdict from
  the exact unconditional score test up to 200 pairs (Tango's asymptotic one
  above), so a verdict never contradicts the test it prints at small n;
* ``pass`` with K trials: per-case pass shares (trials are a cluster), CLT;
* ``judge`` (ordinal 1–5, rescaled to 0–1): paired-t interval on the mean,
  Wilcoxon signed-rank (Pratt zeros, exact/permutation p when small or tied);
* ``score`` (continuous 0–1): paired t, and a seeded BCa bootstrap interval;
* ``pairwise`` (+1 B wins, −1 A wins, 0 tie per case): CLT interval, sign test.

The verdict needs the one-sided bound to clear the effect floor: "B wins" when
the lower (1 − α) bound of Δ = B − A exceeds ``min_effect``, "A wins" when the
upper bound is below −``min_effect``, else "no significant difference" — said
to be "significant but below the floor" when the bound clears 0 but not the floor.

Power is for that same rule: the MDE is the smallest true Δ whose lower bound
clears the floor with 80 % power at these pairs, and the pairs needed are those
that clear it with 80 % power if B is truly better by twice the floor (planning
with the observed discordance or variance of the differences).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from evallock.errors import UsageError
from evallock.stats import (
    EXACT_AUTO_MAX_N,
    Interval,
    bootstrap_interval,
    decompose_trials,
    exact_lower_bound,
    mcnemar_test,
    mean_estimate,
    paired_binary_floor_mde,
    paired_binary_floor_sample_size,
    paired_difference,
    paired_floor_test,
    paired_t_floor_mde,
    paired_t_floor_sample_size,
    paired_t_test,
    sign_test,
    tango_interval,
    wilcoxon_signed_rank_test,
    wilson_interval,
)

__all__ = [
    "ArmSummary",
    "Metric",
    "PairedAnalysis",
    "Power",
    "TrialNoise",
    "analyse_pairs",
    "decide",
]

Metric = Literal["pass", "judge", "score", "pairwise"]
Verdict = Literal["B wins", "A wins", "no significant difference", "insufficient data"]


@dataclass(frozen=True, kw_only=True, slots=True)
class ArmSummary:
    """One variant's mean on the metric, with its interval."""

    mean: float
    """Mean of the per-case values (0–1; −1–1 for pairwise)."""
    ci: Interval
    """Its 95 % interval (Wilson for one-trial pass rates, clustered CLT otherwise)."""


POWER = 0.8
"""The power the MDE and the pairs needed are stated at."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Power:
    """What this comparison could detect, for the verdict's own rule (bound > floor)."""

    mde: float
    """Smallest true Δ whose one-sided bound clears ``min_effect`` with 80 % power at
    these pairs (inf when even B winning every discordant case would not)."""
    planning_effect: float | None
    """The true Δ ``n_needed`` plans for: twice the floor (None with a floor of 0)."""
    n_needed: int | None
    """Pairs for an 80 % chance of "B wins" when Δ is ``planning_effect`` (None when it
    cannot be estimated)."""
    underpowered: bool
    """True when these pairs would miss a true Δ of twice the floor more than 20 % of
    the time (the MDE is above it)."""
    basis: str
    """What the estimate rests on (observed discordance or variance)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class TrialNoise:
    """How much of the variance is between cases and how much is trial-to-trial sampling."""

    trials: int
    """Trials per case (K)."""
    between_var: float
    """Variance of the per-case differences' true values."""
    within_var: float
    """Mean within-case variance of the differences (the service's or judge's sampling)."""
    within_share: float
    """within / (between + within): the share of noise that more trials would reduce."""


@dataclass(frozen=True, kw_only=True, slots=True)
class PairedAnalysis:
    """Everything the report says about one set of pairs (the whole set or a slice)."""

    metric: Metric
    """What was compared."""
    n_pairs: int
    """Cases with values on both sides."""
    a: ArmSummary | None
    """Variant A's mean (None for pairwise)."""
    b: ArmSummary | None
    """Variant B's mean (None for pairwise)."""
    delta: float
    """Δ = mean(B − A) on the metric's scale."""
    ci: Interval
    """Two-sided (1 − α) interval of Δ."""
    lower: float
    """One-sided (1 − α) lower bound of Δ."""
    upper: float
    """One-sided (1 − α) upper bound of Δ."""
    p_value: float
    """Two-sided p-value of the named test."""
    test: str
    """The test(s), by name."""
    verdict: Verdict
    """``B wins``, ``A wins``, ``no significant difference`` or ``insufficient data``."""
    note: str = ""
    """E.g. "significant but below the floor"."""
    details: dict[str, float | int | str] = field(default_factory=dict)
    """Counts and statistics (b, c, ties, t, W+ …)."""
    power: Power | None = None
    """MDE and the n needed for the floor."""
    noise: TrialNoise | None = None
    """Variance split, with several trials per case."""


def decide(lower: float, upper: float, min_effect: float) -> tuple[Verdict, str]:
    """The verdict from the one-sided bounds and the effect floor."""
    if lower > min_effect:
        return "B wins", ""
    if upper < -min_effect:
        return "A wins", ""
    if lower > 0 or upper < 0:
        side = "B" if lower > 0 else "A"
        return (
            "no significant difference",
            f"significant but below the floor: {side} is better by less than {min_effect:g}",
        )
    return "no significant difference", ""


def _case_means(values: Mapping[str, Sequence[float]], ids: Sequence[str]) -> list[float]:
    return [sum(values[i]) / len(values[i]) for i in ids]


def analyse_pairs(
    a: Mapping[str, Sequence[float]],
    b: Mapping[str, Sequence[float]],
    *,
    metric: Metric,
    alpha: float = 0.05,
    min_effect: float = 0.05,
    ids: Sequence[str] | None = None,
    with_power: bool = True,
    seed: int = 0,
) -> PairedAnalysis:
    """Analyse paired per-case values (each case: its trials' values) of two variants.

    Args:
        a: case id → values of A's trials (0/1 for pass, 0–1 for judge/score).
        b: the same for B; pairs are the case ids present on both sides.
        metric: the outcome type, which picks the test.
        alpha: one-sided level of the bounds the verdict uses; intervals are 1 − α.
        min_effect: the effect floor on the metric's scale.
        ids: the case ids to analyse (default: all paired ids, sorted).
        with_power: compute the MDE and required n.
        seed: for the bootstrap and permutation paths.

    Raises:
        ValueError: fewer than 2 pairs.
    """
    pair_ids = list(ids) if ids is not None else sorted(set(a) & set(b))
    n = len(pair_ids)
    if n < 2:
        raise ValueError(f"{n} paired case(s); at least 2 are needed")
    xa, xb = _case_means(a, pair_ids), _case_means(b, pair_ids)
    trials = min(min(len(a[i]), len(b[i])) for i in pair_ids)
    confidence = 1 - alpha
    bounds_confidence = (
        1 - 2 * alpha
    )  # a two-sided (1 − 2α) interval's ends are one-sided (1 − α) bounds
    details: dict[str, float | int | str] = {}
    decided: tuple[Verdict, str] | None = None
    interval: Interval | None = None
    bounds: Interval | None = None
    if metric == "pass" and trials == 1:
        main = paired_difference(xa, xb, confidence=confidence)
        test = mcnemar_test(xa, xb, method="mid-p")
        # b: cases only A passes, c: cases only B passes (only discordant pairs count).
        only_a, only_b = int(test.details["b_a_only"]), int(test.details["c_b_only"])
        details.update({"b": only_a, "c": only_b})
        verdict, note, lower, upper, method = _binary_verdict(
            only_a, only_b, n, alpha=alpha, min_effect=min_effect
        )
        decided = verdict, note
        interval = _binary_interval(
            only_a, only_b, n, confidence=confidence, lower=lower, upper=upper
        )
        p_value = test.p_value
        name = f"{interval.method} interval; {test.method}; floor verdict: {method}"
        bounds = Interval(lo=lower, hi=upper, confidence=1 - alpha, method=method)
    elif metric == "judge":
        main = paired_t_test(xa, xb, confidence=confidence)
        bounds = paired_t_test(xa, xb, confidence=bounds_confidence).interval
        rank = wilcoxon_signed_rank_test(xa, xb, zero_method="pratt")
        p_value = rank.p_value
        name = f"paired t interval; {rank.method}"
        details["ties"] = sum(1 for x, y in zip(xa, xb, strict=True) if x == y)
        details["t_p_value"] = main.p_value
    elif metric == "score":
        main = paired_t_test(xa, xb, confidence=confidence)
        boot = bootstrap_interval(xa, xb, method="bca", confidence=confidence, seed=seed)
        bounds = bootstrap_interval(
            xa, xb, method="bca", confidence=bounds_confidence, seed=seed
        ).interval
        p_value = main.p_value
        name = f"paired t; BCa bootstrap interval (seed {seed})"
        main_interval = boot.interval
    elif metric == "pairwise":
        zeros = [0.0] * n
        main = paired_difference(zeros, xb, confidence=confidence)
        bounds = paired_difference(zeros, xb, confidence=bounds_confidence).interval
        sign = sign_test(zeros, xb)
        p_value, name = sign.p_value, f"pairwise judge, CLT interval; {sign.method}"
        details.update(
            {"b_wins": sum(1 for x in xb if x > 0), "a_wins": sum(1 for x in xb if x < 0)}
        )
        details["ties"] = n - int(details["b_wins"]) - int(details["a_wins"])
    else:  # pass with K trials: per-case pass shares, trials as clusters
        main = paired_difference(xa, xb, confidence=confidence)
        bounds = paired_difference(xa, xb, confidence=bounds_confidence).interval
        p_value = main.p_value
        name = f"paired difference of per-case pass shares over {trials} trials (CLT)"
    if metric == "score":
        interval = main_interval
    elif decided is None:
        interval = main.interval
    assert interval is not None
    assert bounds is not None
    verdict, note = decided or decide(bounds.lo, bounds.hi, min_effect)
    return PairedAnalysis(
        metric=metric,
        n_pairs=n,
        a=None if metric == "pairwise" else _arm(xa, metric, trials),
        b=None if metric == "pairwise" else _arm(xb, metric, trials),
        delta=main.estimate,
        ci=interval,
        lower=bounds.lo,
        upper=bounds.hi,
        p_value=p_value,
        test=name,
        verdict=verdict,
        note=note,
        details=details,
        power=_power(xa, xb, metric, trials, alpha, min_effect) if with_power else None,
        noise=_noise(a, b, pair_ids, trials),
    )


def _binary_verdict(
    only_a: int, only_b: int, n: int, *, alpha: float, min_effect: float
) -> tuple[Verdict, str, float, float, str]:
    """The floor verdict for pass/fail pairs from the exact (small n) or score test.

    Returns the verdict, its note, the one-sided lower and upper bounds of Δ and
    the method; the bounds and the verdict come from the same test, so "B wins"
    never stands beside a test that does not reject.
    """
    confidence = 1 - alpha
    floor = min(max(min_effect, 0.0), 0.99)
    b_wins = paired_floor_test(
        only_a=only_a, only_b=only_b, n=n, floor=floor, confidence=confidence
    )
    a_wins = paired_floor_test(
        only_a=only_b, only_b=only_a, n=n, floor=floor, confidence=confidence
    )
    lower, upper = b_wins.lower, -a_wins.lower
    if b_wins.clears:
        return "B wins", "", lower, upper, b_wins.method
    if a_wins.clears:
        return "A wins", "", lower, upper, b_wins.method
    if floor > 0:
        for side, a_count, b_count in (("B", only_a, only_b), ("A", only_b, only_a)):
            zero = paired_floor_test(
                only_a=a_count, only_b=b_count, n=n, floor=0.0, confidence=confidence
            )
            if zero.clears:
                return (
                    "no significant difference",
                    f"significant but below the floor: {side} is better by less than"
                    f" {min_effect:g}",
                    lower,
                    upper,
                    b_wins.method,
                )
    return "no significant difference", "", lower, upper, b_wins.method


def _binary_interval(
    only_a: int, only_b: int, n: int, *, confidence: float, lower: float, upper: float
) -> Interval:
    """The two-sided interval of Δ from the same test family as the verdict.

    Exact unconditional bounds (each end one-sided at 1 − α/2) up to the exact test's
    limit, Tango's score interval above it; widened, if ever needed, to hold the
    verdict's one-sided (1 − α) bounds, so the interval and the verdict never disagree.
    """
    if n <= EXACT_AUTO_MAX_N:
        end = 1 - (1 - confidence) / 2
        lo = exact_lower_bound(only_a=only_a, only_b=only_b, n=n, confidence=end)
        hi = -exact_lower_bound(only_a=only_b, only_b=only_a, n=n, confidence=end)
        method = "exact unconditional score"
    else:
        tango = tango_interval(only_a=only_a, only_b=only_b, n=n, confidence=confidence)
        lo, hi, method = tango.lo, tango.hi, tango.method
    return Interval(lo=min(lo, lower), hi=max(hi, upper), confidence=confidence, method=method)


def _arm(values: list[float], metric: Metric, trials: int) -> ArmSummary:
    mean = sum(values) / len(values)
    if metric == "pass" and trials == 1:
        return ArmSummary(mean=mean, ci=wilson_interval(round(sum(values)), len(values)))
    estimate = mean_estimate(values)
    ci = estimate.interval
    assert ci is not None
    # Per-case shares and rescaled scores live in [0, 1]: a CLT interval past an end is
    # clipped there (the parameter cannot be outside, so coverage is unchanged).
    clipped = replace(ci, lo=max(ci.lo, 0.0), hi=min(ci.hi, 1.0))
    return ArmSummary(mean=mean, ci=clipped)


def _power(
    xa: list[float], xb: list[float], metric: Metric, trials: int, alpha: float, min_effect: float
) -> Power | None:
    """MDE and pairs needed for the verdict's own rule (see the module docstring)."""
    n = len(xa)
    confidence = 1 - alpha
    floor = max(min_effect, 0.0)
    planning = 2 * floor if floor > 0 else None
    diffs = [y - x for x, y in zip(xa, xb, strict=True)]
    if metric == "pass" and trials == 1:
        discordant = sum(1 for d in diffs if d != 0) / n
        if discordant == 0:
            return Power(
                mde=math.inf,
                planning_effect=planning,
                n_needed=None,
                underpowered=True,
                basis="no discordant pairs: the variants never disagreed on a case",
            )
        mde = paired_binary_floor_mde(
            n,
            discordant=discordant,
            floor=floor,
            confidence=confidence,
            power=POWER,
            method="score",
        ).effect
        needed: int | None = None
        if planning is not None and planning <= discordant:
            try:
                needed = paired_binary_floor_sample_size(
                    planning,
                    discordant=discordant,
                    floor=floor,
                    confidence=confidence,
                    power=POWER,
                ).n
            except UsageError:
                needed = None
        return Power(
            mde=mde,
            planning_effect=planning,
            n_needed=needed,
            underpowered=(planning is None and not math.isfinite(mde))
            or (planning is not None and mde > planning),
            basis=f"observed discordance {discordant:.3f} (exact score rule, floor {floor:g})",
        )
    mean = sum(diffs) / n
    omega2 = sum((d - mean) ** 2 for d in diffs) / (n - 1)
    if omega2 == 0:
        return Power(
            mde=0.0 if mean != 0 else math.inf,
            planning_effect=planning,
            n_needed=None,
            underpowered=mean == 0,
            basis="the per-case differences have no variance",
        )
    sd = math.sqrt(omega2)
    try:
        mde = paired_t_floor_mde(n, sd=sd, floor=floor, confidence=confidence, power=POWER).effect
    except (ArithmeticError, ValueError, UsageError):  # the noncentral t has no root (tiny n)
        mde = math.inf
    try:
        needed = (
            paired_t_floor_sample_size(
                planning, sd=sd, floor=floor, confidence=confidence, power=POWER
            ).n
            if planning is not None
            else None
        )
    except (ArithmeticError, ValueError, UsageError):
        needed = None
    return Power(
        mde=mde,
        planning_effect=planning,
        n_needed=needed,
        underpowered=planning is not None and mde > planning,
        basis=f"observed SD of the differences {sd:.4f} (noncentral t, floor {floor:g})",
    )


def _noise(
    a: Mapping[str, Sequence[float]],
    b: Mapping[str, Sequence[float]],
    ids: Sequence[str],
    trials: int,
) -> TrialNoise | None:
    if trials < 2:
        return None
    # Differences trial by trial (trial k of A against trial k of B) form the clusters.
    table = [[b[i][k] - a[i][k] for k in range(trials)] for i in ids]
    split = decompose_trials(table)
    total = split.between_var + split.within_var
    return TrialNoise(
        trials=trials,
        between_var=split.between_var,
        within_var=split.within_var,
        within_share=split.within_var / total if total > 0 else 0.0,
    )
