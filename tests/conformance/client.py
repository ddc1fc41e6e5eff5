"""One instrumented app: the real ``openai`` SDK under one client library, sending to evallock.

Run as ``python client.py DIALECT`` with the environment:

* ``LLM_BASE_URL``: the model service (the bundled fake service's ``/v1``);
* ``EVALLOCK_URL``: a running ``evallock serve`` (OTLP/HTTP under it);
* ``EVALLOCK_GRPC``: its OTLP/gRPC ``host:port`` (for the dialects that default to gRPC);
* ``EVALLOCK_KEY``: an ingest key.

It makes four calls, each its own trace, the way an app would (plain, streamed, a tool
call, an error), sets the keys its ecosystem sets in that ecosystem's own way, flushes,
and prints one JSON object: per call, the trace id the client library gave it and what
the app saw (text, tool calls, tokens, model, error). Nothing of evallock is imported:
the only configuration is the endpoint and the key.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

DIALECT = sys.argv[1]
LLM = os.environ["LLM_BASE_URL"]
EVALLOCK = os.environ["EVALLOCK_URL"].rstrip("/")
KEY = os.environ["EVALLOCK_KEY"]
AUTH = {"Authorization": f"Bearer {KEY}"}
GRPC = os.environ["EVALLOCK_GRPC"]
GRPC_AUTH = (("authorization", f"Bearer {KEY}"),)

SYSTEM = (
    "Greeting: Hello!\n"
    "- [refund] Refunds take 5 business days.\n"
    "- [enterprise refund] Enterprise refunds follow your contract."
)
QUESTION = [
    {"role": "system", "content": SYSTEM},
    {"role": "user", "content": "How long does a refund take?"},
]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "order_status",
            "description": "Where an order is.",
            "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
        },
    }
]
WHERE = [{"role": "user", "content": "What is my order status?"}]


# -- each client library, set up as its documentation says -----------------------------------


def _sdk_provider(resource: dict[str, str] | None = None, grpc: bool = False) -> Any:
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create(resource or {}))
    if grpc:  # the SDKs' default protocol, to port 4317's stand-in
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        exporter: Any = OTLPSpanExporter(endpoint=GRPC, insecure=True, headers=GRPC_AUTH)
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter as HttpSpanExporter,
        )

        exporter = HttpSpanExporter(endpoint=f"{EVALLOCK}/v1/traces", headers=AUTH)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return provider


def setup_openinference() -> Callable[[], contextlib.AbstractContextManager[Any]]:
    """Phoenix's way: ``phoenix.otel``-style OTLP to the collector, OpenInference instrumentor."""
    from openinference.instrumentation import using_attributes
    from openinference.instrumentation.openai import OpenAIInstrumentor

    provider = _sdk_provider()
    OpenAIInstrumentor().instrument(tracer_provider=provider)

    def keys() -> contextlib.AbstractContextManager[Any]:
        return using_attributes(
            session_id="s-conformance",
            user_id="u-42",
            metadata={"prompt_version": "refund-v4", "customer_tier": "enterprise"},
            tags=["conformance"],
        )

    return keys


def setup_genai(latest: bool) -> Callable[[], contextlib.AbstractContextManager[Any]]:
    """The official OTel GenAI instrumentation (``opentelemetry-instrumentation-openai-v2``):
    the default conventions (content in log records), or the latest (content on the span)."""
    if latest:
        os.environ["OTEL_SEMCONV_STABILITY_OPT_IN"] = "gen_ai_latest_experimental"
        os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "span_only"
    else:
        os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "true"
    from opentelemetry import _logs
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

    resource = {
        "service.name": "support-bot",
        "service.version": "2.3.0",
        "deployment.environment.name": "production",
    }
    # the default conventions over gRPC; the latest over HTTP
    provider = _sdk_provider(resource, grpc=not latest)
    # The content of the default (v1.30) conventions goes out as log records (events).
    logs = LoggerProvider(resource=provider.resource)
    exporter = OTLPLogExporter(endpoint=GRPC, insecure=True, headers=GRPC_AUTH)
    logs.add_log_record_processor(BatchLogRecordProcessor(exporter))
    _logs.set_logger_provider(logs)
    OpenAIInstrumentor().instrument(tracer_provider=provider, logger_provider=logs)
    PROVIDERS.append(logs)
    return contextlib.nullcontext


def setup_openllmetry() -> Callable[[], contextlib.AbstractContextManager[Any]]:
    """OpenLLMetry's SDK (``traceloop-sdk``): ``Traceloop.init`` to evallock, association
    properties for the keys."""
    from traceloop.sdk import Traceloop

    Traceloop.init(
        app_name="support-bot",
        api_endpoint=EVALLOCK,
        headers=AUTH,
        disable_batch=True,
        telemetry_enabled=False,
    )

    @contextlib.contextmanager
    def keys() -> Iterator[None]:
        Traceloop.set_association_properties(
            {"prompt_version": "refund-v4", "customer_tier": "enterprise", "session_id": "s-tl"}
        )
        yield

    return keys


def setup_openlit() -> Callable[[], contextlib.AbstractContextManager[Any]]:
    """openlit's one call: ``openlit.init`` with the OTLP endpoint and headers."""
    import openlit

    openlit.init(
        otlp_endpoint=EVALLOCK,
        otlp_headers=AUTH,
        application_name="support-bot",
        environment="production",
        disable_metrics=True,
        disable_batch=True,
        # prices from a file: openlit fetches them from GitHub otherwise
        pricing_json=str(Path(__file__).with_name("openlit-pricing.json")),
    )
    return contextlib.nullcontext


