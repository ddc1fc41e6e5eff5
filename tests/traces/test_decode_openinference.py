"""OpenInference spans to trace summaries, keys from metadata, inline annotations as feedback."""

from __future__ import annotations

import orjson

from evallock.traces import decode_otlp_traces

from .otlp_builders import LLM, ROOT, TRACE, request, span, to_json, to_protobuf

JSON = "application/json"


def _batch(doc, protobuf=False):
    if protobuf:
        return decode_otlp_traces(to_protobuf(doc), "application/x-protobuf")
    return decode_otlp_traces(to_json(doc), JSON)


def test_llm_span_from_the_interop_example(openinference_attributes):
    batch = _batch(request(span(attributes=openinference_attributes, end_ms=1250)))

    [trace] = batch.traces
    assert trace.input == "Can I get a refund after 40 days?"
    assert trace.output == "Refunds are available within 30 days of purchase."
    assert trace.messages == [
        {"role": "system", "content": "You answer billing questions using policy excerpts."},
        {"role": "user", "content": "Can I get a refund after 40 days?"},
    ]
    assert trace.model == "gpt-4.1-mini-2025-04-14"
    assert (trace.tokens_in, trace.tokens_out) == (412, 96)
    assert trace.latency_ms == 1250.0
    assert trace.keys == {
        "prompt_version": "v14",
        "session_id": "conv-7781",
        "retriever_version": "bm25-2026-02",
        "intent": "refund_request",
        "customer_tier": "gold",
        "user_id": "u-2291",  # user.id
        "tags": '["billing","eu"]',  # tag.tags
    }
    assert trace.vars == {"question": "Can I get a refund after 40 days?"}
    assert batch.feedback == []


def test_template_variables_from_openinference_and_genai_attributes() -> None:
    attributes = {
        "openinference.span.kind": "LLM",
        "llm.prompt_template.variables": '{"plan": "pro", "region": "us"}',
        "gen_ai.prompt.variable.region": "eu",
        "input.value": "hi",
    }
    [trace] = _batch(request(span(attributes=attributes)), protobuf=True).traces
    assert trace.vars == {"plan": "pro", "region": "eu"}
    not_an_object = {**attributes, "llm.prompt_template.variables": "[1, 2]"}
    del not_an_object["gen_ai.prompt.variable.region"]
    [bare] = _batch(request(span(attributes=not_an_object))).traces
    assert bare.vars == {} and bare.input == "hi"  # the rest of the span is kept


def test_openinference_and_genai_forms_of_one_call_agree(openinference_attributes, genai_export):
    [oi] = _batch(request(span(attributes=openinference_attributes, end_ms=1250))).traces
    [genai] = decode_otlp_traces(orjson.dumps(genai_export), JSON).traces
    for field in (
        "trace_id",
        "timestamp",
        "input",
        "output",
        "model",
        "tokens_in",
        "tokens_out",
        "latency_ms",
    ):
        assert getattr(oi, field) == getattr(genai, field), field


def test_only_metadata_entries_named_like_shared_keys_become_keys():
    attributes = {
        "openinference.span.kind": "LLM",
        "metadata": '{"intent": "billing", "Customer-Tier": "pro", "experiment_bucket": "B", "language": 7}',
    }
    [trace] = _batch(request(span(attributes=attributes))).traces
    assert trace.keys == {"intent": "billing", "customer_tier": "pro", "language": "7"}


def test_evallock_attributes_beat_metadata_and_resource_keys():
    attributes = {
        "openinference.span.kind": "LLM",
        "metadata": '{"intent": "from-metadata", "customer_tier": "from-metadata"}',
        "evallock.intent": "from-attribute",
    }
    resource = {"customer_tier": "from-resource", "feature": "checkout", "evallock.language": "de"}
    [trace] = _batch(request(span(attributes=attributes), resource=resource)).traces
    assert trace.keys == {
        "intent": "from-attribute",
        "customer_tier": "from-metadata",
        "feature": "checkout",
        "language": "de",
    }


def test_chain_root_with_llm_child_and_content_parts():
    root = span(
        span_id=ROOT,
        start_ms=0,
        end_ms=900,
        attributes={
            "openinference.span.kind": "CHAIN",
            "input.value": '{"question": "Q"}',
            "output.value": "A",
        },
    )
    llm = span(
        parent=ROOT,
        start_ms=100,
        end_ms=800,
        attributes={
            "openinference.span.kind": "LLM",
            "llm.model_name": "claude-x",
            "llm.input_messages.0.message.role": "user",
            "llm.input_messages.0.message.contents.0.message_content.type": "text",
            "llm.input_messages.0.message.contents.0.message_content.text": "What is Q?",
            "llm.input_messages.0.message.contents.1.message_content.type": "image",
            "llm.cost.total": 0.0021,
        },
    )
    [trace] = _batch(request(root, llm), protobuf=True).traces
    assert trace.input == "What is Q?"
    assert trace.output == "A"  # the model call's output was not captured: the root's
    assert trace.model == "claude-x"
    assert trace.cost == 0.0021
    assert trace.latency_ms == 900.0


def test_legacy_completion_prompts_and_choices():
    attributes = {
        "openinference.span.kind": "LLM",
        "llm.prompts.0.prompt.text": "Say hi",
        "llm.choices.0.completion.text": "hi",
    }
    [trace] = _batch(request(span(attributes=attributes))).traces
    assert (trace.input, trace.output, trace.messages) == ("Say hi", "hi", None)


