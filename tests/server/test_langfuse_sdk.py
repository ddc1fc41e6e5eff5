"""The Langfuse SDK, unmodified, pointed at ``evallock serve``: its spans and scores arrive.

Only the SDK's configuration changes: ``base_url`` is evallock, the public key is
anything and the secret key is an evallock ingest key (Basic auth). The socket is
the point (the SDK's own OTLP exporter and HTTP client), so a real server runs.
"""

from __future__ import annotations

import uuid

import pytest

from evallock.store import Store

from .conftest import wait_for

langfuse = pytest.importorskip("langfuse")


def _sdk(server, secret: str) -> langfuse.Langfuse:
    """The SDK on a fresh public key: it keeps one exporter per public key for the process,
    so each client's spans go to this test's server."""
    return langfuse.Langfuse(
        public_key=f"pk-lf-{uuid.uuid4().hex}", secret_key=secret, base_url=server.url, flush_at=1
    )


def test_langfuse_generation_and_score_are_stored_with_content_and_keys(
    server, api_keys, store: Store
) -> None:
    client = _sdk(server, api_keys["ingest"])
    try:
        messages = [
            {"role": "system", "content": "You answer refund questions."},
            {"role": "user", "content": "Can I get a refund after 40 days?"},
        ]
        with (
            langfuse.propagate_attributes(user_id="u-7", session_id="s-9"),
            client.start_as_current_observation(
                as_type="generation",
                name="chat",
                model="support-bot-2026",
                input=messages,
                metadata={"customer_tier": "enterprise"},
            ) as generation,
        ):
            generation.update(
                output={"role": "assistant", "content": "Refunds are within 30 days."},
                usage_details={"input": 31, "output": 7},
            )
            trace_id = client.get_current_trace_id()
        client.create_score(trace_id=trace_id, name="user_feedback", value=0, data_type="BOOLEAN")
        client.create_score(
            trace_id=trace_id, name="sentiment", value="negative", data_type="CATEGORICAL"
        )
        client.flush()
    finally:
        client.shutdown()
    trace = wait_for(lambda: store.traces.get(trace_id))
    assert trace.input == "Can I get a refund after 40 days?"
    assert trace.output == "Refunds are within 30 days."
    assert trace.messages == messages
    assert trace.model == "support-bot-2026"
    assert (trace.tokens_in, trace.tokens_out) == (31, 7)
    assert trace.keys["customer_tier"] == "enterprise"  # metadata named like a shared key
    assert (trace.keys["user_id"], trace.keys["session_id"]) == ("u-7", "s-9")
    ratings = wait_for(lambda: len(found := store.feedback.find(trace_id=trace_id)) == 2 and found)
    assert sorted((r.name, r.rating, r.source) for r in ratings) == [
        ("sentiment", "down", "langfuse"),  # a "negative" sentiment is a thumbs-down
        ("user_feedback", "down", "langfuse"),
    ]
    # a score of the whole session, once its trace is here: filed on its newest trace
    client = _sdk(server, api_keys["ingest"])
    try:
        client.create_score(
            session_id="s-9", name="user_feedback", value=0, data_type="BOOLEAN", comment="no"
        )
        client.flush()
    finally:
        client.shutdown()
    ratings = wait_for(lambda: len(found := store.feedback.find(trace_id=trace_id)) == 3 and found)
    (session_rating,) = [r for r in ratings if r.session_id is not None]
    assert (session_rating.session_id, session_rating.rating, session_rating.comment) == (
        "s-9",
        "down",
        "no",
    )


def test_a_wrong_secret_key_is_refused_and_a_score_without_a_trace_is_said(
    server, api_keys, store: Store
) -> None:
    import base64

    import httpx

    def basic(secret: str) -> dict[str, str]:
        token = base64.b64encode(f"pk-lf-x:{secret}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    scores = [
        {"traceId": "a" * 32, "name": "helpful", "value": 1, "dataType": "BOOLEAN",
         "timestamp": "2026-11-30T10:00:00.000Z"},
        {"sessionId": "s-1", "name": "helpful", "value": 1},
        {"traceId": "b" * 32, "name": "helpful", "value": 1, "timestamp": "yesterday"},
    ]  # fmt: skip
    with httpx.Client(base_url=server.url) as http:
        refused = http.post("/api/public/scores", json=scores, headers=basic("evl_" + "x" * 43))
        assert refused.status_code == 401 and "checked the store" in refused.text
        partial = http.post("/api/public/scores", json=scores, headers=basic(api_keys["ingest"]))
    assert partial.status_code == 207
    body = partial.json()
    assert (body["accepted"], body["rejected"]) == (1, 2)
    # a session none of whose traces has arrived has nothing to file the rating on
    assert body["errors"][0]["index"] == 1
    assert "no trace of session 's-1' has arrived" in body["errors"][0]["message"]
    assert body["errors"][1]["index"] == 2 and "timestamp" in body["errors"][1]["message"]
    [kept] = store.feedback.find(trace_id="a" * 32)
    assert kept.created_at.isoformat() == "2026-11-30T10:00:00+00:00"  # the score's own time


def test_the_batch_ingestion_api_takes_score_events_and_says_where_traces_go(
    server, api_keys, store: Store
) -> None:
    """Older Langfuse SDKs send scores as score-create events to /api/public/ingestion."""
    import base64

    import httpx

    token = base64.b64encode(f"pk-lf-x:{api_keys['ingest']}".encode()).decode()
    batch = [
        {"id": "e1", "type": "score-create", "timestamp": "2026-12-01T10:00:00Z",
         "body": {"id": "s1", "traceId": "c" * 32, "name": "user_feedback", "value": 0,
                  "dataType": "BOOLEAN"}},
        {"id": "e2", "type": "trace-create", "timestamp": "2026-12-01T10:00:00Z",
         "body": {"id": "d" * 32, "name": "chat"}},
        {"id": "e3", "type": "score-create", "body": {"sessionId": "s-1", "name": "x", "value": 1}},
    ]  # fmt: skip
    with httpx.Client(base_url=server.url) as http:
        answer = http.post(
            "/api/public/ingestion",
            json={"batch": batch},
            headers={"Authorization": f"Basic {token}"},
        )
    assert answer.status_code == 207, answer.text
    body = answer.json()
    assert body["successes"] == [{"id": "e1", "status": 201}]
    errors = {error["id"]: error["message"] for error in body["errors"]}
    assert "OTLP" in errors["e2"] and "batch[2].body.sessionId: no trace of session" in errors["e3"]
    [rating] = store.feedback.find(trace_id="c" * 32)
    assert (rating.rating, rating.source) == ("down", "langfuse")
