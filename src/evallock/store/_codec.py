"""Row codecs: records turned into row mappings for the tables, and rows back into records.

Keys are split with :func:`evallock.keys.split_keys` into the shared-key columns
and the ``extra`` JSON object, and put back together as one dict on read. Grades
are stored as a JSON list of plain dicts.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any, cast

from sqlalchemy.engine import Row

from evallock.keys import split_keys
from evallock.limits import MAX_TOOL_CALLS
from evallock.records import EvalRecord, Grade, Run, RunStatus, RunSummary, ToolCall
from evallock.store._schema import RECORD_KEY_COLUMNS, RUN_KEY_COLUMNS

__all__ = [
    "RecordKeyColumns",
    "grade_from_dict",
    "record_from_row",
    "record_to_row",
    "run_from_row",
    "run_to_row",
]

_GRADE_FIELDS = tuple(f.name for f in fields(Grade))
_RUN_COLUMNS = frozenset(RUN_KEY_COLUMNS)
_RECORD_COLUMNS = frozenset(RECORD_KEY_COLUMNS)


def _aware(value: datetime | None, what: str) -> datetime | None:
    if value is not None and value.utcoffset() is None:
        raise ValueError(f"{what} is a naive datetime; pass a timezone-aware (UTC) time")
    return value


def grade_from_dict(data: dict[str, Any]) -> Grade:
    """A grade from its stored dict; fields this version does not know are ignored."""
    return Grade(**{name: data[name] for name in _GRADE_FIELDS if name in data})


def _keys_to_columns(keys: dict[str, str], columns: frozenset[str]) -> dict[str, Any]:
    split = split_keys(keys)
    row: dict[str, Any] = dict.fromkeys(columns)
    extra = dict(split.extra)
    for name, value in split.shared.items():
        if name in columns:
            row[name] = value
        else:
            extra[name] = value
    row["extra"] = extra
    return row


class RecordKeyColumns:
    """Key columns of records, memoised: the records of one batch mostly share their keys."""

    def __init__(self) -> None:
        self._seen: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}

    def __call__(self, keys: dict[str, str]) -> dict[str, Any]:
        """The shared-key columns and ``extra`` for these keys (a fresh dict each call)."""
        ident = tuple(keys.items())
        try:
            columns = self._seen.get(ident)
        except TypeError:  # an unhashable value: split_keys will stringify it
            return _keys_to_columns(keys, _RECORD_COLUMNS)
        if columns is None:
            columns = self._seen[ident] = _keys_to_columns(keys, _RECORD_COLUMNS)
        return dict(columns)  # the shared ``extra`` dict is only read, never changed


def _keys_from_row(row: Row[Any], columns: tuple[str, ...]) -> dict[str, str]:
    mapping = row._mapping
    keys = {name: mapping[name] for name in columns if mapping[name] is not None}
    keys.update(mapping["extra"] or {})
    return keys


def run_to_row(run: Run) -> dict[str, Any]:
    """The ``runs`` row for a run."""
    row = _keys_to_columns(run.keys, _RUN_COLUMNS)
    row.update(
        run_id=run.run_id,
        dataset_id=run.dataset_id,
        dataset_name=run.dataset_name,
        target_id=run.target_id,
        started_at=_aware(run.started_at, "Run.started_at"),
        finished_at=_aware(run.finished_at, "Run.finished_at"),
        status=run.status,
        verdict=run.verdict,
        baseline_run_id=run.baseline_run_id,
        settings=run.settings,
        summary=run.summary.to_json() if run.summary is not None else {},
    )
    return row


def run_from_row(row: Row[Any]) -> Run:
    """The run stored in a ``runs`` row."""
    m = row._mapping
    return Run(
        run_id=m["run_id"],
        dataset_id=m["dataset_id"],
        dataset_name=m["dataset_name"],
        target_id=m["target_id"],
        started_at=m["started_at"],
        keys=_keys_from_row(row, RUN_KEY_COLUMNS),
        settings=m["settings"],
        status=cast(RunStatus, m["status"]),
        finished_at=m["finished_at"],
        verdict=m["verdict"],
        summary=RunSummary.from_json(m["summary"]),
        baseline_run_id=m["baseline_run_id"],
    )


def record_to_row(
    record: EvalRecord, created_at: datetime, key_columns: RecordKeyColumns | None = None
) -> dict[str, Any]:
    """The ``eval_records`` row for a record; ``created_at`` fills in a missing time.

    Pass one ``key_columns`` for a whole batch to split each distinct set of keys once.
    """
    row = (key_columns or RecordKeyColumns())(record.keys)
    row.update(
        run_id=record.run_id,
        case_id=record.case_id,
        trial=record.trial,
        passed=record.passed,
        score=record.score,
        reason=record.reason,
        output=record.output,
        error=record.error,
        error_kind=record.error_kind,
        judge_score=record.judge_score,
        latency_ms=record.latency_ms,
        tokens_in=record.tokens_in,
        tokens_out=record.tokens_out,
        grades=record.grades,  # orjson writes the frozen dataclasses as objects
        created_at=_aware(record.created_at, "EvalRecord.created_at") or created_at,
        trajectory=_trajectory(record),
    )
    return row


def _trajectory(record: EvalRecord) -> dict[str, Any] | None:
    """A trial's tool calls (the first :data:`MAX_TOOL_CALLS`) and turns as stored; None for
    one turn without tool calls."""
    if not record.tool_calls and record.turns == 1:
        return None
    calls = []
    for call in record.tool_calls[:MAX_TOOL_CALLS]:
        stored: dict[str, Any] = {"name": call.name, "arguments": call.arguments}
        if call.id is not None:
            stored["id"] = call.id
        calls.append(stored)
    trajectory: dict[str, Any] = {"turns": record.turns, "tool_calls": calls}
    if len(record.tool_calls) > MAX_TOOL_CALLS:
        trajectory["more_tool_calls"] = len(record.tool_calls) - MAX_TOOL_CALLS
    return trajectory


def record_from_row(row: Row[Any]) -> EvalRecord:
    """The record stored in an ``eval_records`` row."""
    m = row._mapping
    return EvalRecord(
        run_id=m["run_id"],
        case_id=m["case_id"],
        trial=m["trial"],
        passed=m["passed"],
        score=m["score"],
        reason=m["reason"],
        output=m["output"],
        error=m["error"],
        error_kind=m["error_kind"],
        judge_score=m["judge_score"],
        latency_ms=m["latency_ms"],
        tokens_in=m["tokens_in"],
        tokens_out=m["tokens_out"],
        grades=tuple(grade_from_dict(g) for g in m["grades"]),
        keys=_keys_from_row(row, RECORD_KEY_COLUMNS),
        created_at=m["created_at"],
        **_trajectory_of(m["trajectory"]),
    )


def _trajectory_of(stored: dict[str, Any] | None) -> dict[str, Any]:
    if not stored:
        return {}
    calls = tuple(
        ToolCall(name=c["name"], arguments=c.get("arguments", ""), id=c.get("id"))
        for c in stored.get("tool_calls", ())
    )
    return {"tool_calls": calls, "turns": int(stored.get("turns", 1))}
