"""Judged traces and the baselines they are compared with."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from evallock.records import BAD_SCORE

__all__ = ["BAD_SCORE", "DriftBaseline", "TraceScore"]


@dataclass(frozen=True, kw_only=True, slots=True)
class TraceScore:
    """One sampled trace and what the judge made of it."""

    trace_id: str
    """The trace."""
    timestamp: datetime
    """When it happened (UTC)."""
    score: int | None
    """The judge's 1–5 score; None on a judge error."""
    reason: str = ""
    """The judge's reason, or the error."""
    error: str | None = None
    """Why there is no score (an unparseable judge reply)."""
    stratum: str = ""
    """Its sampling stratum."""
    keys: dict[str, str] = field(default_factory=dict)
    """The trace's keys (for slices)."""
    input: str = ""
    """The trace's input text (for input drift on embeddings)."""
    cluster: str | None = None
    """Scores of one cluster are one observation (a golden-set case's trials)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class DriftBaseline:
    """What the window is compared with: a number, a judged window, or a golden-set run."""

    mean: float
    """Baseline mean judge score (1–5)."""
    source: str
    """``number``, ``window 2026-…..2026-…`` or ``run:<id>``."""
    scores: list[TraceScore] = field(default_factory=list)
    """The baseline window's judged sample (empty for a number)."""
    judge_version: str | None = None
    """The judge the baseline was scored with (None for a number)."""
    stratum_sizes: dict[str, int] | None = None
    """Traces per stratum in the baseline window (``--stratify-by``): its traffic mix."""
