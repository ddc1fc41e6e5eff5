"""Always-valid sequential tests for A/B comparisons that are looked at as data arrive.

Checking a fixed-n test after every batch and stopping at the first p < 0.05 inflates the
type I error (0.14 at 5 looks, towards 1 with continuous monitoring). The tests here stay
valid at any stopping time: their p-values are always-valid and their intervals are
confidence sequences (Ville's inequality on a nonnegative supermartingale). Each monitor is
fed one pair at a time with ``update``; the ``*_test`` functions run one over a whole stream.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from evallock.errors import UsageError
from evallock.stats._lazy import lazy_module
from evallock.stats._results import Details, Interval
from evallock.stats._validate import Scores, as_pair, check_probability, paired_differences

special = lazy_module("scipy.special")

__all__ = [
    "PEEKING_PROBLEM",
    "Bucket",
    "DiscordantPairEProcess",
    "MixtureSPRT",
    "SequentialState",
    "TwoSampleMixtureSPRT",
    "discordant_pair_test",
    "msprt_test",
    "two_sample_msprt_test",
]

Bucket = Literal["a", "b"]
"""Which experiment bucket an observation came from."""

PEEKING_PROBLEM = (
    "A fixed-sample test (z, t, chi-square) controls its false-positive rate only when it is "
    "run once, at a sample size fixed in advance. Looking at an online A/B test repeatedly "
    "and stopping as soon as p < 0.05 gives the noise many chances to cross the line: with "
    "5 equally spaced looks the chance of a false 'winner' is about 14%, with 10 looks 19%, "
    "and with a look after every observation it tends to 100% as the test runs on "
    "(Armitage, McPherson & Rowe 1969). Always-valid inference fixes this: an mSPRT p-value "
    "or confidence sequence holds at every sample size simultaneously, so the test may be "
    "checked after every observation and stopped at any time, and the chance that it ever "
    "declares a false winner stays below alpha (Johari, Pekelis & Walsh 2022). The price is "
    "a wider interval than a fixed-n one at the same n (about 1.5-1.7x)."
)
"""Why peeking at a fixed-n test inflates false positives, for reports and CLI help."""


@dataclass(frozen=True, kw_only=True, slots=True)
class SequentialState:
    """Where a sequential test stands after the observations seen so far."""

    n: int
    """Observations fed so far (pairs of scores)."""
    estimate: float
    """Current estimate: mean difference (mSPRT) or B's share of discordant pairs."""
    e_value: float
    """Current e-value (mixture likelihood ratio); ≥ 1/alpha means reject."""
    p_value: float
    """Always-valid p-value: ``min(1, 1 / max e-value so far)``."""
    interval: Interval | None
    """Confidence sequence at the current n, when the method has one."""
    rejected: bool
    """Whether H0 has been rejected at some point (it stays rejected)."""
    first_rejection: int | None
    """The n at which H0 was first rejected, if it was."""
    method: str
    """The test's name."""
    details: Details = field(default_factory=dict)
    """Method-specific numbers (the mixture's parameters, discordant counts, …)."""


