"""An app instrumented with OpenTelemetry that sends its traces to ``evallock serve``.

It asks an OpenAI-compatible model a few support questions, wraps each call in a
GenAI span (the OTel GenAI conventions plus ``evallock.*`` keys), exports the
spans over OTLP/HTTP (protobuf) to evallock, and rates one answer thumbs-down.

Run it against the bundled fake model and a local evallock::

    python -m evallock.demo.fake_service --port 8001 &
    evallock serve &
    export EVALLOCK_API_KEY=$(evallock keys create --scope ingest --name otel-example)
    python examples/otel_app.py --evallock http://127.0.0.1:4318 --model-url http://127.0.0.1:8001/v1
    evallock traces list --key prompt_version=support-v4
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import httpx
import jinja2
import openai
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Status, StatusCode

from evallock.demo import example_dir

PLAN = "pro"
QUESTIONS = [
    ("refund", "How long does a refund take to reach my card?"),
    ("refund", "I was billed twice this month."),
    ("shipping", "How long does shipping take?"),
]


def system_prompt(version: str, plan: str) -> str:
    """The bundled example's prompt template, rendered for a customer's plan (the fake model
    answers from its policy lines)."""
    source = (example_dir() / "prompts" / f"{version}.txt").read_text(encoding="utf-8")
    return jinja2.Template(source).render(plan=plan)


def main() -> int:
    """Ask, trace, export, rate; print the trace ids."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evallock", default="http://127.0.0.1:4318", help="evallock serve URL")
    parser.add_argument("--model-url", default="http://127.0.0.1:8001/v1", help="model base URL")
    parser.add_argument("--model", default="support-bot")
    args = parser.parse_args()
    key = os.environ.get("EVALLOCK_API_KEY", "")
    auth = {"Authorization": f"Bearer {key}"} if key else {}

    resource = Resource.create(
        {"service.name": "support-bot", "service.version": "4.0.0", "customer_tier": PLAN}
    )
    provider = TracerProvider(resource=resource)
    exporter = OTLPSpanExporter(
        endpoint=f"{args.evallock}/v1/traces", headers=auth, compression=Compression.Gzip
    )
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("examples.otel_app")
    model = openai.OpenAI(base_url=args.model_url, api_key="not-needed", max_retries=1)

    trace_ids = []
    for intent, question in QUESTIONS:
        with tracer.start_as_current_span(f"chat {args.model}") as span:
            span.set_attribute("gen_ai.operation.name", "chat")
            span.set_attribute("gen_ai.provider.name", "openai")
            span.set_attribute("gen_ai.request.model", args.model)
            span.set_attribute("gen_ai.prompt.version", "support-v4")
            span.set_attribute("evallock.intent", intent)
            span.set_attribute("evallock.feature", "help-widget")
            span.set_attribute("gen_ai.prompt.variable.plan", PLAN)  # the template's variables
            messages = [
                {"role": "system", "content": system_prompt("support-v4", PLAN)},
                {"role": "user", "content": question},
            ]
            span.set_attribute("gen_ai.input.messages", json.dumps(_parts(messages)))
            try:
                answer = model.chat.completions.create(model=args.model, messages=messages)  # type: ignore[arg-type]
            except openai.OpenAIError as exc:
                span.set_status(Status(StatusCode.ERROR, str(exc)))
                continue
            text = answer.choices[0].message.content or ""
            span.set_attribute("gen_ai.response.model", answer.model)
            if answer.usage is not None:
                span.set_attribute("gen_ai.usage.input_tokens", answer.usage.prompt_tokens)
                span.set_attribute("gen_ai.usage.output_tokens", answer.usage.completion_tokens)
            span.set_attribute(
                "gen_ai.output.messages",
                json.dumps(_parts([{"role": "assistant", "content": text}])),
            )
            trace_ids.append(format(span.get_span_context().trace_id, "032x"))
            print(f"{trace_ids[-1]}  {question} -> {text[:60]}")
    provider.shutdown()  # flushes the batch to evallock

    # The user did not like the second answer: thumbs down, linked to its trace.
    if len(trace_ids) > 1:
        rating = {"trace_id": trace_ids[1], "rating": "down", "comment": "When exactly?"}
        answer = httpx.post(f"{args.evallock}/v1/feedback", json=rating, headers=auth, timeout=10)
        answer.raise_for_status()
        print(f"rated {trace_ids[1]} down")
    return 0 if len(trace_ids) == len(QUESTIONS) else 1


def _parts(messages: list[dict[str, str]]) -> list[dict[str, object]]:
    """Chat messages in the GenAI conventions' shape (role + typed parts)."""
    return [
        {"role": m["role"], "parts": [{"type": "text", "content": m["content"]}]} for m in messages
    ]


if __name__ == "__main__":
    sys.exit(main())
