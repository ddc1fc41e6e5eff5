"""``store.labels`` on each store: a reviewer's label replaces their earlier one; bounds."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from evallock.limits import FieldLimitError
from evallock.records import JudgeLabel

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def label(subject: str, reviewer: str, score: int, version: str = "judge@aaa") -> JudgeLabel:
    return JudgeLabel(
        subject=subject,
        judge_version=version,
        reviewer=reviewer,
        human_score=score,
        judge_score=4,
        labeled_at=T0,
        evaluator="quality",
        note="checked the policy",
    )


def test_labels_by_version_and_a_relabel_replaces(store) -> None:
    store.labels.add(
        [label("trace:1", "ana", 4), label("trace:1", "ben", 3), label("trace:2", "ana", 5)]
    )
    store.labels.add([replace(label("trace:1", "ana", 2), labeled_at=T0 + timedelta(hours=1))])
    store.labels.add([label("trace:9", "ana", 1, version="judge@bbb")])
    found = store.labels.of_version("judge@aaa")
    assert {(lab.subject, lab.reviewer, lab.human_score) for lab in found} == {
        ("trace:1", "ana", 2),
        ("trace:1", "ben", 3),
        ("trace:2", "ana", 5),
    }
    assert found[0].labeled_at.tzinfo is not None and found[0].note == "checked the policy"
    assert store.labels.versions() == [("judge@aaa", 3), ("judge@bbb", 1)]
    trail = store.labels.history("trace:1")
    assert [(e["reviewer"], e["action"], e["score"]) for e in trail] == [
        ("ana", "label", 4),
        ("ben", "label", 3),
        ("ana", "relabel", 2),
    ]
    assert trail[0]["at"].tzinfo is not None


def test_bad_labels_are_refused_whole(store) -> None:
    with pytest.raises(ValueError, match="human_score must be 1-5"):
        store.labels.add([label("trace:1", "ana", 4), label("trace:2", "ana", 6)])
    with pytest.raises(FieldLimitError, match=r"label\.note"):
        store.labels.add([replace(label("trace:1", "ana", 4), note="x" * 20_000)])
    assert store.labels.of_version("judge@aaa") == []