class MixtureSPRT:
    """Normal-mixture sequential probability ratio test (mSPRT) on paired differences.

    For observations with known variance σ² and a N(θ0, τ²) mixture over the alternative,
    ``Λ_n = sqrt(σ²/(σ² + nτ²)) · exp(n²τ²(ȳ_n − θ0)² / (2σ²(σ² + nτ²)))``; reject when
    Λ_n ≥ 1/α. The always-valid p is ``min(1, min_{m≤n} 1/Λ_m)`` and the confidence
    sequence is ``ȳ_n ± sqrt(σ²(σ² + nτ²)/(n²τ²) · log((σ² + nτ²)/(σ²α²)))`` (valid at
    every n; their running intersection is valid too). Feed it the per-case differences
    b − a with σ² = Var(d); set τ² to about the square of the effect you expect. This is
    the normal-mixture boundary of Howard et al. with ρ = σ⁴/τ².

    Reference:
        Johari, Pekelis & Walsh, *Always Valid Inference*, arXiv 1512.04922 (Operations
        Research 2022); Robbins (1970).

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(7)
        >>> test = MixtureSPRT(sigma2=1.0, tau2=0.1)
        >>> for d in rng.normal(0.4, 1.0, size=300):
        ...     test.update(d)
        ...     if test.rejected:
        ...         break
        >>> test.state.first_rejection
        187
    """

    def __init__(
        self, *, sigma2: float, tau2: float, theta0: float = 0.0, alpha: float = 0.05
    ) -> None:
        if not sigma2 > 0.0 or not tau2 > 0.0:
            raise UsageError(f"sigma2 and tau2 must be positive, got {sigma2}, {tau2}")
        check_probability(alpha, "alpha")
        self.sigma2 = sigma2
        """Variance of one observation."""
        self.tau2 = tau2
        """Variance of the normal mixture over the effect."""
        self.theta0 = theta0
        """The mean under H0."""
        self.alpha = alpha
        """Level of the test and of the confidence sequence."""
        self._n = 0
        self._total = 0.0
        self._log_e = 0.0
        self._max_log_e = 0.0
        self._first_rejection: int | None = None

    @property
    def rejected(self) -> bool:
        """Whether H0 has been rejected at some point."""
        return self._first_rejection is not None

    def update(self, x: float) -> None:
        """Add one observation (a per-case difference b − a)."""
        x = float(x)
        if not math.isfinite(x):
            raise UsageError(f"observations must be finite, got {x}")
        self._n += 1
        self._total += x
        n, s2, t2 = self._n, self.sigma2, self.tau2
        gap = self._total / n - self.theta0
        self._log_e = 0.5 * math.log(s2 / (s2 + n * t2)) + (n * n * t2 * gap * gap) / (
            2.0 * s2 * (s2 + n * t2)
        )
        self._max_log_e = max(self._max_log_e, self._log_e)
        if self._first_rejection is None and self._log_e >= -math.log(self.alpha):
            self._first_rejection = n

    @property
    def state(self) -> SequentialState:
        """The test's current standing."""
        n, s2, t2 = self._n, self.sigma2, self.tau2
        mean = self._total / n if n else 0.0
        interval = None
        if n:
            radius = math.sqrt(
                s2 * (s2 + n * t2) / (n * n * t2) * math.log((s2 + n * t2) / (s2 * self.alpha**2))
            )
            interval = Interval(
                lo=mean - radius, hi=mean + radius, confidence=1.0 - self.alpha, method="mSPRT CS"
            )
        return SequentialState(
            n=n,
            estimate=mean,
            e_value=math.exp(min(self._log_e, 700.0)),
            p_value=min(1.0, math.exp(-self._max_log_e)),
            interval=interval,
            rejected=self.rejected,
            first_rejection=self._first_rejection,
            method="mSPRT (normal mixture)",
            details={"sigma2": s2, "tau2": t2, "theta0": self.theta0, "alpha": self.alpha},
        )


