"""Result records shared by the statistics functions: intervals, tests, estimates."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

__all__ = ["Details", "Estimate", "Interval", "TestResult"]

Details = dict[str, float | int | str]
"""Method-specific numbers kept next to a result (counts, variances, tuning constants)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Interval:
    """A confidence interval, or a one-sided bound with an infinite or natural other end."""

    lo: float
    """Lower end; ``-inf`` (or 0 for a proportion) when the bound is upper-only."""
    hi: float
    """Upper end; ``inf`` (or 1 for a proportion) when the bound is lower-only."""
    confidence: float
    """Nominal coverage, e.g. 0.95."""
    method: str
    """How the interval was computed, e.g. ``"wilson"`` or ``"paired CLT"``."""

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies in the closed interval."""
        return self.lo <= value <= self.hi

    def to_json(self) -> list[float]:
        """``[lo, hi]``: how every report and stored record writes an interval."""
        return [self.lo, self.hi]

    @property
    def width(self) -> float:
        """``hi - lo`` (infinite for a one-sided bound on an unbounded scale)."""
        return self.hi - self.lo


@dataclass(frozen=True, kw_only=True, slots=True)
class TestResult:
    """The outcome of a hypothesis test: statistic, p-value, point estimate and interval."""

    __test__: ClassVar[bool] = False  # not a pytest test class, despite the name

    statistic: float | None
    """The test statistic as the method defines it (z, t, W+, …); None when it has none."""
    p_value: float
    """The p-value for the stated alternative, in [0, 1]."""
    estimate: float
    """The effect estimate the test is about (mean difference, share, pseudo-median, …)."""
    interval: Interval | None
    """A confidence interval for ``estimate``, when the method gives one."""
    method: str
    """Name of the test as it should be shown to a user, e.g. ``"McNemar mid-p"``."""
    n: int
    """Number of units analysed (cases or pairs, never individual samples)."""
    details: Details = field(default_factory=dict)
    """Method-specific numbers: counts, standard errors, degrees of freedom, …"""
    alternative: str = "two-sided"
    """``"two-sided"``, ``"greater"`` (B above A / above the null) or ``"less"``."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Estimate:
    """A point estimate with its standard error and confidence interval (no test)."""

    estimate: float
    """The point estimate."""
    se: float | None
    """Its standard error; None when the interval is not SE-based (e.g. bootstrap BCa)."""
    interval: Interval
    """The confidence interval."""
    n: int
    """Number of units analysed."""
    method: str
    """How the estimate and interval were computed."""
    details: Details = field(default_factory=dict)
    """Method-specific numbers (tuning constants, component means, …)."""
