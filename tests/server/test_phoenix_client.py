"""The Phoenix client, unmodified but for its base URL and key: its trace annotations arrive.

The socket is the point (the client's own HTTP calls), so a real server runs.
"""

from __future__ import annotations

import pytest

from evallock.records import Trace
from evallock.store import Store

phoenix_client = pytest.importorskip("phoenix.client")


def test_trace_annotations_from_the_phoenix_client_become_feedback(
    server, api_keys, store: Store
) -> None:
    from datetime import UTC, datetime

    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    store.traces.add([Trace(trace_id=trace_id, timestamp=datetime.now(UTC), input="refund?")])
    client = phoenix_client.Client(base_url=server.url, api_key=api_keys["ingest"])
    inserted = client.traces.add_trace_annotation(
        trace_id=trace_id,
        annotation_name="correctness",
        annotator_kind="LLM",
        label="incorrect",
        score=0.0,
        explanation="quoted a 30-day window; policy says 5 business days",
        identifier="judge-run-1",
        sync=True,
    )
    assert inserted is not None and inserted["id"]
    client.traces.add_trace_annotation(  # not sync: answered all the same, stored once
        trace_id=trace_id, annotation_name="correctness", annotator_kind="LLM",
        label="incorrect", score=0.0, identifier="judge-run-1",
    )  # fmt: skip
    [rating] = store.feedback.find(trace_id=trace_id)
    assert (rating.source, rating.name, rating.score) == ("phoenix", "correctness", 0.0)
    assert rating.comment and "5 business days" in rating.comment


def test_span_annotations_find_the_trace_their_span_arrived_in(
    server, api_keys, store: Store
) -> None:
    """Spans come over OTLP (the SDK exporter); the client annotates one span by its id."""
    import httpx
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider = TracerProvider()
    headers = {"Authorization": f"Bearer {api_keys['ingest']}"}
    exporter = OTLPSpanExporter(endpoint=f"{server.url}/v1/traces", headers=headers)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("app")
    with (
        tracer.start_as_current_span("agent") as root,
        tracer.start_as_current_span("llm", attributes={"input.value": "refund?"}) as llm,
    ):
        pass
    provider.shutdown()
    trace_id = f"{root.get_span_context().trace_id:032x}"
    span_id = f"{llm.get_span_context().span_id:016x}"

    client = phoenix_client.Client(base_url=server.url, api_key=api_keys["ingest"])
    inserted = client.spans.add_span_annotation(
        span_id=span_id,
        annotation_name="helpfulness",
        annotator_kind="HUMAN",
        label="thumbs_down",
        explanation="did not answer the question",
        sync=True,
    )
    assert inserted is not None and inserted["id"]
    [rating] = store.feedback.find(trace_id=trace_id)
    assert (rating.rating, rating.name, rating.source) == ("down", "helpfulness", "phoenix")

    with pytest.raises(httpx.HTTPStatusError) as refused:
        client.spans.add_span_annotation(
            span_id="00f067aa0ba902b7", annotation_name="helpfulness", label="good", sync=True
        )
    assert refused.value.response.status_code == 404
    assert "00f067aa0ba902b7" in refused.value.response.text
    assert len(store.feedback.find(trace_id=trace_id)) == 1


def test_session_annotations_from_the_phoenix_client_rate_the_whole_session(
    server, api_keys, store: Store
) -> None:
    """The client first asks the server's version (session annotations need Phoenix 12),
    then posts the annotation: it is filed on the session's newest trace as the session's."""
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    first, last = "4bf92f3577b34da6a3ce929d0e0e4736", "89d60bc7acef1141d97392b18134d84b"
    store.traces.add(
        [
            Trace(trace_id=first, timestamp=now, input="Where is it?", keys={"session_id": "c-1"}),
            Trace(trace_id=last, timestamp=now + timedelta(seconds=3), input="Return it?",
                  keys={"session_id": "c-1"}),
        ]
    )  # fmt: skip
    client = phoenix_client.Client(base_url=server.url, api_key=api_keys["ingest"])
    inserted = client.sessions.add_session_annotation(
        session_id="c-1",
        annotation_name="user_feedback",
        label="thumbs-down",
        explanation="it looked the order up again",
        sync=True,
    )
    assert inserted is not None and inserted["id"]
    [rating] = store.feedback.find(trace_id=last)
    assert (rating.session_id, rating.rating, rating.source) == ("c-1", "down", "phoenix")
    assert store.feedback.find(trace_id=first) == []
    with pytest.raises(Exception, match="404 Not Found"):  # as Phoenix answers an unknown one
        client.sessions.add_session_annotation(
            session_id="c-404", annotation_name="user_feedback", label="thumbs-down", sync=True
        )