class DiscordantPairEProcess:
    """Sequential McNemar test: a Beta-mixture e-process on the discordant pairs.

    Only cases where exactly one variant passes carry information; under H0 each is won by
    B with probability 1/2. With k wins for B among n discordant pairs the Beta(a, b)
    mixture likelihood ratio is ``E_n = 2^n · B(a + k, b + n − k) / B(a, b)``, an e-process:
    reject when it reaches 1/α, at any time (Ville's inequality). Two-sided: it grows when
    either variant wins more than half of the discordant pairs.

    Reference:
        Ramdas, Grünwald, Vovk & Shafer, *Game-theoretic statistics and safe anytime-valid
        inference*, arXiv 2210.01948; Grünwald, de Heide & Koolen, *Safe testing*, arXiv
        1906.07801.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(11)
        >>> test = DiscordantPairEProcess(alpha=0.05)
        >>> for a, b in zip(rng.random(400) < 0.6, rng.random(400) < 0.75):
        ...     test.update(a, b)
        >>> state = test.state
        >>> state.rejected, state.first_rejection
        (True, 266)
    """

    def __init__(self, *, alpha: float = 0.05, prior_a: float = 1.0, prior_b: float = 1.0) -> None:
        check_probability(alpha, "alpha")
        if not prior_a > 0.0 or not prior_b > 0.0:
            raise UsageError("the Beta prior's parameters must be positive")
        self.alpha = alpha
        """Level of the test."""
        self.prior_a = prior_a
        """First parameter of the Beta mixing prior over B's win probability."""
        self.prior_b = prior_b
        """Second parameter of the Beta mixing prior."""
        self._pairs = 0
        self._discordant = 0
        self._b_wins = 0
        self._log_e = 0.0
        self._max_log_e = 0.0
        self._first_rejection: int | None = None

    @property
    def rejected(self) -> bool:
        """Whether H0 (no difference) has been rejected at some point."""
        return self._first_rejection is not None

    def update(self, a_passed: bool | int, b_passed: bool | int) -> None:
        """Add one case's pass/fail outcome under A and under B."""
        self._pairs += 1
        if bool(a_passed) == bool(b_passed):
            return
        self._discordant += 1
        self._b_wins += int(bool(b_passed))
        n, k = self._discordant, self._b_wins
        self._log_e = (
            n * math.log(2.0)
            + float(special.betaln(self.prior_a + k, self.prior_b + n - k))
            - float(special.betaln(self.prior_a, self.prior_b))
        )
        self._max_log_e = max(self._max_log_e, self._log_e)
        if self._first_rejection is None and self._log_e >= -math.log(self.alpha):
            self._first_rejection = self._pairs

    @property
    def state(self) -> SequentialState:
        """The test's current standing (``first_rejection`` counts all pairs fed)."""
        n = self._discordant
        return SequentialState(
            n=self._pairs,
            estimate=self._b_wins / n if n else 0.5,
            e_value=math.exp(min(self._log_e, 700.0)),
            p_value=min(1.0, math.exp(-self._max_log_e)),
            interval=None,
            rejected=self.rejected,
            first_rejection=self._first_rejection,
            method="discordant-pair e-process (Beta mixture)",
            details={"discordant": n, "b_wins": self._b_wins, "alpha": self.alpha},
        )


def msprt_test(
    a: Scores,
    b: Scores,
    *,
    tau2: float,
    sigma2: float | None = None,
    theta0: float = 0.0,
    alpha: float = 0.05,
) -> SequentialState:
    """Run :class:`MixtureSPRT` over the paired differences ``b - a`` in order.

    Args:
        a: Score of variant A per case, in arrival order.
        b: Score of variant B per case, same order.
        tau2: Mixture variance, about the squared effect you expect.
        sigma2: Variance of a difference; by default the sample variance of all of them
            (a plug-in: exact validity needs it fixed in advance, e.g. from a pilot).
        theta0: Mean difference under H0.
        alpha: Level.

    Returns:
        The state after the last pair.
    """
    d = paired_differences(a, b)
    if sigma2 is None:
        if d.size < 2 or np.ptp(d) == 0.0:
            raise UsageError("cannot estimate sigma2 from fewer than 2 distinct differences")
        sigma2 = float(np.var(d, ddof=1))
    test = MixtureSPRT(sigma2=sigma2, tau2=tau2, theta0=theta0, alpha=alpha)
    for value in d.tolist():
        test.update(value)
    return test.state


def discordant_pair_test(a: Scores, b: Scores, *, alpha: float = 0.05) -> SequentialState:
    """Run :class:`DiscordantPairEProcess` over paired pass/fail outcomes in order.

    Args:
        a: 0/1 pass flag of variant A per case, in arrival order.
        b: 0/1 pass flag of variant B per case, same order.
        alpha: Level.

    Returns:
        The state after the last pair.
    """
    first, second = as_pair(a, b)
    if not (np.isin(first, (0.0, 1.0)).all() and np.isin(second, (0.0, 1.0)).all()):
        raise UsageError("discordant_pair_test needs 0/1 pass flags in a and b")
    test = DiscordantPairEProcess(alpha=alpha)
    for x, y in zip(first.tolist(), second.tolist(), strict=True):
        test.update(bool(x), bool(y))
    return test.state


