"""OTLP/gRPC: the OTel SDK's default exporter, unmodified but for its endpoint and key.

The socket is the point (gRPC's own transport), so a real server runs with
``grpc_port=0``. Spans are stored as over HTTP and the reply comes after the
commit; keys are checked from the call's metadata; logs and metrics work too.
"""

from __future__ import annotations

import pytest
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricExportResult
from opentelemetry.sdk.trace.export import SpanExportResult

from evallock.store import Store

from .test_ingest import assert_stored, evaluation_records, make_spans


@pytest.fixture
def grpc_server(server_factory):
    running = server_factory(grpc_port=0)
    port = running.app.state.evallock.grpc.port
    return running, f"127.0.0.1:{port}"


def exporter(endpoint: str, key: str | None, **options):
    headers = (("authorization", f"Bearer {key}"),) if key else None
    return OTLPSpanExporter(
        endpoint=endpoint, insecure=True, headers=headers, timeout=10, **options
    )


def test_the_sdk_grpc_exporter_stores_spans_and_logs(grpc_server, api_keys, store: Store) -> None:
    _, endpoint = grpc_server
    spans = make_spans(3)
    assert exporter(endpoint, api_keys["ingest"]).export(spans) is SpanExportResult.SUCCESS
    assert_stored(store, spans)  # committed before the reply: no wait
    logs = OTLPLogExporter(
        endpoint=endpoint,
        insecure=True,
        headers=(("authorization", f"Bearer {api_keys['ingest']}"),),
    )
    assert logs.export(evaluation_records(spans[0])).name == "SUCCESS"
    assert store.feedback.find(trace_id=format(spans[0].context.trace_id, "032x"))
    reader = InMemoryMetricReader()
    MeterProvider(metric_readers=[reader]).get_meter("t").create_counter("c").add(1)
    metrics = OTLPMetricExporter(
        endpoint=endpoint,
        insecure=True,
        headers=(("authorization", f"Bearer {api_keys['ingest']}"),),
    )
    assert metrics.export(reader.get_metrics_data()) is MetricExportResult.SUCCESS


def test_grpc_calls_need_an_ingest_key(grpc_server, api_keys, store: Store) -> None:
    import grpc
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

    _, endpoint = grpc_server
    body = encode_spans(make_spans(1))
    with grpc.insecure_channel(endpoint) as channel:
        export = channel.unary_unary(
            "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            request_serializer=trace_service_pb2.ExportTraceServiceRequest.SerializeToString,
            response_deserializer=trace_service_pb2.ExportTraceServiceResponse.FromString,
        )
        for metadata, code, says in (
            (None, grpc.StatusCode.UNAUTHENTICATED, "API key is required"),
            ((("authorization", "Bearer evl_" + "x" * 43),), grpc.StatusCode.UNAUTHENTICATED,
             "checked the store"),
            ((("authorization", f"Bearer {api_keys['read']}"),), grpc.StatusCode.PERMISSION_DENIED,
             "scope"),
        ):  # fmt: skip
            with pytest.raises(grpc.RpcError) as caught:
                export(body, metadata=metadata, timeout=10)
            assert caught.value.code() == code and says in caught.value.details()
        bad = channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export")
        with pytest.raises(grpc.RpcError) as garbage:
            bad(b"\xff\x00garbage", metadata=(("authorization", f"Bearer {api_keys['ingest']}"),))
        assert garbage.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert store.traces.count() == 0
