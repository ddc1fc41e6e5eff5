"""Coverage: the slices users complain about, and how many golden cases cover each.

A *complaint* is a trace with a person's thumbs-down or a bad judge score (≤ 2 of
5). Complaints are grouped by the slice keys (default ``intent,customer_tier``)
and ranked by volume; each slice is matched with the golden cases whose keys
agree with it. Version keys (prompt_version …) come from runs, not cases, so they
never narrow the match. A slice with complaints and no case is a **blind spot**.
For each slice the most frequent complaint — the biggest cluster of near-identical
inputs — is offered as a ready-to-edit case line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from evallock.analysis._analysis_store import CoverageStore
from evallock.errors import UsageError
from evallock.feedback import NearDuplicateIndex
from evallock.keys import DEFAULT_SLICE_KEYS, RUN_KEYS, Slice
from evallock.records import BAD_SCORE, Case
from evallock.stats import Interval, wilson_interval

if TYPE_CHECKING:
    from evallock.store import Complaint

__all__ = [
    "DEFAULT_COVERAGE_KEYS",
    "CoverageReport",
    "CoverageSlice",
    "coverage_report",
    "coverage_to_dict",
]

DEFAULT_COVERAGE_KEYS: tuple[str, ...] = DEFAULT_SLICE_KEYS
"""The slice keys of ``evallock coverage`` when ``--by`` is not given."""
_SLUG = re.compile(r"[^a-z0-9]+")
_NOT_ON_CASES = frozenset((*RUN_KEYS, "dataset_id", "judge_version"))


@dataclass(frozen=True, kw_only=True, slots=True)
class CoverageSlice:
    """One slice with complaints: their volume, the golden cases covering it, a next case."""

    slice: Slice
    """The slice's key values."""
    complaints: int
    """Traces with a thumbs-down or a bad judge score."""
    thumbs_down: int
    """Of those, rated down by a person."""
    bad_judge: int
    """Of those, judged ≤ 2."""
    traces: int
    """Every trace of the slice in the window."""
    complaint_rate: float
    """complaints / traces."""
    complaint_ci: Interval
    """95 % Wilson interval."""
    golden_cases: tuple[str, ...]
    """Ids of the golden cases that cover the slice."""
    top_complaint: str
    """The input of the most frequent complaint."""
    top_count: int
    """How many complaints are near-duplicates of it."""
    top_trace_id: str
    """A trace of it."""
    suggestion: dict[str, Any] = field(default_factory=dict)
    """A case line to start from (fill in ``expected``)."""

    @property
    def blind_spot(self) -> bool:
        """True when no golden case covers the slice."""
        return not self.golden_cases


@dataclass(frozen=True, kw_only=True, slots=True)
class CoverageReport:
    """Complaint slices ranked by volume."""

    by: tuple[str, ...]
    """The slice keys."""
    dataset_id: str
    """The golden set matched against."""
    since: datetime | None
    """Start of the window."""
    until: datetime | None
    """End of the window."""
    slices: tuple[CoverageSlice, ...]
    """Most complaints first."""

    @property
    def blind_spots(self) -> tuple[CoverageSlice, ...]:
        """Slices no golden case covers."""
        return tuple(s for s in self.slices if s.blind_spot)


def _covers(case: Case, values: dict[str, str | None]) -> bool:
    return all(
        key in _NOT_ON_CASES or (case.keys.get(key) or None) == value
        for key, value in values.items()
    )


def _suggestion(
    values: dict[str, str | None], text: str, trace_id: str, count: int
) -> dict[str, Any]:
    slug = "-".join(_SLUG.sub("-", (v or "none").lower()).strip("-") for v in values.values())
    keys = {k: v for k, v in values.items() if v is not None and k not in _NOT_ON_CASES}
    return {
        "id": f"{slug or 'case'}-{trace_id[:8]}",
        "input": text,
        "expected": "TODO: the answer it should give",
        **({"keys": keys} if keys else {}),
        "source": {
            "kind": "feedback",
            "trace_id": trace_id,
            "lock": True,
            "note": f"{count} complaint(s) like this one; TODO: the bug it guards",
        },
    }


