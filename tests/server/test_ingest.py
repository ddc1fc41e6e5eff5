"""OTLP/HTTP ingest with the OpenTelemetry SDK's own exporters, on SQLite and PostgreSQL.

Protobuf goes through the SDK's ``OTLPSpanExporter`` / ``OTLPLogExporter``. The
installed SDK has no OTLP/JSON exporter (``opentelemetry-exporter-otlp-json-http``
0.66b1 pins ``opentelemetry-exporter-otlp-common==0.66b1``, the protobuf exporter
1.45.2 pins 0.66b2), so JSON is the SDK's spans encoded by its own encoder and
written as OTLP/JSON (hex ids, integer enums), sent with httpx.

The app runs in process: the exporters reach it through a ``requests`` session
(their own encoding, compression, headers and retry rules, no socket), and one
test sends them to a real server's URL.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
from typing import Any

import orjson
import pytest
from google.protobuf import json_format
from google.rpc import status_pb2
from opentelemetry._logs import LogRecord
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from evallock.server import RunningServer
from evallock.store import Store
from evallock.times import utc_now

from .conftest import InProcessServer, asgi_client

PROTOBUF = {"content-type": "application/x-protobuf"}
JSON = {"content-type": "application/json"}


def make_spans(
    n: int = 2, *, question: str = "Can I get a refund after 40 days?"
) -> list[ReadableSpan]:
    """``n`` traces from the SDK: a request span with a GenAI chat span inside."""
    memory = InMemorySpanExporter()
    resource = Resource.create({"service.name": "refund-bot", "service.version": "2.8.1"})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("refund-bot")
    for i in range(n):
        with tracer.start_as_current_span("POST /answer") as root:
            root.set_attribute("evallock.customer_tier", "enterprise")
            with tracer.start_as_current_span("chat support-bot") as span:
                span.set_attribute("gen_ai.operation.name", "chat")
                span.set_attribute("gen_ai.request.model", "support-bot")
                span.set_attribute("gen_ai.response.model", "support-bot-2026")
                span.set_attribute("gen_ai.usage.input_tokens", 41 + i)
                span.set_attribute("gen_ai.usage.output_tokens", 12)
                span.set_attribute("gen_ai.prompt.version", "refund-v4")
                span.set_attribute("evallock.intent", "refund")
                messages = [
                    {"role": "user", "parts": [{"type": "text", "content": f"{question} #{i}"}]}
                ]
                span.set_attribute("gen_ai.input.messages", json.dumps(messages))
                answer = [
                    {"role": "assistant", "parts": [{"type": "text", "content": "Within 30 days."}]}
                ]
                span.set_attribute("gen_ai.output.messages", json.dumps(answer))
    provider.shutdown()
    return list(memory.get_finished_spans())


def otlp_json(spans: list[ReadableSpan]) -> dict[str, Any]:
    """OTLP/JSON of SDK spans, as an OTLP/JSON exporter writes it: hex ids, integer enums."""
    as_dict = json_format.MessageToDict(encode_spans(spans), use_integers_for_enums=True)

    def hexify(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: base64.b64decode(v).hex()
                if k in ("traceId", "spanId", "parentSpanId")
                else hexify(v)
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [hexify(x) for x in node]
        return node

    return hexify(as_dict)  # type: ignore[no-any-return]


def trace_ids(spans: list[ReadableSpan]) -> set[str]:
    return {format(s.context.trace_id, "032x") for s in spans}


def exporter(
    server: InProcessServer | RunningServer, key: str | None = None, **options: Any
) -> OTLPSpanExporter:
    """The SDK's protobuf span exporter: into the app in process through a ``requests``
    session, or to a real server's socket."""
    if isinstance(server, InProcessServer):
        options.setdefault("session", server.session())
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return OTLPSpanExporter(endpoint=f"{server.url}/v1/traces", headers=headers, **options)


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip])
def test_sdk_protobuf_exporter(app_server, api_keys, store: Store, compression) -> None:
    spans = make_spans(3)
    result = exporter(app_server, api_keys["ingest"], compression=compression).export(spans)
    assert result is SpanExportResult.SUCCESS
    assert_stored(store, spans)


