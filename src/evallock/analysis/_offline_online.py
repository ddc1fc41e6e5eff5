"""The records of an offline ⋈ online joined, and their JSON form.

See :mod:`evallock.analysis.offline_online` for how they are computed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from evallock.analysis._slicing import OfflineRun
from evallock.keys import Slice
from evallock.stats import Interval

__all__ = [
    "NO_OFFLINE_COVERAGE",
    "NO_ONLINE_TRAFFIC",
    "OFFLINE_WIN_ONLINE_LOSS",
    "OfflineOnline",
    "OfflineOnlineSlice",
    "OfflineSide",
    "OnlineSide",
    "SliceChange",
    "offline_online_to_dict",
]

OFFLINE_WIN_ONLINE_LOSS = "offline win, online loss"
"""The flag (and verdict) of a slice that offline said improved and online got worse."""
NO_OFFLINE_COVERAGE = "no offline coverage"
"""The flag of a slice with traffic and no eval case in the runs compared."""
NO_ONLINE_TRAFFIC = "no online traffic"
"""The flag of a slice with eval cases and no trace in the window."""


@dataclass(frozen=True, kw_only=True, slots=True)
class OfflineSide:
    """A slice's cases in one run."""

    run_id: str
    """The run."""
    n: int
    """Cases (trials folded by majority)."""
    passed: int
    """Cases passed."""
    pass_rate: float
    """passed / n."""
    pass_rate_ci: Interval
    """95 % Wilson interval."""
    judge_n: int = 0
    """Cases with a judge score."""
    judge_mean: float | None = None
    """Mean judge score (1–5) over those cases."""
    judge_ci: Interval | None = None
    """95 % t interval of the mean (None below 2 cases)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class OnlineSide:
    """A slice's traces in the window."""

    n: int
    """Traces."""
    thumbs_down: int
    """Traces a person rated down."""
    thumbs_down_rate: float
    """thumbs_down / n."""
    thumbs_down_ci: Interval
    """95 % Wilson interval."""
    errors: int
    """Traces whose request failed."""
    error_rate: float
    """errors / n."""
    error_ci: Interval
    """95 % Wilson interval."""
    judge_n: int = 0
    """Traces with a judge score (drift samples)."""
    judge_mean: float | None = None
    """Their mean judge score (1–5)."""
    judge_ci: Interval | None = None
    """95 % t interval of the mean (None below 2 traces)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class SliceChange:
    """How a slice moved from the previous version to this one, offline and online."""

    versus: dict[str, str | None]
    """The previous version's values of the version keys."""
    offline_delta: float | None = None
    """Change of pass rate (this − previous), on ``offline_basis``."""
    offline_ci: Interval | None = None
    """Its 95 % interval."""
    offline_test: str | None = None
    """How it was computed (paired on shared cases, or Newcombe)."""
    offline_basis: str | None = None
    """``slice`` (this slice's cases) or ``overall`` (the whole run)."""
    thumbs_down_delta: float | None = None
    """Change of thumbs-down rate."""
    thumbs_down_ci: Interval | None = None
    """Its 95 % Newcombe interval."""
    judge_delta: float | None = None
    """Change of the online judge mean."""
    judge_ci: Interval | None = None
    """Its 95 % Welch interval."""
    p_value: float | None = None
    """Two-sided p of the online loss: the thumbs-down z-test or Welch's t on the judge
    score, whichever moved the wrong way (Bonferroni over the two); 1 when neither did."""
    p_adjusted: float | None = None
    """``p_value`` adjusted over every slice compared (Benjamini-Hochberg)."""
    verdict: str = "consistent"
    """``offline win, online loss``, ``inconclusive`` or ``consistent``."""


@dataclass(frozen=True, kw_only=True, slots=True)
class OfflineOnlineSlice:
    """One slice: its offline and online sides, the change since the last version, flags."""

    slice: Slice
    """The slice's key values."""
    offline: OfflineSide | None
    """None when no case of the chosen runs falls in it."""
    online: OnlineSide | None
    """None when no trace of the window does."""
    change: SliceChange | None = None
    """None without a version key in the slices, or for a first version."""
    flags: tuple[str, ...] = ()
    """``offline win, online loss``, ``no offline coverage``, ``no online traffic``."""


@dataclass(frozen=True, kw_only=True, slots=True)
class OfflineOnline:
    """Every slice, offline beside online."""

    by: tuple[str, ...]
    """The slice keys."""
    since: datetime | None
    """Start of the traces' window."""
    until: datetime | None
    """End of the traces' window."""
    dataset_name: str | None
    """The case file whose runs are the offline side."""
    runs: tuple[OfflineRun, ...]
    """The runs used, one per version."""
    offline_rule: str = ""
    """Why those runs (the default rule, a window, or named with --run), in words."""
    slices: tuple[OfflineOnlineSlice, ...] = field(default_factory=tuple)
    """One per slice, flagged ones first."""

    @property
    def flagged(self) -> tuple[OfflineOnlineSlice, ...]:
        """Slices flagged offline win, online loss."""
        return tuple(s for s in self.slices if OFFLINE_WIN_ONLINE_LOSS in s.flags)


def _ci(interval: Interval | None) -> list[float] | None:
    if interval is None or not (math.isfinite(interval.lo) and math.isfinite(interval.hi)):
        return None
    return interval.to_json()


def _side(side: OfflineSide | OnlineSide | SliceChange | None, intervals: Iterable[str]) -> Any:
    if side is None:
        return None
    data: dict[str, Any] = {}
    for item in fields(side):
        value = getattr(side, item.name)
        data[item.name] = _ci(value) if item.name in intervals else value
    return data


def offline_online_to_dict(joined: OfflineOnline) -> dict[str, Any]:
    """The joined as JSON-ready data: every rate with its interval and n."""
    intervals = {"pass_rate_ci", "judge_ci", "thumbs_down_ci", "error_ci", "offline_ci"}
    return {
        "by": list(joined.by),
        "since": joined.since.isoformat() if joined.since else None,
        "until": joined.until.isoformat() if joined.until else None,
        "dataset_name": joined.dataset_name,
        "offline_rule": joined.offline_rule,
        "runs": [
            {
                "run_id": r.run.run_id,
                "kind": r.run.kind,
                "verdict": r.run.verdict,
                "started_at": r.run.started_at.isoformat(),
                "dataset_id": r.run.dataset_id,
                "keys": r.run.keys,
                "n": len(r.passes),
                "pass_rate": sum(r.passes.values()) / len(r.passes) if r.passes else None,
            }
            for r in joined.runs
        ],
        "slices": [
            {
                "slice": s.slice.as_dict(),
                "offline": _side(s.offline, intervals),
                "online": _side(s.online, intervals),
                "change": _side(s.change, intervals),
                "flags": list(s.flags),
            }
            for s in joined.slices
        ],
        "flagged": [s.slice.as_dict() for s in joined.flagged],
    }