def setup_langfuse() -> Callable[[], contextlib.AbstractContextManager[Any]]:
    """The Langfuse SDK's OpenAI drop-in (``from langfuse.openai import openai``), its
    environment pointed at evallock: the secret key is the evallock key (Basic auth)."""
    os.environ.update(
        LANGFUSE_BASE_URL=EVALLOCK,
        LANGFUSE_PUBLIC_KEY="pk-lf-conformance",
        LANGFUSE_SECRET_KEY=KEY,
        LANGFUSE_FLUSH_AT="1",
    )
    return contextlib.nullcontext


# The keys a Langfuse user passes on each call (the drop-in reads langfuse_* metadata).
LANGFUSE_METADATA = {
    "langfuse_session_id": "s-lf",
    "langfuse_user_id": "u-lf",
    "customer_tier": "enterprise",
}


# -- the app -----------------------------------------------------------------------------------

PROVIDERS: list[Any] = []


class Recorder:
    """Finished spans, read in process, so each call's trace id is the client library's own."""

    def __init__(self) -> None:
        from opentelemetry import trace
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        self.memory = InMemorySpanExporter()
        provider = trace.get_tracer_provider()
        provider.add_span_processor(SimpleSpanProcessor(self.memory))
        PROVIDERS.append(provider)
        self.seen: set[str] = set()

    def new_trace(self) -> str:
        ids = {f"{s.context.trace_id:032x}" for s in self.memory.get_finished_spans()}
        fresh = sorted(ids - self.seen)
        if len(fresh) != 1:
            raise SystemExit(f"expected one new trace, got {fresh}")
        self.seen |= ids
        return fresh[0]

    def traced(self, call: Callable[[], Any]) -> tuple[Any, str]:
        """Make the call; what it returned, and the trace id its spans got."""
        result = call()
        return result, self.new_trace()


class LangfuseRecorder:
    """Langfuse's way to know a call's trace: the app function under ``@observe``."""

    def traced(self, call: Callable[[], Any]) -> tuple[Any, str]:
        from langfuse import get_client, observe

        trace_ids: list[str] = []

        @observe(name="support-request")
        def app() -> Any:
            trace_ids.append(str(get_client().get_current_trace_id()))
            return call()

        return app(), trace_ids[0]


def _calls(message: Any) -> list[dict[str, str]]:
    return [
        {"id": c.id, "name": c.function.name, "arguments": c.function.arguments}
        for c in message.tool_calls or []
    ]


def main() -> None:
    setup = {
        "openinference": setup_openinference,
        "genai": lambda: setup_genai(latest=False),
        "genai-latest": lambda: setup_genai(latest=True),
        "openllmetry": setup_openllmetry,
        "openlit": setup_openlit,
        "langfuse": setup_langfuse,
    }[DIALECT]
    keys = setup()
    extra: dict[str, Any] = {}
    recorder: Recorder | LangfuseRecorder
    if DIALECT == "langfuse":
        from langfuse.openai import openai

        recorder = LangfuseRecorder()
        extra = {"metadata": LANGFUSE_METADATA}
    else:
        import openai

        recorder = Recorder()

    client = openai.OpenAI(base_url=LLM, api_key="unused", max_retries=0)
    seen: dict[str, Any] = {}

    def create(**options: Any) -> Any:
        with keys():
            return client.chat.completions.create(**options, **extra)

    answer, trace_id = recorder.traced(lambda: create(model="support-bot", messages=QUESTION))
    seen["plain"] = {
        "trace_id": trace_id,
        "output": answer.choices[0].message.content,
        "tokens_in": answer.usage.prompt_tokens,
        "tokens_out": answer.usage.completion_tokens,
        "model": answer.model,
    }

    def streamed() -> tuple[list[str], Any]:
        stream = create(
            model="support-bot",
            messages=QUESTION,
            stream=True,
            stream_options={"include_usage": True},
        )
        parts, usage = [], None
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                parts.append(chunk.choices[0].delta.content)
            usage = chunk.usage or usage
        return parts, usage

    (parts, usage), trace_id = recorder.traced(streamed)
    seen["streamed"] = {
        "trace_id": trace_id,
        "output": "".join(parts),
        "tokens_in": usage.prompt_tokens,
        "tokens_out": usage.completion_tokens,
        "model": "support-bot",
    }

    called, trace_id = recorder.traced(
        lambda: create(model="support-bot", messages=WHERE, tools=TOOLS)
    )
    seen["tool_call"] = {
        "trace_id": trace_id,
        "tool_calls": _calls(called.choices[0].message),
        "tokens_in": called.usage.prompt_tokens,
        "tokens_out": called.usage.completion_tokens,
        "model": called.model,
    }

    def failing() -> None:
        with contextlib.suppress(openai.NotFoundError):
            create(model="no-such-model", messages=QUESTION)

    _, trace_id = recorder.traced(failing)
    seen["error"] = {"trace_id": trace_id, "model": "no-such-model"}

    for provider in PROVIDERS:
        provider.force_flush()
    if DIALECT == "langfuse":
        from langfuse import get_client

        get_client().flush()
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
