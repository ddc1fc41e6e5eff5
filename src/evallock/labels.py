"""People's labels of judged answers: the blind sample to label, and reading labels back.

``sample_for_labels`` picks a uniform random sample of an evaluator's judged traces (a
uniform sample is what prediction-powered means and κ need: labelling only the flagged
ones would bias both) and writes what a person needs to score each answer, without the
judge's score. ``resolve_labels`` turns filled-in rows back into :class:`JudgeLabel`
records, finding the judge's score and version of each answer in the store; a row that
names nothing judged is refused with its line.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from evallock.errors import UsageError
from evallock.records import EvalRecord, JudgeLabel, OnlineScore, Trace

__all__ = ["LabelRow", "LabelSources", "resolve_labels", "sample_for_labels"]


class _Online(Protocol):
    def scores(
        self,
        *,
        evaluator: str | None = ...,
        trace_id: str | None = ...,
        since: datetime | None = ...,
        limit: int = ...,
    ) -> list[OnlineScore]: ...


class _Traces(Protocol):
    def get_many(self, trace_ids: Sequence[str]) -> list[Trace]: ...


class _Runs(Protocol):
    def records_of_cases(self, run_id: str, case_ids: Sequence[str]) -> list[EvalRecord]: ...


class LabelSources(Protocol):
    """Where judged answers are found (``Store`` is one)."""

    @property
    def online(self) -> _Online: ...

    @property
    def traces(self) -> _Traces: ...

    @property
    def runs(self) -> _Runs: ...


@dataclass(frozen=True, kw_only=True, slots=True)
class LabelRow:
    """One filled-in row of a labels file (JSONL), with its line for errors."""

    line: int
    subject: str
    score: Any
    reviewer: str | None = None
    evaluator: str | None = None
    note: str | None = None


def sample_for_labels(
    sources: LabelSources,
    evaluator: str,
    *,
    n: int,
    since: datetime | None = None,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """A uniform random sample of the evaluator's judged traces, as rows to label (blind:
    the judge's score is left out)."""
    judged = [
        s
        for s in sources.online.scores(evaluator=evaluator, since=since, limit=1_000_000)
        if s.status == "scored" and s.judge_score is not None
    ]
    picked = random.Random(seed).sample(judged, min(n, len(judged)))
    traces = {t.trace_id: t for t in sources.traces.get_many([s.trace_id for s in picked])}
    rows = []
    for score in picked:
        trace = traces.get(score.trace_id)
        if trace is None:
            continue
        rows.append(
            {
                "subject": f"trace:{score.trace_id}",
                "evaluator": evaluator,
                "input": trace.input,
                "output": trace.output,
                "score": None,
                "reviewer": None,
                "note": None,
            }
        )
    return rows


def resolve_labels(
    sources: LabelSources,
    rows: Iterable[LabelRow],
    *,
    file: str,
    reviewer: str | None,
    place: str = "{file}:{line}",
) -> list[JudgeLabel]:
    """The rows as labels, each beside the judge's score and version of its answer.

    Raises:
        UsageError: ``file:line: reason`` for every row that cannot be a label (a score
            off 1–5, no reviewer, an answer nothing judged); nothing is returned then.
    """
    labels: list[JudgeLabel] = []
    problems: list[str] = []
    now = datetime.now(UTC)
    for row in rows:
        where = place.format(file=file, line=row.line)
        who = row.reviewer or reviewer
        if row.score is None:
            continue  # not labelled (yet): a sample file is filled in over time
        if isinstance(row.score, bool) or row.score not in (1, 2, 3, 4, 5):
            problems.append(f"{where}: score must be 1-5, got {row.score!r}")
            continue
        if not who:
            problems.append(f"{where}: no reviewer (give --reviewer or a reviewer field)")
            continue
        try:
            version, judge_score, evaluator = _judged(sources, row)
        except UsageError as exc:
            problems.append(f"{where}: {exc}")
            continue
        labels.append(
            JudgeLabel(
                subject=row.subject,
                judge_version=version,
                reviewer=who,
                human_score=int(row.score),
                judge_score=judge_score,
                labeled_at=now,
                evaluator=evaluator,
                note=row.note,
            )
        )
    if problems:
        raise UsageError("\n".join(problems))
    return labels


def _judged(sources: LabelSources, row: LabelRow) -> tuple[str, int | None, str | None]:
    kind, _, rest = row.subject.partition(":")
    if kind == "trace":
        if not row.evaluator:
            raise UsageError(f"{row.subject}: name the evaluator whose verdict it checks")
        found = sources.online.scores(evaluator=row.evaluator, trace_id=rest, limit=1)
        if not found or found[0].status == "skipped":
            raise UsageError(f"{row.subject}: evaluator {row.evaluator} has not judged it")
        score = found[0]
        if score.version.startswith("rules@"):
            raise UsageError(f"{row.subject}: evaluator {row.evaluator} asks no judge")
        return score.version.split("+rules@")[0], score.judge_score, row.evaluator
    if kind == "record":
        run_id, _, tail = rest.partition("/")
        case_id, _, trial = tail.rpartition("/")
        if not (run_id and case_id and trial.isdigit()):
            raise UsageError(f"{row.subject}: expected record:<run_id>/<case_id>/<trial>")
        records = [
            r for r in sources.runs.records_of_cases(run_id, [case_id]) if r.trial == int(trial)
        ]
        version = records[0].keys.get("judge_version") if records else None
        if not records or version is None:
            raise UsageError(f"{row.subject}: no judged record")
        return version, records[0].judge_score, None
    raise UsageError(f"subject {row.subject!r}: expected trace:<id> or record:<run>/<case>/<trial>")
