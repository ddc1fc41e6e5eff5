"""Hypothesis strategies for hostile trace inputs: JSON-ish values, attributes, mutations.

Values lean toward what broke the decoders before: integers past 64 bits,
decimal strings thousands of digits long, non-finite floats, JSON text nested
hundreds of levels, unicode digits, and names the attribute mappers look for.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from .otlp_builders import LLM, ROOT, TRACE, event, log_record, logs_request, request, span

ATTRIBUTE_NAMES = (
    "gen_ai.operation.name",
    "gen_ai.request.model",
    "gen_ai.response.model",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "gen_ai.response.time_to_first_chunk",
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.prompt",
    "gen_ai.completion",
    "gen_ai.prompt.0.content",
    "gen_ai.prompt.².role",
    "gen_ai.completion.0.content",
    "gen_ai.system_instructions",
    "gen_ai.event.content",
    "content",
    "role",
    "message",
    "gen_ai.evaluation.name",
    "gen_ai.evaluation.score.value",
    "gen_ai.evaluation.score.label",
    "gen_ai.evaluation.explanation",
    "evallock.judge.version",
    "openinference.span.kind",
    "llm.model_name",
    "llm.token_count.prompt",
    "llm.cost.total",
    "llm.input_messages.0.message.content",
    "llm.input_messages.1.message.contents.0.message_content.text",
    "llm.output_messages.0.message.tool_calls.0.tool_call.function.name",
    "llm.prompts.0.prompt.text",
    "llm.choices.0.completion.text",
    "input.value",
    "output.value",
    "metadata",
    "annotations.0.annotation.name",
    "annotations.0.annotation.score",
    "annotations.0.annotation.label",
    "annotations.0.annotation.identifier",
    "annotations.0.annotation.metadata",
    "annotations.0.annotation.explanation",
    "evaluations.0.evaluation.name",
    "evaluations.0.evaluation.score",
    "evallock.intent",
    "evallock.prompt.version",
    "session.id",
    "service.version",
    "deployment.environment.name",
    "prompt_version",
    "event.name",
    "exception.type",
    "exception.message",
    "error.type",
)
EVENT_NAMES = (
    "gen_ai.evaluation.result",
    "exception",
    "gen_ai.user.message",
    "gen_ai.system.message",
    "gen_ai.tool.message",
    "gen_ai.choice",
    "gen_ai.content.prompt",
    "gen_ai.content.completion",
    "gen_ai.client.inference.operation.details",
    "other",
)
FEEDBACK_KEYS = (
    "trace_id",
    "traceId",
    "rating",
    "value",
    "dataType",
    "name",
    "result",
    "label",
    "score",
    "explanation",
    "annotator_kind",
    "identifier",
    "id",
    "comment",
    "author",
    "authorUserId",
    "span_id",
    "data",
    "metadata",
)


def _deep_json_text(depth: int) -> str:
    return "[" * depth + '"x"' + "]" * depth


def _nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


hostile_text = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        [
            "",
            "up",
            "down",
            "chat",
            "LLM",
            "NaN",
            "-Infinity",
            "1e400",
            "١٢",
            "²",
            "0x10",
            TRACE,
            TRACE.upper(),
            "00000000000000000000000000000000",
            '{"intent": "refund", "prompt_version": 7}',
            '[{"role": "user", "content": "q"}]',
            '[{"role": "user", "parts": [{"type": "text", "content": "q"}]}]',
            '{"message": {"role": "assistant", "content": "a"}}',
        ]
    ),
    st.integers(1, 6000).map(lambda n: "9" * n),
    st.integers(20, 40).map(lambda n: "-" + "1" * n),
    st.integers(1, 400).map(_deep_json_text),
    st.integers(1, 400).map(lambda d: '[{"role": "user", "content": ' + _deep_json_text(d) + "}]"),
    st.integers(200, 2000).map(lambda n: "x" * n),
)
"""Strings, many of them something a mapper parses: numbers, ids, JSON text."""

hostile_numbers = st.one_of(
    st.integers(),
    st.integers(-(2**70), 2**70),
    st.integers(400, 4000).map(lambda n: 10**n),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, -1, 0.5, 2**63, -(2**63) - 1, 2**64, 1e300, 1e301, 1.7e308]),
)

json_ish = st.recursive(
    st.one_of(st.none(), st.booleans(), hostile_numbers, hostile_text),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(FEEDBACK_KEYS), st.text(max_size=8)), children),
        st.integers(30, 300).map(_nested),
    ),
    max_leaves=12,
)
"""Any JSON value (and some only Python has: huge ints, NaN) leaning toward hostile ones."""


def to_json_bytes(value: Any) -> bytes:
    """JSON text of any value json_ish makes (stdlib: it writes huge ints and NaN)."""
    return json.dumps(value, allow_nan=True).encode("utf-8", "surrogatepass")


# Attribute values an OTLP exporter can send (int64 ints, any float, bytes, lists, kvlists).
_any_leaf = st.one_of(
    hostile_text,
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.binary(max_size=8),
)
any_values = st.recursive(
    _any_leaf,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.one_of(st.sampled_from(FEEDBACK_KEYS), st.text(max_size=8)), children),
        st.integers(28, 40).map(_nested),
    ),
    max_leaves=8,
)
_random_attributes = st.dictionaries(
    st.one_of(st.sampled_from(ATTRIBUTE_NAMES), st.text(max_size=12)), any_values, max_size=6
)
_evaluation_attributes = st.fixed_dictionaries(
    {"gen_ai.evaluation.name": st.just("relevance")},
    optional={
        "gen_ai.evaluation.score.value": st.one_of(_any_leaf, st.just(0.5)),
        "gen_ai.evaluation.score.label": st.one_of(_any_leaf, st.just("good")),
        "gen_ai.evaluation.explanation": _any_leaf,
    },
)
_rating_attributes = st.one_of(
    _evaluation_attributes,
    st.fixed_dictionaries(
        {"annotations.0.annotation.name": st.just("quality")},
        optional={
            "annotations.0.annotation.score": st.one_of(_any_leaf, st.just(1)),
            "annotations.0.annotation.label": _any_leaf,
            "annotations.0.annotation.identifier": _any_leaf,
            "openinference.span.kind": st.just("LLM"),
        },
    ),
)
attributes = st.one_of(
    _random_attributes,
    _rating_attributes,
    st.tuples(_random_attributes, _rating_attributes).map(lambda pair: {**pair[0], **pair[1]}),
)
"""Span, event, record or resource attributes; often a rating the mappers turn into feedback."""
times = st.one_of(st.integers(0, 2**64 - 1), st.sampled_from([0, 1, 2**63, 2**64 - 1]))
trace_ids = st.sampled_from([TRACE, "4bf92f3577b34da6a3ce929d0e0e4736"])
span_ids = st.sampled_from([LLM, ROOT, "1111111111111111"])


@st.composite
def trace_requests(draw: st.DrawFn) -> dict[str, Any]:
    """An OTLP/JSON trace export both encodings can carry, with hostile attributes."""
    spans = []
    for _ in range(draw(st.integers(1, 3))):
        events = [
            event("gen_ai.evaluation.result", **draw(_evaluation_attributes))
            if draw(st.booleans())
            else event(draw(st.sampled_from(EVENT_NAMES)), **draw(attributes))
            for _ in range(draw(st.integers(0, 2)))
        ]
        node = span(
            draw(trace_ids),
            draw(span_ids),
            parent=draw(st.none() | span_ids),
            attributes=draw(attributes),
            events=events,
            status=draw(st.none() | st.fixed_dictionaries({"code": st.integers(0, 2)})),
            links=draw(st.lists(trace_ids, max_size=2)),
        )
        node["startTimeUnixNano"] = str(draw(times))
        node["endTimeUnixNano"] = str(draw(times))
        for item in events:
            item["timeUnixNano"] = str(draw(times))
        spans.append(node)
    return request(*spans, resource=draw(attributes))


@st.composite
def logs_requests(draw: st.DrawFn) -> dict[str, Any]:
    """An OTLP/JSON logs export both encodings can carry, with hostile attributes and bodies."""
    records = []
    for _ in range(draw(st.integers(1, 3))):
        record = log_record(
            draw(st.sampled_from(EVENT_NAMES)),
            trace_id=draw(st.none() | trace_ids),
            span_id=draw(st.none() | span_ids),
            attributes=draw(attributes),
            body=draw(st.none() | any_values),
        )
        record["timeUnixNano"] = str(draw(times))
        records.append(record)
    return logs_request(*records, resource=draw(attributes))


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path (keys and indices) into a JSON value, the root first."""
    found = [prefix]
    if isinstance(node, dict):
        for key, child in node.items():
            found.extend(paths(child, (*prefix, key)))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            found.extend(paths(child, (*prefix, index)))
    return found


