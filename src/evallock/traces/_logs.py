"""GenAI events as OTLP log records: evaluation results and the older message events.

Since v1.37 the conventions carry events as log records with an ``eventName``
(interop §1.5). Two kinds matter here:

* ``gen_ai.evaluation.result`` — a judge's verdict on a trace, stored as feedback;
* the v1.28–v1.36 message events (``gen_ai.user.message`` … ``gen_ai.choice``) and
  ``gen_ai.client.inference.operation.details`` — the conversation of a model
  call, sent beside its span; they become a partial trace summary (input, output,
  messages) that the store merges with the one made from the spans.

Both need the record's trace id: one without is rejected with the reason.
"""

from __future__ import annotations

from evallock.records import Message, Trace
from evallock.traces._batch import located
from evallock.traces._genai import MESSAGE_EVENTS, genai_content, message_from_event
from evallock.traces._messages import Content, last_user_text, message_text, plain_json
from evallock.traces._ratings import EVALUATION_EVENT, evaluation_feedback
from evallock.traces._span_keys import resource_keys, span_keys
from evallock.traces._spans import LogEvent, Rejections, Span, reject_times
from evallock.traces._summary import Summaries, time_of
from evallock.traces._tools import tool_calls_in

__all__ = ["DETAILS_EVENT", "summarise_logs"]

DETAILS_EVENT = "gen_ai.client.inference.operation.details"
"""The v1.37+ event with a model call's attributes, messages included, outside its span."""


def _details(event: LogEvent) -> Content:
    as_span = Span(
        trace_id=event.trace_id,
        span_id=event.span_id,
        parent_span_id="",
        name=event.name,
        start_ns=event.time_ns,
        end_ns=event.time_ns,
        attributes=event.attributes,
        resource=event.resource,
    )
    return genai_content(as_span)


def _trace(trace_id: str, events: list[LogEvent]) -> Trace:
    events.sort(key=lambda event: event.time_ns)
    content = Content()
    inputs: list[Message] = []
    outputs: list[tuple[int, Message]] = []
    keys: dict[str, str] = {}
    for event in events:
        keys.update(resource_keys(event.resource))
    for event in events:
        with located(event.where):
            keys.update(span_keys(event.attributes))
            if event.name == DETAILS_EVENT:
                content.fill(_details(event))
                continue
            message = message_from_event(event.name, event.attributes, event.body)
        if message is None:
            continue
        if event.name == "gen_ai.choice":
            index = event.body.get("index", 0) if isinstance(event.body, dict) else 0
            outputs.append((index if isinstance(index, int) else 0, message))
        else:
            inputs.append(message)
    if inputs and content.messages is None:
        content.messages = inputs
        content.input = last_user_text(inputs)
    if outputs and content.output is None:
        outputs.sort(key=lambda pair: pair[0])
        content.output = next((t for _, m in outputs if (t := message_text(m)) is not None), None)
        content.tool_calls = content.tool_calls or tool_calls_in([m for _, m in outputs])
    return Trace(
        trace_id=trace_id,
        timestamp=time_of(events[0].time_ns),
        input=content.input,
        output=content.output,
        ttft_ms=content.ttft_ms,
        tokens_in=content.tokens_in,
        tokens_out=content.tokens_out,
        cost=content.cost,
        model=content.model,
        keys=keys,
        source="otlp",
        messages=plain_json(content.messages),
        tool_calls=content.tool_calls or [],
    )


def summarise_logs(logs: list[LogEvent], rejections: Rejections) -> Summaries:
    """Feedback from evaluation events, partial summaries from message events.

    Records of these events that cannot be used are added to ``rejections``;
    other log records are ignored. Each summary and rating is checked against the
    field limits (``Summaries.check``) by the caller.

    Raises:
        FieldLimitError: a value past its limit, named from the log record's path on.
    """
    found = Summaries(traces=[], feedback=[])
    conversations: dict[str, list[LogEvent]] = {}
    for event in logs:
        wanted = event.name == EVALUATION_EVENT or event.name in MESSAGE_EVENTS
        if not wanted and event.name != DETAILS_EVENT:
            continue
        if not event.trace_id:
            rejections.add(f"{event.where}.traceId is missing (a {event.name} needs its trace)")
            continue
        if reject_times(rejections, event.where, ("timeUnixNano", event.time_ns, True)):
            continue
        if event.name != EVALUATION_EVENT:
            conversations.setdefault(event.trace_id, []).append(event)
            continue
        try:
            rating = evaluation_feedback(
                event.attributes,
                trace_id=event.trace_id,
                span_id=event.span_id,
                time_ns=event.time_ns,
            )
        except ValueError as exc:
            rejections.add(f"{event.where}: {exc}")
            continue
        found.add_feedback(rating, event.where)
    for trace_id, events in conversations.items():
        found.add_trace(_trace(trace_id, events), events[0].where)
        for event in events:
            if event.span_id:
                found.spans.setdefault(event.span_id, trace_id)
    return found
