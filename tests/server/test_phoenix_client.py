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
