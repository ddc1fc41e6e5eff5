"""``POST /v1/metrics``: the SDK's metric exports get an OTLP answer (counted, dropped), not 404."""

from __future__ import annotations

import gzip

import orjson
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricExportResult

from evallock.server._otlp_metrics import DROPPED

from .conftest import InProcessServer


def _metrics_data():
    reader = InMemoryMetricReader()
    meter = MeterProvider(metric_readers=[reader]).get_meter("test")
    counter = meter.create_counter("gen_ai.client.token.usage")
    histogram = meter.create_histogram("gen_ai.client.operation.duration")
    for kind in ("input", "output"):
        counter.add(12, {"gen_ai.token.type": kind})
    histogram.record(0.4)
    return reader.get_metrics_data()


def test_the_sdk_metric_exporter_succeeds_and_nothing_is_stored(
    app_server: InProcessServer, api_keys, store
) -> None:
    exporter = OTLPMetricExporter(
        endpoint=f"{app_server.url}/v1/metrics",
        headers={"Authorization": f"Bearer {api_keys['ingest']}"},
        session=app_server.session(),
    )
    assert exporter.export(_metrics_data()) is MetricExportResult.SUCCESS
    assert store.traces.count() == 0
    stats = app_server.get("/api/stats", headers={"Authorization": f"Bearer {api_keys['read']}"})
    assert stats.json()["metric_points_dropped"] == 3


def test_both_encodings_say_how_many_points_were_dropped_and_why(
    app_server: InProcessServer, api_keys
) -> None:
    auth = {"Authorization": f"Bearer {api_keys['ingest']}"}
    from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics

    body = encode_metrics(_metrics_data()).SerializeToString()
    answer = app_server.post(
        "/v1/metrics",
        content=gzip.compress(body),
        headers={**auth, "Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"},
    )
    assert answer.status_code == 200
    parsed = metrics_service_pb2.ExportMetricsServiceResponse.FromString(answer.content)
    assert parsed.partial_success.rejected_data_points == 3
    assert parsed.partial_success.error_message == DROPPED
    doc = {"resourceMetrics": [{"scopeMetrics": [{"metrics": [
        {"name": "a", "gauge": {"dataPoints": [{"asDouble": 1}]}},
        {"name": "b", "histogram": {"dataPoints": [{}, {}]}},
    ]}]}]}  # fmt: skip
    answer = app_server.post("/v1/metrics", content=orjson.dumps(doc),
                             headers={**auth, "Content-Type": "application/json"})  # fmt: skip
    assert answer.json() == {"partialSuccess": {"rejectedDataPoints": "3", "errorMessage": DROPPED}}


def test_bad_metrics_bodies_are_4xx_and_keys_are_required(
    app_server: InProcessServer, api_keys
) -> None:
    auth = {"Authorization": f"Bearer {api_keys['ingest']}"}
    assert app_server.post("/v1/metrics", content=b"{}").status_code == 401
    bad = app_server.post("/v1/metrics", content=b"\xff\x00garbage",
                          headers={**auth, "Content-Type": "application/x-protobuf"})  # fmt: skip
    assert bad.status_code == 400
    text = app_server.post("/v1/metrics", content=b"x",
                           headers={**auth, "Content-Type": "text/plain"})  # fmt: skip
    assert text.status_code == 415
    deep = b'{"resourceMetrics": ' + b"[" * 100 + b"]" * 100 + b"}"
    nested = app_server.post("/v1/metrics", content=deep,
                             headers={**auth, "Content-Type": "application/json"})  # fmt: skip
    assert nested.status_code in (400, 422)
