"""Trace summaries: the spans of each trace reduced to one :class:`~evallock.records.Trace`.

Per trace id in a request (DESIGN §6, interop §1–2):

* the *main* span is the model call (OTel ``gen_ai.operation.name`` chat /
  text_completion …, or OpenInference kind ``LLM``) that ended last, i.e. the one
  that produced the answer; without one, the root span;
* input, output, messages, model, tokens, cost and time to first token come from
  the main span, in any of the three dialects; input and output fall back to the
  root span's (an OpenInference chain's ``input.value``);
* time is the earliest span start; latency the root span's duration (the root is
  the span without a parent, else the earliest whose parent is not in the
  request: the store keeps the longest when more spans arrive later);
* the error is the root's, else the main span's: status ``ERROR`` (or an
  ``exception`` event) with its message;
* keys come from every span and resource of the trace (``_span_keys``);
* the prompt template's variables from OpenInference's
  ``llm.prompt_template.variables`` and OpenLLMetry's
  ``traceloop.prompt.template_variables`` (JSON objects) and GenAI's
  ``gen_ai.prompt.variable.<name>``, the main span's winning.

Every summary and rating is checked against the field limits once, in
:meth:`Summaries.check`, with the path of the span it came from in front of the
field's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from evallock.limits import check_feedback, check_trace
from evallock.records import UNDESCRIBED_ERROR, Feedback, ToolCall, Trace
from evallock.traces._batch import located
from evallock.traces._genai import genai_content, is_inference
from evallock.traces._langfuse import is_generation, langfuse_content
from evallock.traces._messages import Content, plain_json
from evallock.traces._openinference import (
    inline_annotations,
    is_llm,
    openinference_content,
)
from evallock.traces._ratings import EVALUATION_EVENT, annotation_feedback, evaluation_feedback
from evallock.traces._span_keys import resource_keys, span_keys
from evallock.traces._spans import STATUS_ERROR, Span
from evallock.traces._tools import merge_calls, tool_results_in, tool_span_call

__all__ = [
    "Summaries",
    "span_content",
    "span_error",
    "summarise_spans",
    "template_vars",
    "time_of",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def time_of(unix_ns: int) -> datetime:
    """A Unix time in nanoseconds as an aware UTC datetime (microsecond precision).

    The readers reject the times no datetime holds first (``time_problem``).
    """
    return _EPOCH + timedelta(microseconds=unix_ns // 1000)


@dataclass(frozen=True, slots=True)
class Summaries:
    """The trace summaries of a request and the ratings found among its spans."""

    traces: list[Trace]
    feedback: list[Feedback]
    spans: dict[str, str] = field(default_factory=dict)
    """The trace id of each span summarised (span id → trace id)."""
    origins: dict[str, str] = field(default_factory=dict)
    """Where each trace (by id) and rating (by feedback id) came from in the request."""

    def add_trace(self, trace: Trace, where: str) -> None:
        """Keep a summary and the path of the span (log record) it mostly came from."""
        self.traces.append(trace)
        self.origins.setdefault(trace.trace_id, where)

    def add_feedback(self, feedback: Feedback, where: str) -> None:
        """Keep a rating and the path of the event or attributes it came from."""
        self.feedback.append(feedback)
        self.origins.setdefault(feedback.feedback_id, where)

    def check(self) -> None:
        """Refuse the lot when one summary or rating has a field past its limit.

        Raises:
            FieldLimitError: the field, named from its span's path on
                (``resourceSpans[0].scopeSpans[0].spans[3].keys.intent``).
        """
        for trace in self.traces:
            check_trace(trace, field=_prefix(self.origins.get(trace.trace_id)))
        for rating in self.feedback:
            check_feedback(rating, field=_prefix(self.origins.get(rating.feedback_id)))


def _prefix(where: str | None) -> str:
    return f"{where}." if where else ""


def span_content(span: Span) -> Content:
    """What a span says about the request, whichever dialect it speaks."""
    content = genai_content(span)
    if content.input is None or content.output is None or content.model is None:
        content.fill(openinference_content(span))
    if content.input is None or content.output is None or content.tokens_in is None:
        content.fill(langfuse_content(span))
    return content


def span_error(span: Span) -> str | None:
    """What went wrong in a span, or None when it did not fail."""
    exception = next((e.attributes for e in span.events if e.name == "exception"), None)
    if span.status_code != STATUS_ERROR and (exception is None or span.status_code == 1):
        return None
    if span.status_message:
        return span.status_message
    if exception is not None:
        kind = exception.get("exception.type")
        message = exception.get("exception.message")
        text = ": ".join(str(part) for part in (kind, message) if part)
        if text:
            return text
    kind = span.attributes.get("error.type")
    return str(kind) if kind else UNDESCRIBED_ERROR


def _root(spans: list[Span]) -> Span:
    ids = {span.span_id for span in spans}
    parentless = [span for span in spans if not span.parent_span_id]
    pool = parentless or [span for span in spans if span.parent_span_id not in ids] or spans
    return min(pool, key=lambda span: (span.start_ns, span.start_ns - span.end_ns))


def _summary(
    trace_id: str, spans: list[Span], key_cache: dict[int, dict[str, str]], found: Summaries
) -> None:
    """Summarise one trace into ``found``; its fields are named from its main span's path."""
    root = _root(spans) if len(spans) > 1 else spans[0]
    models = [
        span
        for span in spans
        if is_inference(span.attributes)
        or is_llm(span.attributes)
        or is_generation(span.attributes)
    ]
    main = max(models, key=lambda span: (span.end_ns, span.start_ns)) if models else root
    with located(main.where):
        content = span_content(main)
    if main is not root and (content.input is None or content.output is None):
        with located(root.where):
            fallback = span_content(root)
        content.input = content.input or fallback.input
        if not content.tool_calls:  # an answer of tool calls has no text: none is borrowed
            content.output = content.output or fallback.output
    keys: dict[str, str] = {}
    tool_calls = _tool_calls(spans, models, main, content) if len(spans) > 1 else None
    for span in spans:
        cached = key_cache.get(id(span.resource))
        if cached is None:
            cached = key_cache[id(span.resource)] = resource_keys(span.resource)
        keys.update(cached)
    variables: dict[str, Any] = {}
    for span in sorted(spans, key=lambda s: (s is main, s is root)):
        with located(span.where):
            keys.update(span_keys(span.attributes))
        variables.update(template_vars(span.attributes))
    trace = Trace(
        trace_id=trace_id,
        timestamp=time_of(min(span.start_ns for span in spans)),
        input=content.input,
        output=content.output,
        latency_ms=(root.end_ns - root.start_ns) / 1e6,
        ttft_ms=content.ttft_ms,
        tokens_in=content.tokens_in,
        tokens_out=content.tokens_out,
        cost=content.cost,
        model=content.model,
        error=span_error(root) or (span_error(main) if main is not root else None),
        keys=keys,
        source="otlp",
        messages=plain_json(content.messages),
        vars=variables,
        tool_calls=(content.tool_calls or []) if tool_calls is None else tool_calls,
        tools=content.tools or [],
    )
    found.add_trace(trace, main.where)
    for span in spans:
        found.spans.setdefault(span.span_id, trace_id)