def replaced(node: Any, path: tuple[Any, ...], value: Any) -> Any:
    """A copy of ``node`` with the value at ``path`` replaced."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(node, dict):
        return {k: replaced(v, rest, value) if k == head else v for k, v in node.items()}
    return [replaced(v, rest, value) if i == head else v for i, v in enumerate(node)]


# Where a replaced value did harm before: numbers and times (numeric replacements) ...
_NUMERIC = frozenset(
    {
        "intValue",
        "doubleValue",
        "timeUnixNano",
        "startTimeUnixNano",
        "endTimeUnixNano",
        "observedTimeUnixNano",
        "code",
        "latency_ms",
        "tokens_in",
        "cost",
        "feedback",
        "rating",
        "score",
    }
)
# ... AnyValue parts, names, ids, and the fields of a JSONL summary line.
_TARGETS = _NUMERIC | {
    "stringValue",
    "bytesValue",
    "arrayValue",
    "kvlistValue",
    "value",
    "values",
    "traceId",
    "spanId",
    "name",
    "eventName",
    "body",
    "input",
    "messages",
    "keys",
    "extra",
    "timestamp",
    *FEEDBACK_KEYS,
}
_numeric = st.one_of(
    st.integers(1, 6000).map(lambda n: "9" * n),
    st.integers(19, 30).map(lambda n: str(10**n)),
    st.sampled_from(["1e400", "-1", "NaN", "Infinity", "1.5", "", "0x1"]),
    hostile_numbers,
)


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[Any]) -> Any:
    """A valid payload with one or two values replaced by hostile JSON-ish ones.

    Half the replacements hit a field that did harm before (a number, a time, an id).
    """
    doc = draw(base)
    for _ in range(draw(st.integers(1, 2))):
        everywhere = paths(doc)
        targets = [path for path in everywhere if path and path[-1] in _TARGETS]
        pool = targets if targets and draw(st.booleans()) else everywhere
        path = draw(st.sampled_from(pool))
        if path and path[-1] in _NUMERIC and draw(st.integers(0, 3)):
            value = draw(_numeric)
        else:
            value = draw(st.one_of(json_ish, hostile_text, hostile_numbers))
        doc = replaced(doc, path, value)
    return doc
