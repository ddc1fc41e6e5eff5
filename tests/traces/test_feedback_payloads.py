"""Feedback payloads: our shape, Langfuse scores, Phoenix annotations; ids for retries."""

from __future__ import annotations

import pytest

from evallock.traces import parse_feedback, parse_feedback_items

TRACE = "89d60bc7acef1141d97392b18134d84b"


@pytest.mark.parametrize(
    ("rating", "expected"),
    [
        ("up", ("up", 1.0)),
        ("down", ("down", 0.0)),
        ("Down", ("down", 0.0)),
        ("thumbs_down", ("down", 0.0)),
        (True, ("up", 1.0)),
        (4, ("4", 4.0)),
        (0.25, ("0.25", 0.25)),
        ("3.0", ("3", 3.0)),
        (-1, ("-1", -1.0)),
    ],
)
def test_our_shape_ratings(rating, expected):
    item = parse_feedback({"trace_id": TRACE, "rating": rating})
    assert (item.rating, item.score) == expected
    assert (item.source, item.name, item.trace_id) == ("evallock", "user_feedback", TRACE)


def test_our_shape_with_id_comment_and_an_upper_case_or_uuid_trace_id():
    item = parse_feedback(
        {
            "trace_id": TRACE.upper(),
            "rating": "down",
            "comment": "wrong",
            "id": "fb-42",
            "author": "u-7",
        }
    )
    assert (item.feedback_id, item.trace_id, item.comment, item.author) == (
        "fb-42",
        TRACE,
        "wrong",
        "u-7",
    )
    dashed = "89d60bc7-acef-1141-d973-92b18134d84b"
    assert parse_feedback({"trace_id": dashed, "rating": "up"}).trace_id == TRACE


def test_id_less_payloads_get_a_deterministic_id():
    payload = {"trace_id": TRACE, "rating": "down", "comment": "late"}
    first, again = parse_feedback(payload), parse_feedback(dict(reversed(payload.items())))
    assert first.feedback_id == again.feedback_id
    assert first.feedback_id.startswith("fb-") and len(first.feedback_id) == 35
    other = parse_feedback({**payload, "comment": "very late"})
    assert other.feedback_id != first.feedback_id


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"rating": "up"}, "trace_id: missing"),
        ({"trace_id": "xyz", "rating": "up"}, "trace_id: 'xyz' is not a trace id"),
        ({"trace_id": "0" * 32, "rating": "up"}, "trace_id: an all-zero trace id is invalid"),
        ({"trace_id": 7, "rating": "up"}, "trace_id: expected a string"),
        ({"trace_id": TRACE}, "rating: missing"),
        (
            {"trace_id": TRACE, "rating": "meh"},
            'rating: expected "up", "down" or a number, got \'meh\'',
        ),
        ({"trace_id": TRACE, "rating": float("nan")}, "rating: expected a finite number"),
        ({"trace_id": TRACE, "rating": [1]}, "rating: expected a number"),
        ({"trace_id": TRACE, "rating": "up", "comment": 5}, "comment: expected a string"),
        ({"trace_id": TRACE, "rating": "up", "id": {"a": 1}}, "id: expected a string"),
    ],
)
def test_bad_payloads_name_the_field(payload, message):
    with pytest.raises(ValueError) as caught:
        parse_feedback(payload)
    assert str(caught.value).startswith(message)


def test_langfuse_boolean_score_from_the_interop_example():
    payload = {
        "name": "user_feedback",
        "value": 0,
        "dataType": "BOOLEAN",
        "traceId": TRACE,
        "observationId": "bd01cef332e6d1cd",
        "comment": "It said I still had 40 days.",
        "metadata": {"channel": "web_widget", "customer_tier": "gold"},
        "environment": "production",
    }
    item = parse_feedback(payload)
    assert (item.trace_id, item.rating, item.score) == (TRACE, "down", 0.0)
    assert (item.comment, item.source, item.name) == (
        "It said I still had 40 days.",
        "langfuse",
        "user_feedback",
    )
    assert item.feedback_id == parse_feedback(payload).feedback_id