def coverage_report(
    store: CoverageStore,
    cases: Sequence[Case],
    *,
    dataset_id: str,
    by: Sequence[str] = DEFAULT_COVERAGE_KEYS,
    since: datetime | None = None,
    until: datetime | None = None,
    max_judge_score: float = BAD_SCORE,
) -> CoverageReport:
    """Rank complaint slices by volume and count the golden cases covering each.

    Raises:
        UsageError: no slice keys, or an unusable key name.
    """
    keys = tuple(dict.fromkeys(k.strip() for k in by if k.strip()))
    if not keys:
        raise UsageError("--by: give at least one key, e.g. intent,customer_tier")
    try:
        totals = {c.slice.values: c.n for c in store.traces.slices(keys, since=since, until=until)}
    except ValueError as exc:
        raise UsageError(f"--by: {exc}") from None
    complaints = store.traces.complaints(since=since, until=until, max_judge_score=max_judge_score)
    groups: dict[tuple[str | None, ...], list[Complaint]] = {}
    for complaint in complaints:
        values = tuple(complaint.trace.keys.get(k) or None for k in keys)
        groups.setdefault(values, []).append(complaint)
    slices = []
    for values, items in groups.items():
        named = Slice.of(keys, values)
        index = NearDuplicateIndex()
        clusters: dict[str, list[Complaint]] = {}
        for item in items:
            text = item.trace.input or ""
            found = index.find(text)
            if found is None:
                found = item.trace.trace_id
                index.add(found, text)
            clusters.setdefault(found, []).append(item)
        top = max(clusters.values(), key=len)
        newest = top[-1].trace  # what the service does now (as for candidates)
        traffic = max(totals.get(values, 0), len(items))
        slices.append(
            CoverageSlice(
                slice=named,
                complaints=len(items),
                thumbs_down=sum(1 for i in items if i.thumbs_down),
                bad_judge=sum(
                    1
                    for i in items
                    if i.judge_score is not None and i.judge_score <= max_judge_score
                ),
                traces=traffic,
                complaint_rate=len(items) / traffic,
                complaint_ci=wilson_interval(len(items), traffic),
                golden_cases=tuple(c.id for c in cases if _covers(c, named.as_dict())),
                top_complaint=newest.input or "",
                top_count=len(top),
                top_trace_id=newest.trace_id,
                suggestion=_suggestion(
                    named.as_dict(), newest.input or "", newest.trace_id, len(top)
                ),
            )
        )
    slices.sort(key=lambda s: (-s.complaints, tuple(v or "" for v in s.slice.values)))
    return CoverageReport(
        by=keys, dataset_id=dataset_id, since=since, until=until, slices=tuple(slices)
    )


def coverage_to_dict(report: CoverageReport) -> dict[str, Any]:
    """The report as JSON-ready data."""
    return {
        "by": list(report.by),
        "dataset_id": report.dataset_id,
        "since": report.since.isoformat() if report.since else None,
        "until": report.until.isoformat() if report.until else None,
        "slices": [
            {
                "slice": s.slice.as_dict(),
                "complaints": s.complaints,
                "thumbs_down": s.thumbs_down,
                "bad_judge": s.bad_judge,
                "traces": s.traces,
                "complaint_rate": s.complaint_rate,
                "complaint_ci": s.complaint_ci.to_json(),
                "golden_cases": list(s.golden_cases),
                "blind_spot": s.blind_spot,
                "top_complaint": {
                    "input": s.top_complaint,
                    "count": s.top_count,
                    "trace_id": s.top_trace_id,
                },
                "suggestion": s.suggestion,
            }
            for s in report.slices
        ],
        "blind_spots": [s.slice.as_dict() for s in report.blind_spots],
    }