def assert_stored(store: Store, spans: list[ReadableSpan]) -> None:
    """Every trace of ``make_spans`` is stored with what its spans said."""
    for trace_id in trace_ids(spans):
        trace = store.traces.get(trace_id)
        assert trace is not None
        assert trace.input is not None and trace.input.startswith(
            "Can I get a refund after 40 days?"
        )
        assert trace.output == "Within 30 days."
        assert trace.model == "support-bot-2026"
        assert trace.tokens_out == 12
        assert trace.source == "otlp"
        assert trace.keys["prompt_version"] == "refund-v4"
        assert trace.keys["intent"] == "refund"
        assert trace.keys["customer_tier"] == "enterprise"
        assert trace.keys["service_version"] == "2.8.1"


@pytest.mark.slow
def test_the_sdk_exporters_through_a_real_socket(server, api_keys, store: Store) -> None:
    """The socket is the point: the SDK's exporters as a service configures them, by URL."""
    spans = make_spans(2)
    result = exporter(server, api_keys["ingest"], compression=Compression.Gzip).export(spans)
    assert result is SpanExportResult.SUCCESS
    assert_stored(store, spans)
    records = evaluation_records(spans[0])
    log_exporter = OTLPLogExporter(
        endpoint=f"{server.url}/v1/logs", headers={"Authorization": f"Bearer {api_keys['ingest']}"}
    )
    assert log_exporter.export(records).name == "SUCCESS"
    assert store.feedback.find(trace_id=format(spans[0].context.trace_id, "032x"))