@pytest.mark.parametrize(
    ("value", "data_type", "expected"),
    [
        (1, "BOOLEAN", ("up", 1.0)),
        (True, None, ("up", 1.0)),
        (4.5, "NUMERIC", ("4.5", 4.5)),
        (3, None, ("3", 3.0)),
        ("thumbs_up", "CATEGORICAL", ("up", 1.0)),
        ("negative", "CATEGORICAL", ("down", 0.0)),  # a sentiment score
        ("Thumbs Down", "CATEGORICAL", ("down", 0.0)),
        ("needs-work", "CATEGORICAL", ("needs-work", None)),
    ],
)
def test_langfuse_data_types(value, data_type, expected):
    payload = {"id": "score-1", "traceId": TRACE, "name": "quality", "value": value}
    if data_type:
        payload["dataType"] = data_type
    item = parse_feedback(payload)
    assert (item.rating, item.score, item.feedback_id) == (*expected, "score-1")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (
            {"name": "q", "value": 1, "observationId": "bd01cef332e6d1cd"},
            "traceId: missing (observationId alone is not enough",
        ),
        ({"traceId": TRACE, "value": 1}, "name: missing"),
        ({"traceId": TRACE, "name": "q"}, "value: missing"),
        (
            {"traceId": TRACE, "name": "q", "value": 2, "dataType": "BOOLEAN"},
            "value: a BOOLEAN score is 0 or 1",
        ),
        (
            {"traceId": TRACE, "name": "q", "value": "high", "dataType": "NUMERIC"},
            "value: expected a number",
        ),
    ],
)
def test_bad_langfuse_scores_name_the_field(payload, message):
    with pytest.raises(ValueError) as caught:
        parse_feedback(payload)
    assert str(caught.value).startswith(message)


PHOENIX = {
    "span_id": "bd01cef332e6d1cd",
    "trace_id": TRACE,
    "name": "user_feedback",
    "annotator_kind": "HUMAN",
    "result": {"label": "thumbs_down", "score": 0, "explanation": "It said I still had 40 days."},
    "metadata": {"channel": "web_widget"},
    "identifier": "fb-2026-03-02-7781",
}


def test_phoenix_annotation_alone_and_in_a_data_list():
    item = parse_feedback(PHOENIX)
    assert (item.trace_id, item.rating, item.score) == (TRACE, "down", 0.0)
    assert (item.comment, item.source, item.author) == (
        "It said I still had 40 days.",
        "phoenix",
        "HUMAN",
    )
    assert parse_feedback({"data": [PHOENIX]}) == item
    changed = parse_feedback({**PHOENIX, "result": {"label": "thumbs_up"}})
    assert changed.feedback_id == item.feedback_id  # same (name, target, identifier): same record


def test_phoenix_data_lists_of_several_items():
    second = {
        **PHOENIX,
        "identifier": "",
        "name": "correctness",
        "annotator_kind": "LLM",
        "result": {"score": 0.8},
    }
    items = parse_feedback_items({"data": [PHOENIX, second]})
    assert [(i.name, i.rating) for i in items] == [
        ("user_feedback", "down"),
        ("correctness", "0.8"),
    ]
    with pytest.raises(ValueError, match="data: 2 items"):
        parse_feedback({"data": [PHOENIX, second]})
    with pytest.raises(ValueError, match=r"^data\[1\]\.result: missing"):
        parse_feedback_items({"data": [PHOENIX, {**second, "result": {"explanation": "?"}}]})
    with pytest.raises(ValueError, match=r"^data: expected a non-empty list"):
        parse_feedback_items({"data": []})


def test_a_phoenix_span_annotation_rates_the_trace_its_span_arrived_in():
    from evallock.traces import UnknownSpanError, annotated_spans

    payload = {k: v for k, v in PHOENIX.items() if k != "trace_id"}
    payload["span_id"] = "00F067AA0BA902B7"
    assert annotated_spans({"data": [payload]}) == ["00f067aa0ba902b7"]
    with pytest.raises(UnknownSpanError, match=r"^span_id: no span 00f067aa0ba902b7 has arrived"):
        parse_feedback(payload)
    (rating,) = parse_feedback_items(payload, {"00f067aa0ba902b7": TRACE})
    assert rating.trace_id == TRACE
    # a span id that is not one cannot be looked up: the trace id is what is missing
    payload["span_id"] = "not-a-span"
    assert annotated_spans(payload) == []
    with pytest.raises(ValueError, match=r"^trace_id: missing \(span_id alone is not enough"):
        parse_feedback(payload)


def test_not_an_object():
    with pytest.raises(ValueError, match="expected a JSON object"):
        parse_feedback_items(["up"])  # type: ignore[arg-type]