def _tool_calls(
    spans: list[Span], models: list[Span], main: Span, content: Content
) -> list[ToolCall]:
    """The calls of every model span's answer in the trace (in the order they ended), each
    with its result: a tool message answering its id, or the tool span that ran it."""
    calls: list[ToolCall] = []
    results: dict[str, str] = {}
    for span in sorted(models, key=lambda s: (s.end_ns, s.start_ns)):
        if span is main:
            said = content
        else:
            with located(span.where):
                said = span_content(span)
        calls.extend(said.tool_calls or ())
        results.update(tool_results_in(said.messages))
    ran = [call for call in map(tool_span_call, (s.attributes for s in spans)) if call]
    return merge_calls(calls, results, ran)


_OI_VARIABLES = "llm.prompt_template.variables"
_TRACELOOP_VARIABLES = "traceloop.prompt.template_variables"
_GENAI_VARIABLE = "gen_ai.prompt.variable."


def template_vars(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """The prompt template variables a span's attributes carry (``{}`` when none).

    A ``llm.prompt_template.variables`` that is not a JSON object is not variables
    (it stays out; the span's other data is kept).

    >>> template_vars({"llm.prompt_template.variables": '{"plan": "pro"}',
    ...                "gen_ai.prompt.variable.region": "eu"})
    {'plan': 'pro', 'region': 'eu'}
    """
    found: dict[str, Any] = {}
    for name in (_TRACELOOP_VARIABLES, _OI_VARIABLES):
        found.update(_json_object(attributes.get(name)))
    for name, value in attributes.items():
        if name.startswith(_GENAI_VARIABLE) and len(name) > len(_GENAI_VARIABLE):
            found[name[len(_GENAI_VARIABLE) :]] = value
    return found


def _json_object(text: Any) -> dict[str, Any]:
    if isinstance(text, str):
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            value = None
        if isinstance(value, dict):
            return value
    return {}


def _ratings(span: Span, found: Summaries) -> bool:
    """Collect the ratings on a span; True when the span only carries ratings for another trace."""
    for index, event in enumerate(span.events):
        if event.name == EVALUATION_EVENT:
            try:
                rating = evaluation_feedback(
                    event.attributes,
                    trace_id=span.trace_id,
                    span_id=span.span_id,
                    time_ns=event.time_ns,
                )
            except ValueError:
                continue  # an unusable rating does not spoil the span it rides on
            found.add_feedback(rating, f"{span.where}.events[{index}]")
    with located(span.where):
        items = inline_annotations(span.attributes)
    if not items:
        return False
    # Post-hoc annotations ride on a carrier span with exactly one link to their target.
    carrier = len(span.linked_trace_ids) == 1 and not is_llm(span.attributes)
    target = span.linked_trace_ids[0] if carrier else span.trace_id
    for item in items:
        try:
            rating = annotation_feedback(item, trace_id=target, span_id=span.span_id)
        except ValueError:
            continue
        found.add_feedback(rating, f"{span.where}.attributes.{item['_index']}")
    return carrier


def summarise_spans(spans: list[Span]) -> Summaries:
    """One summary per trace id (in order of first appearance), and the ratings found.

    Each summary and rating is checked against the field limits by the caller
    (:meth:`Summaries.check`), once the whole request is summarised.

    Raises:
        FieldLimitError: a value past its limit, named from its span's path on.
    """
    groups: dict[str, list[Span]] = {}
    found = Summaries(traces=[], feedback=[])
    for span in spans:
        if _ratings(span, found):
            continue
        groups.setdefault(span.trace_id, []).append(span)
    key_cache: dict[int, dict[str, str]] = {}
    for trace_id, group in groups.items():
        _summary(trace_id, group, key_cache, found)
    return found