def test_inline_annotations_become_feedback_of_the_span_trace():
    attributes = {
        "openinference.span.kind": "LLM",
        "annotations.0.annotation.name": "user_feedback",
        "annotations.0.annotation.label": "thumbs_down",
        "annotations.0.annotation.explanation": "wrong window",
        "annotations.0.annotation.annotator_kind": "HUMAN",
        "annotations.0.annotation.identifier": "fb-7781",
        "evaluations.0.evaluation.name": "groundedness",
        "evaluations.0.evaluation.score": 0.5,
        "annotations.1.annotation.name": "explanation-only",
        "annotations.1.annotation.explanation": "no rating here",
    }
    batch = _batch(request(span(attributes=attributes)))

    assert len(batch.traces) == 1
    thumbs, judged = batch.feedback
    assert (thumbs.trace_id, thumbs.rating, thumbs.score, thumbs.comment) == (
        TRACE,
        "down",
        0.0,
        "wrong window",
    )
    assert (thumbs.source, thumbs.author, thumbs.name) == (
        "openinference",
        "HUMAN",
        "user_feedback",
    )
    assert (judged.rating, judged.score, judged.name) == ("0.5", 0.5, "groundedness")
    again = _batch(request(span(attributes=attributes)), protobuf=True)
    assert [f.feedback_id for f in again.feedback] == [thumbs.feedback_id, judged.feedback_id]


def test_post_hoc_annotation_on_a_carrier_span_rates_the_linked_trace():
    target = "4bf92f3577b34da6a3ce929d0e0e4736"
    carrier = span(
        trace_id="1" * 32,
        span_id="2" * 16,
        attributes={
            "annotations.0.annotation.name": "user_feedback",
            "annotations.0.annotation.score": 1,
        },
        links=[target],
    )
    batch = _batch(
        request(carrier, span(span_id=LLM, attributes={"openinference.span.kind": "LLM"}))
    )
    assert [t.trace_id for t in batch.traces] == [TRACE]  # the carrier is no request of its own
    [rating] = batch.feedback
    assert (rating.trace_id, rating.rating, rating.score) == (target, "1", 1.0)


def test_langfuse_and_openllmetry_attributes_become_keys_content_never_does() -> None:
    langfuse = {
        "langfuse.observation.type": "generation",
        "langfuse.observation.input": '[{"role": "user", "content": "hi"}]',
        "langfuse.observation.prompt.name": "refund",
        "langfuse.observation.prompt.version": 4,
        "langfuse.session.id": "s-1",
        "langfuse.user.id": "u-1",
        "langfuse.release": "2026.12.1",
        "langfuse.environment": "production",
        "langfuse.trace.tags": ["vip"],
        "langfuse.trace.metadata": '{"customer_tier": "enterprise", "note": "free text"}',
        "langfuse.trace.metadata.intent": "refund",
    }
    [trace] = _batch(request(span(attributes=langfuse)), protobuf=True).traces
    assert trace.keys == {
        "prompt_name": "refund",
        "prompt_version": "4",
        "session_id": "s-1",
        "user_id": "u-1",
        "release": "2026.12.1",
        "deployment_environment": "production",
        "tags": '["vip"]',
        "customer_tier": "enterprise",  # metadata entries named like a shared key only
        "intent": "refund",
    }
    traceloop = {
        "traceloop.association.properties.customer_tier": "pro",
        "traceloop.association.properties.ticket.id": "T-9",
        "traceloop.prompt.key": "refund",
        "traceloop.prompt.version": 3,
        "traceloop.workflow.name": "support",
        "traceloop.entity.name": "answer",
        "traceloop.entity.input": '{"question": "hi"}',
        "traceloop.prompt.template_variables": '{"plan": "pro"}',
        "evallock.customer_tier": "enterprise",  # ours wins over the dialects'
    }
    [trace] = _batch(request(span(attributes=traceloop))).traces
    assert trace.keys == {
        "customer_tier": "enterprise",
        "ticket_id": "T-9",
        "prompt_name": "refund",
        "prompt_version": "3",
        "workflow_name": "support",
        "entity_name": "answer",
    }
    assert trace.vars == {"plan": "pro"}


def test_langfuse_openai_drop_in_spans_streamed_text_and_session_metadata() -> None:
    """What ``from langfuse.openai import openai`` under ``@observe`` sends: a streamed
    answer as plain text, session and user as ``langfuse_*`` metadata, and the app span's
    output a whole completion object."""
    generation = {
        "langfuse.observation.type": "generation",
        "langfuse.observation.input": '[{"role": "user", "content": "hi"}]',
        "langfuse.observation.output": "Hello there.",  # not JSON: the joined stream
        "langfuse.observation.metadata.langfuse_session_id": '"s-lf"',
        "langfuse.observation.metadata.langfuse_user_id": '"u-lf"',
        "langfuse.observation.metadata.note": '"free text"',
    }
    [trace] = _batch(request(span(attributes=generation))).traces
    assert (trace.input, trace.output) == ("hi", "Hello there.")
    assert trace.keys == {"session_id": "s-lf", "user_id": "u-lf"}
    completion = {
        "id": "chatcmpl-1",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi!"}}],
    }
    app = {
        "langfuse.observation.type": "span",
        "langfuse.observation.output": orjson.dumps(completion).decode(),
    }
    [trace] = _batch(request(span(attributes=app))).traces
    assert trace.output == "Hi!"  # the completion's text, not its JSON
