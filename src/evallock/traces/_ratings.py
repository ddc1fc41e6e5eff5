"""Ratings in telemetry: ``gen_ai.evaluation.result`` events and OpenInference annotations.

Both arrive inside OTLP (an evaluation event as a log record or a span event, an
annotation as attributes of a span) and become :class:`~evallock.records.Feedback`
rows like the ones ``/v1/feedback`` takes. Their ids are derived from what they
say and where they sit, so an exporter's retry stores nothing twice.
"""

from __future__ import annotations

from typing import Any

from evallock.records import Feedback
from evallock.traces._feedback import feedback_id_of, rating_of

__all__ = ["EVALUATION_EVENT", "annotation_feedback", "evaluation_feedback"]

EVALUATION_EVENT = "gen_ai.evaluation.result"
"""The OTel GenAI event that carries a judge's (or any evaluator's) verdict."""


def evaluation_feedback(
    attributes: dict[str, Any], *, trace_id: str, span_id: str, time_ns: int
) -> Feedback:
    """The feedback a ``gen_ai.evaluation.result`` event carries.

    Raises:
        ValueError: no ``gen_ai.evaluation.name``, or neither a score nor a label.
    """
    name = attributes.get("gen_ai.evaluation.name")
    if not isinstance(name, str) or not name:
        raise ValueError("gen_ai.evaluation.name is missing")
    score = attributes.get("gen_ai.evaluation.score.value")
    label = attributes.get("gen_ai.evaluation.score.label")
    rating, number = rating_of(label, score, "gen_ai.evaluation.score")
    explanation = attributes.get("gen_ai.evaluation.explanation")
    author = attributes.get("evallock.judge.version") or attributes.get("evallock.judge_version")
    return Feedback(
        feedback_id=feedback_id_of("otel", trace_id, span_id, name, time_ns, score, label),
        trace_id=trace_id,
        rating=rating,
        score=number,
        comment=explanation if isinstance(explanation, str) else None,
        source="otel",
        author=author if isinstance(author, str) else None,
        name=name,
    )


def annotation_feedback(item: dict[str, Any], *, trace_id: str, span_id: str) -> Feedback:
    """The feedback one OpenInference annotation carries (from ``inline_annotations()``).

    Raises:
        ValueError: its score is not a number.
    """
    rating, number = rating_of(item.get("label"), item.get("score"), "annotation.score")
    identifier = item.get("identifier")
    if isinstance(identifier, str) and identifier:
        feedback_id = feedback_id_of("openinference", item["name"], trace_id, identifier)
    else:
        where = item.get("_index")
        feedback_id = feedback_id_of("openinference", trace_id, span_id, where, item["name"])
    explanation = item.get("explanation")
    kind = item.get("annotator_kind")
    return Feedback(
        feedback_id=feedback_id,
        trace_id=trace_id,
        rating=rating,
        score=number,
        comment=explanation if isinstance(explanation, str) else None,
        source="openinference",
        author=kind if isinstance(kind, str) else None,
        name=item["name"],
    )
