"""The label repository (``store.labels``): people's scores of judged answers.

A label pairs a reviewer's 1–5 score with the judge's score of the same answer under one
judge version; agreement is computed per judge version from these pairs. A reviewer's
second label of the same subject and version replaces the first (one transaction). Every
label, relabel and adjudication is also kept, in order, in the audit trail
(:meth:`LabelRepository.history`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select, tuple_

from evallock.limits import MAX_ID, MAX_SHORT_TEXT, check_text
from evallock.records import JudgeLabel
from evallock.store._database import Database, check_page
from evallock.store._schema import judge_labels, label_events

__all__ = ["LabelRepository"]


class LabelRepository:
    """Labels of judged answers, by judge version."""

    def __init__(self, db: Database) -> None:
        """Work on ``db``."""
        self._db = db

    def add(self, labels: Sequence[JudgeLabel]) -> None:
        """Store labels in one transaction; a reviewer's earlier label of the same subject
        and judge version is replaced.

        Raises:
            FieldLimitError: a field past its limit (named); nothing is written.
            ValueError: a score outside 1–5.
        """
        for label in labels:
            for name in ("subject", "judge_version", "reviewer"):
                check_text(f"label.{name}", getattr(label, name), MAX_ID)
            check_text("label.evaluator", label.evaluator, MAX_ID)
            check_text("label.note", label.note, MAX_SHORT_TEXT)
            for name in ("human_score", "judge_score"):
                value = getattr(label, name)
                if value is not None and (isinstance(value, bool) or not 1 <= value <= 5):
                    raise ValueError(f"label.{name} must be 1-5, got {value!r}")
        if not labels:
            return
        keys = [(lab.subject, lab.judge_version, lab.reviewer) for lab in labels]
        c = judge_labels.c
        latest = {key: lab for key, lab in zip(keys, labels, strict=True)}
        with self._db.write(f"cannot store {len(labels)} labels") as conn:
            before: dict[tuple[str, str, str], int] = {}
            for start in range(0, len(keys), 300):
                chunk = tuple_(c.subject, c.judge_version, c.reviewer).in_(
                    keys[start : start + 300]
                )
                for row in conn.execute(
                    select(c.subject, c.judge_version, c.reviewer, c.human_score).where(chunk)
                ):
                    before[(row[0], row[1], row[2])] = row[3]
                conn.execute(delete(judge_labels).where(chunk))
            conn.execute(judge_labels.insert(), [_row(lab) for lab in latest.values()])
            conn.execute(
                label_events.insert(),
                [
                    {
                        "subject": lab.subject,
                        "judge_version": lab.judge_version,
                        "reviewer": lab.reviewer,
                        "action": "adjudicate"
                        if lab.adjudicated
                        else ("relabel" if key in before else "label"),
                        "human_score": lab.human_score,
                        "at": lab.labeled_at,
                        "note": lab.note,
                    }
                    for key, lab in latest.items()
                ],
            )

    def history(self, subject: str, *, limit: int = 1000) -> list[dict[str, Any]]:
        """Every labelling action on ``subject``, oldest first (the audit trail)."""
        check_page(limit, 0)
        e = label_events.c
        stmt = select(label_events).where(e.subject == subject).order_by(e.id).limit(limit)
        with self._db.read("cannot read the labels' audit trail") as conn:
            return [
                {
                    "at": row.at,
                    "reviewer": row.reviewer,
                    "action": row.action,
                    "score": row.human_score,
                    "judge_version": row.judge_version,
                    "note": row.note,
                }
                for row in conn.execute(stmt)
            ]

    def of_version(self, judge_version: str, *, limit: int = 100_000) -> list[JudgeLabel]:
        """Every label checking ``judge_version``, oldest first."""
        check_page(limit, 0)
        c = judge_labels.c
        stmt = (
            select(judge_labels)
            .where(c.judge_version == judge_version)
            .order_by(c.labeled_at, c.subject, c.reviewer)
            .limit(limit)
        )
        with self._db.read("cannot read labels") as conn:
            return [_label(row) for row in conn.execute(stmt)]

    def versions(self) -> list[tuple[str, int]]:
        """Each judge version with labels, and how many, most labelled first."""
        c = judge_labels.c
        stmt = (
            select(c.judge_version, func.count())
            .group_by(c.judge_version)
            .order_by(func.count().desc(), c.judge_version)
        )
        with self._db.read("cannot read labels") as conn:
            return [(row[0], int(row[1])) for row in conn.execute(stmt)]


def _row(lab: JudgeLabel) -> dict[str, Any]:
    return {
        "subject": lab.subject,
        "judge_version": lab.judge_version,
        "reviewer": lab.reviewer,
        "human_score": lab.human_score,
        "judge_score": lab.judge_score,
        "labeled_at": lab.labeled_at,
        "evaluator": lab.evaluator,
        "note": lab.note,
        "adjudicated": lab.adjudicated,
    }


def _label(row: object) -> JudgeLabel:
    return JudgeLabel(
        subject=row.subject,  # type: ignore[attr-defined]
        judge_version=row.judge_version,  # type: ignore[attr-defined]
        reviewer=row.reviewer,  # type: ignore[attr-defined]
        human_score=row.human_score,  # type: ignore[attr-defined]
        judge_score=row.judge_score,  # type: ignore[attr-defined]
        labeled_at=row.labeled_at,  # type: ignore[attr-defined]
        evaluator=row.evaluator,  # type: ignore[attr-defined]
        note=row.note,  # type: ignore[attr-defined]
        adjudicated=bool(row.adjudicated),  # type: ignore[attr-defined]
    )
