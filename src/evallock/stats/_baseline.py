"""The frozen in-control reference of a control chart, given or estimated at warm-up."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from evallock.errors import UsageError

__all__ = ["Baseline", "Warmup", "state_float"]


def state_float(value: Any) -> float:
    """A float read back from a JSON state, where None stands for an infinite value."""
    return math.inf if value is None else float(value)


@dataclass(frozen=True, kw_only=True, slots=True)
class Baseline:
    """The frozen reference of a chart: in-control mean and standard deviation."""

    mean: float
    """In-control mean µ0."""
    sd: float
    """In-control standard deviation σ (of the values fed: scores or batch means)."""


class Warmup:
    """A baseline that is given, or estimated from the first ``size`` values and frozen."""

    def __init__(self, mean: float | None, sd: float | None, size: int) -> None:
        if (mean is None) != (sd is None):
            raise UsageError("give both mean and sd of the baseline, or neither (warm-up)")
        if sd is not None and sd < 0.0:
            raise UsageError(f"sd must be non-negative, got {sd}")
        if mean is None and size < 2:
            raise UsageError(f"warmup must be at least 2 values, got {size}")
        self.baseline = None if mean is None or sd is None else Baseline(mean=mean, sd=sd)
        self._given = self.baseline is not None
        self._size = size
        self._seen: list[float] = []

    def observe(self, x: float) -> Baseline | None:
        """The baseline, after collecting ``x`` if it is still being estimated."""
        if self.baseline is None:
            self._seen.append(x)
            if len(self._seen) == self._size:
                mean, sd = float(np.mean(self._seen)), float(np.std(self._seen, ddof=1))
                self.baseline = Baseline(mean=mean, sd=sd)
                self._seen = []
        return self.baseline

    @property
    def size(self) -> int:
        """Values the baseline is (or was to be) estimated from."""
        return self._size

    @property
    def estimated(self) -> bool:
        """Whether the baseline comes (or will come) from the warm-up rather than being given."""
        return not self._given

    def to_state(self) -> dict[str, Any]:
        """The warm-up as plain JSON-able data (see :meth:`from_state`)."""
        base = self.baseline
        return {
            "size": self._size,
            "seen": list(self._seen),
            "baseline": None if base is None else {"mean": base.mean, "sd": base.sd},
            "given": self._given,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Warmup:
        """Rebuild a warm-up saved by :meth:`to_state`."""
        warmup = cls(None, None, max(2, int(state["size"])))
        warmup._size = int(state["size"])
        base = state["baseline"]
        if base is not None:
            warmup.baseline = Baseline(mean=float(base["mean"]), sd=float(base["sd"]))
        warmup._given = bool(state["given"])
        warmup._seen = [float(x) for x in state["seen"]]
        return warmup