class TwoSampleMixtureSPRT:
    """Always-valid test and confidence sequence for mean_B − mean_A from two independent buckets.

    For an online A/B where users (or requests) are randomised to bucket A or B and the
    arms fill at their own pace. With known per-observation variances σ_A², σ_B², the
    difference of running means ``Δ̂ = ȳ_B − ȳ_A`` has variance ``V = σ_A²/n_A + σ_B²/n_B``,
    and ``S = (Δ̂ − θ0)/V`` is a Brownian motion in information time ``1/V`` (the
    covariance of Δ̂ at two times is the later V). The normal-mixture likelihood ratio
    ``Λ = sqrt(V/(V + τ²)) · exp(τ²(Δ̂ − θ0)² / (2V(V + τ²)))`` is therefore a
    martingale under H0 and, by Ville's inequality, P(Λ ever ≥ 1/α) ≤ α: reject at the
    first such look. The confidence sequence
    ``Δ̂ ± sqrt(V(V + τ²)/τ² · log((V + τ²)/(V α²)))`` covers the true difference at every
    n at once. With ``n_A = n_B = n`` and σ_A² = σ_B² = σ² it is Johari et al.'s
    two-stream mSPRT with variance 2σ²/n.

    Assumptions: observations independent within and between buckets; the assignment
    order does not depend on the outcomes (random bucketing); σ² known or fixed from a
    pilot (for pass rates, p(1 − p) at the baseline rate; 0.25 is always safe). Set τ²
    to about the squared difference you expect to matter. See :data:`PEEKING_PROBLEM`.

    Reference:
        Johari, Pekelis & Walsh, *Always Valid Inference: Continuous Monitoring of A/B
        Tests*, Operations Research 70 (2022), arXiv 1512.04922, §4; Robbins (1970);
        Howard et al., Annals of Statistics 49 (2021).

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(5)
        >>> test = TwoSampleMixtureSPRT(sigma2_a=1.0, sigma2_b=1.0, tau2=0.04)
        >>> for i in range(4000):
        ...     bucket = "a" if rng.random() < 0.5 else "b"
        ...     test.update(bucket, rng.normal(0.0 if bucket == "a" else 0.15, 1.0))
        ...     if test.rejected:
        ...         break
        >>> state = test.state
        >>> state.first_rejection, state.interval.lo > 0
        (1127, True)
    """

    def __init__(
        self,
        *,
        sigma2_a: float,
        sigma2_b: float,
        tau2: float,
        theta0: float = 0.0,
        alpha: float = 0.05,
    ) -> None:
        if not min(sigma2_a, sigma2_b, tau2) > 0.0:
            raise UsageError("sigma2_a, sigma2_b and tau2 must be positive")
        check_probability(alpha, "alpha")
        self.sigma2_a = sigma2_a
        """Variance of one observation in bucket A."""
        self.sigma2_b = sigma2_b
        """Variance of one observation in bucket B."""
        self.tau2 = tau2
        """Variance of the normal mixture over the difference."""
        self.theta0 = theta0
        """The difference mean_B − mean_A under H0."""
        self.alpha = alpha
        """Level of the test and of the confidence sequence."""
        self._n = {"a": 0, "b": 0}
        self._total = {"a": 0.0, "b": 0.0}
        self._log_e = 0.0
        self._max_log_e = 0.0
        self._first_rejection: int | None = None

    @property
    def rejected(self) -> bool:
        """Whether H0 has been rejected at some look."""
        return self._first_rejection is not None

    def _variance(self) -> float:
        n_a, n_b = self._n["a"], self._n["b"]
        if n_a == 0 or n_b == 0:
            return math.inf
        return self.sigma2_a / n_a + self.sigma2_b / n_b

    def _difference(self) -> float:
        n_a, n_b = self._n["a"], self._n["b"]
        if n_a == 0 or n_b == 0:
            return 0.0
        return self._total["b"] / n_b - self._total["a"] / n_a

    def update(self, bucket: Bucket, x: float) -> None:
        """Add one observation from bucket ``"a"`` or ``"b"``, then look."""
        if bucket not in ("a", "b"):
            raise UsageError(f"bucket must be 'a' or 'b', got {bucket!r}")
        x = float(x)
        if not math.isfinite(x):
            raise UsageError(f"observations must be finite, got {x}")
        self._n[bucket] += 1
        self._total[bucket] += x
        self._look()

    @classmethod
    def at(
        cls,
        *,
        n_a: int,
        total_a: float,
        n_b: int,
        total_b: float,
        sigma2_a: float,
        sigma2_b: float,
        tau2: float,
        theta0: float = 0.0,
        alpha: float = 0.05,
    ) -> TwoSampleMixtureSPRT:
        """The test after one look at running totals (a monitor that looks now and then).

        Each such look is one of the looks the guarantee covers: a monitor may look at
        the totals whenever it likes and stop at any look. ``p_value`` and ``rejected``
        then describe this look only (the path between looks is not known).
        """
        if n_a < 0 or n_b < 0:
            raise UsageError("counts must be non-negative")
        test = cls(sigma2_a=sigma2_a, sigma2_b=sigma2_b, tau2=tau2, theta0=theta0, alpha=alpha)
        test._n = {"a": n_a, "b": n_b}
        test._total = {"a": float(total_a), "b": float(total_b)}
        test._look()
        return test

    def _look(self) -> None:
        variance = self._variance()
        if not math.isfinite(variance):
            return
        gap = self._difference() - self.theta0
        spread = variance + self.tau2
        self._log_e = 0.5 * math.log(variance / spread) + self.tau2 * gap * gap / (
            2.0 * variance * spread
        )
        self._max_log_e = max(self._max_log_e, self._log_e)
        if self._first_rejection is None and self._log_e >= -math.log(self.alpha):
            self._first_rejection = self._n["a"] + self._n["b"]

    @property
    def state(self) -> SequentialState:
        """The test's current standing (``n`` and ``first_rejection`` count both buckets)."""
        variance, estimate = self._variance(), self._difference()
        interval = None
        if math.isfinite(variance):
            spread = variance + self.tau2
            radius = math.sqrt(
                variance * spread / self.tau2 * math.log(spread / (variance * self.alpha**2))
            )
            interval = Interval(
                lo=estimate - radius,
                hi=estimate + radius,
                confidence=1.0 - self.alpha,
                method="two-sample mSPRT CS",
            )
        return SequentialState(
            n=self._n["a"] + self._n["b"],
            estimate=estimate,
            e_value=math.exp(min(self._log_e, 700.0)),
            p_value=min(1.0, math.exp(-self._max_log_e)),
            interval=interval,
            rejected=self.rejected,
            first_rejection=self._first_rejection,
            method="two-sample mSPRT (normal mixture)",
            details={
                "n_a": self._n["a"],
                "n_b": self._n["b"],
                "sigma2_a": self.sigma2_a,
                "sigma2_b": self.sigma2_b,
                "tau2": self.tau2,
                "theta0": self.theta0,
                "alpha": self.alpha,
            },
        )


def two_sample_msprt_test(
    events: Iterable[tuple[Bucket, float]],
    *,
    sigma2_a: float,
    sigma2_b: float,
    tau2: float,
    theta0: float = 0.0,
    alpha: float = 0.05,
) -> SequentialState:
    """Run :class:`TwoSampleMixtureSPRT` over ``(bucket, value)`` events in arrival order.

    Args:
        events: ``("a", x)`` or ``("b", x)`` per observation, in the order they arrived.
        sigma2_a: Variance of one observation in bucket A (fixed in advance).
        sigma2_b: Variance of one observation in bucket B.
        tau2: Mixture variance, about the squared difference you expect.
        theta0: Difference mean_B − mean_A under H0.
        alpha: Level.

    Returns:
        The state after the last event.
    """
    test = TwoSampleMixtureSPRT(
        sigma2_a=sigma2_a, sigma2_b=sigma2_b, tau2=tau2, theta0=theta0, alpha=alpha
    )
    for bucket, value in events:
        test.update(bucket, value)
    return test.state