@pytest.mark.parametrize("gzipped", [False, True])
def test_otlp_json(app_server, api_keys, store: Store, gzipped: bool) -> None:
    spans = make_spans(2)
    body = orjson.dumps(otlp_json(spans))
    headers = {**JSON, "Authorization": f"Bearer {api_keys['ingest']}"}
    if gzipped:
        body, headers = gzip.compress(body), {**headers, "Content-Encoding": "gzip"}
    response = app_server.post("/v1/traces", content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {}
    assert all(store.traces.get(t) is not None for t in trace_ids(spans))


def _with_bad_span(payload: dict[str, Any]) -> dict[str, Any]:
    spans = payload["resourceSpans"][0]["scopeSpans"][0]["spans"]
    spans.append(
        {**spans[0], "spanId": "0000000000000000", "traceId": "4bf92f3577b34da6a3ce929d0e0e4736"}
    )
    return payload


def test_partial_success_in_both_encodings(app_server, api_keys, store: Store) -> None:
    server = app_server
    auth = {"Authorization": f"Bearer {api_keys['ingest']}"}
    spans = make_spans(1)
    payload = _with_bad_span(otlp_json(spans))
    answer = server.post("/v1/traces", json=payload, headers=auth)
    assert answer.status_code == 200
    partial = answer.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "1" and "span" in partial["errorMessage"]
    assert all(store.traces.get(t) is not None for t in trace_ids(spans))

    request = trace_service_pb2.ExportTraceServiceRequest()
    json_format.ParseDict(_b64_ids(_with_bad_span(otlp_json(make_spans(1)))), request)
    answer = server.post(
        "/v1/traces", content=request.SerializeToString(), headers={**PROTOBUF, **auth}
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/x-protobuf"
    decoded = trace_service_pb2.ExportTraceServiceResponse()
    decoded.ParseFromString(answer.content)
    assert decoded.partial_success.rejected_spans == 1
    assert decoded.partial_success.error_message


def _b64_ids(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: base64.b64encode(bytes.fromhex(v)).decode()
            if k in ("traceId", "spanId", "parentSpanId") and v
            else _b64_ids(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_b64_ids(x) for x in node]
    return node


def test_bad_bodies_answer_with_the_reason_and_store_nothing(
    app_server, api_keys, store: Store
) -> None:
    auth = {"Authorization": f"Bearer {api_keys['ingest']}"}
    url = "/v1/traces"
    server = app_server

    garbage = server.post(url, content=b"\xff\x00not protobuf", headers={**PROTOBUF, **auth})
    assert garbage.status_code == 400
    assert garbage.headers["content-type"] == "application/x-protobuf"
    status = status_pb2.Status()
    status.ParseFromString(garbage.content)
    assert status.code == 3 and status.message

    broken = server.post(url, content=b'{"resourceSpans": [', headers={**JSON, **auth})
    assert broken.status_code == 400
    assert broken.json()["code"] == 3 and broken.json()["message"]

    wrong_type = server.post(url, content=b"<spans/>", headers={"content-type": "text/xml", **auth})
    assert wrong_type.status_code == 415
    assert "text/xml" in wrong_type.json()["message"]

    bad_gzip = server.post(
        url, content=b"nope", headers={**JSON, **auth, "Content-Encoding": "gzip"}
    )
    assert bad_gzip.status_code == 400 and "decompress" in bad_gzip.json()["message"]

    assert store.traces.count() == 0


def test_size_limits_before_and_after_decompression(app_factory, api_keys, store: Store) -> None:
    server = app_factory(max_body_bytes=64 * 1024)
    auth = {"Authorization": f"Bearer {api_keys['ingest']}", **JSON}
    url = "/v1/traces"
    too_big = server.post(url, content=b" " * (65 * 1024), headers=auth)
    assert too_big.status_code == 413
    assert "64 KiB" in too_big.json()["message"]
    bomb = gzip.compress(b" " * (8 * 1024 * 1024))
    assert len(bomb) < 64 * 1024
    exploded = server.post(url, content=bomb, headers={**auth, "Content-Encoding": "gzip"})
    assert exploded.status_code == 413
    assert "decompressed" in exploded.json()["message"]
    # The SDK's own size check aside, a normal export still fits.
    assert exporter(server, api_keys["ingest"]).export(make_spans(1)) is SpanExportResult.SUCCESS
    assert store.traces.count() == 1


def evaluation_records(span: ReadableSpan) -> list[Any]:
    """A judge's ``gen_ai.evaluation.result`` event on ``span``, as the SDK's log records."""
    memory = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    provider.get_logger("judge").emit(
        LogRecord(
            event_name="gen_ai.evaluation.result",
            trace_id=span.context.trace_id,
            span_id=span.context.span_id,
            attributes={
                "gen_ai.evaluation.name": "groundedness",
                "gen_ai.evaluation.score.value": 0.25,
                "gen_ai.evaluation.score.label": "fail",
                "gen_ai.evaluation.explanation": "Quotes a 40-day window.",
            },
        )
    )
    provider.shutdown()
    return list(memory.get_finished_logs())


def test_sdk_log_exporter_stores_evaluation_results(app_server, api_keys, store: Store) -> None:
    server = app_server
    spans = make_spans(1)
    trace_id = spans[0].context.trace_id
    log_exporter = OTLPLogExporter(
        endpoint=f"{server.url}/v1/logs",
        headers={"Authorization": f"Bearer {api_keys['ingest']}"},
        session=server.session(),
    )
    records = evaluation_records(spans[0])
    assert log_exporter.export(records).name == "SUCCESS"
    feedback = store.feedback.find(trace_id=format(trace_id, "032x"))
    assert [(f.name, f.score, f.comment) for f in feedback] == [
        ("groundedness", 0.25, "Quotes a 40-day window.")
    ]
    # The answer is an ExportLogsServiceResponse in the request's encoding.
    empty = logs_service_pb2.ExportLogsServiceRequest().SerializeToString()
    answer = server.post(
        "/v1/logs",
        content=empty,
        headers={**PROTOBUF, "Authorization": f"Bearer {api_keys['ingest']}"},
    )
    assert answer.status_code == 200
    logs_service_pb2.ExportLogsServiceResponse().ParseFromString(answer.content)


def test_a_client_error_status_does_not_retry_forever(app_server, store: Store) -> None:
    # No key: 401, which the OTLP exporter treats as permanent (it does not retry).
    result = exporter(app_server, timeout=5).export(make_spans(1))
    assert result is SpanExportResult.FAILURE
    assert store.traces.count() == 0


def test_span_status_error_is_recorded(app_server, api_keys, store: Store) -> None:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    with provider.get_tracer("t").start_as_current_span("chat m") as span:
        span.set_attribute("gen_ai.operation.name", "chat")
        span.set_status(Status(StatusCode.ERROR, "upstream timed out"))
    provider.shutdown()
    spans = list(memory.get_finished_spans())
    assert exporter(app_server, api_keys["ingest"]).export(spans) is SpanExportResult.SUCCESS
    stored = store.traces.get(format(spans[0].context.trace_id, "032x"))
    assert stored is not None and stored.error == "upstream timed out"


def test_text_and_numbers_a_database_cannot_hold(app_server, api_keys, store: Store) -> None:
    headers = {**PROTOBUF, "Authorization": f"Bearer {api_keys['ingest']}"}
    spans = make_spans(1, question="a NUL \x00 byte")
    answer = app_server.post(
        "/v1/traces", content=encode_spans(spans).SerializeToString(), headers=headers
    )
    assert answer.status_code == 200
    [trace_id] = trace_ids(spans)
    # PostgreSQL text cannot hold NUL: both stores keep U+FFFD in its place.
    assert (store.traces.get(trace_id).input or "").startswith("a NUL \ufffd byte")

    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    with provider.get_tracer("t").start_as_current_span("chat m") as span:
        span.set_attribute("gen_ai.operation.name", "chat")
        span.set_attribute("gen_ai.usage.input_tokens", 2**40)
    provider.shutdown()
    huge = list(memory.get_finished_spans())
    answer = app_server.post(
        "/v1/traces", content=encode_spans(huge).SerializeToString(), headers=headers
    )
    assert answer.status_code == 200
    # A count no column can hold is dropped as unknown, never stored wrong.
    assert store.traces.get(format(huge[0].context.trace_id, "032x")).tokens_in is None


def test_a_value_past_its_limit_is_a_422_naming_the_field(
    app_server, api_keys, store: Store
) -> None:
    headers = {"Authorization": f"Bearer {api_keys['ingest']}"}
    spans = make_spans(1)
    body = otlp_json(spans)
    chat = body["resourceSpans"][0]["scopeSpans"][0]["spans"][-1]
    chat["attributes"].append({"key": "evallock.region", "value": {"stringValue": "x" * 300}})
    answer = app_server.post("/v1/traces", content=orjson.dumps(body), headers={**JSON, **headers})
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == 3 and "region" in answer.json()["message"]
    assert store.traces.count() == 0


@pytest.mark.parametrize(
    "error",
    [
        RecursionError("maximum recursion depth exceeded"),
        OverflowError("int too large to convert"),
        ValueError("not OTLP at all"),
        TypeError("a list where a dict belongs"),
    ],
)
def test_whatever_a_decoder_raises_is_a_400_never_a_500(
    store: Store, api_keys: dict[str, str], monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    from evallock.server import _ingest

    def broken(body: bytes, content_type: str) -> Any:
        raise error

    monkeypatch.setattr(_ingest, "decode_otlp_traces", broken)

    async def main() -> None:
        async with asgi_client(store, key=api_keys["ingest"]) as client:
            answer = await client.post("/v1/traces", content=b"\x0a\x00", headers=PROTOBUF)
            assert answer.status_code == 400, answer.text
            status = status_pb2.Status()
            status.ParseFromString(answer.content)
            assert status.code == 3 and type(error).__name__ in status.message

    asyncio.run(main())


def test_a_limit_the_store_enforces_is_a_422_not_a_503(
    store: Store, api_keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store's own check is the last guard: its refusal is final, not retryable."""
    from evallock.records import Trace
    from evallock.server import _ingest
    from evallock.traces import TraceBatch

    def oversized(body: bytes, content_type: str) -> TraceBatch:
        trace = Trace(trace_id="1" * 32, timestamp=utc_now(), model="m" * 300, source="otel")
        return TraceBatch(traces=[trace], spans=1)

    monkeypatch.setattr(_ingest, "decode_otlp_traces", oversized)

    async def main() -> None:
        async with asgi_client(store, key=api_keys["ingest"]) as client:
            answer = await client.post("/v1/traces", content=b"{}", headers=JSON)
            assert answer.status_code == 422, answer.text
            assert "model" in answer.json()["message"]
            assert "retry-after" not in answer.headers

    asyncio.run(main())
    assert store.traces.count() == 0


def test_a_conversation_over_otlp_is_one_session_by_each_dialects_name(
    app_server, api_keys, store: Store
) -> None:
    """Three requests of one conversation, each naming it as a different instrumentation
    does (GenAI gen_ai.conversation.id, the registry's session.id, langfuse.session.id):
    one session of three traces, oldest first, read in one index range."""
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("agent")
    for turn, attribute in enumerate(
        ("gen_ai.conversation.id", "session.id", "langfuse.session.id")
    ):
        with tracer.start_as_current_span("chat support-bot") as span:
            span.set_attribute("gen_ai.operation.name", "chat")
            span.set_attribute("gen_ai.request.model", "support-bot")
            span.set_attribute(attribute, "conv-7781")
            messages = [{"role": "user", "parts": [{"type": "text", "content": f"turn {turn}"}]}]
            span.set_attribute("gen_ai.input.messages", json.dumps(messages))
    provider.shutdown()
    spans = list(memory.get_finished_spans())
    assert exporter(app_server, api_keys["ingest"]).export(spans) == SpanExportResult.SUCCESS
    session = store.traces.session("conv-7781")
    assert [t.input for t in session] == ["turn 0", "turn 1", "turn 2"]
    assert {t.session_id for t in session} == {"conv-7781"}
