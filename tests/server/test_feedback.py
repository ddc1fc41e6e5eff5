"""``POST /v1/feedback``: three shapes, idempotent, before its trace, validated whole, hostile text."""

from __future__ import annotations

import asyncio
import gzip

import pytest

from evallock.server import _feedback
from evallock.store import Store

from .conftest import asgi_client, wait_for

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
OTHER = "89d60bc7acef1141d97392b18134d84b"


def test_our_shape_is_idempotent_on_id(ingest_client, store: Store) -> None:
    body = {"trace_id": TRACE, "rating": "down", "comment": "Quoted 40 days.", "id": "fb-7781"}
    first = ingest_client.post("/v1/feedback", json=body)
    again = ingest_client.post("/v1/feedback", json={**body, "comment": "changed on retry"})
    assert first.status_code == again.status_code == 200
    assert first.json() == {"data": [{"id": "fb-7781", "trace_id": TRACE}], "id": "fb-7781"}
    stored = store.feedback.find(trace_id=TRACE)
    assert [(f.feedback_id, f.rating, f.score, f.comment, f.source) for f in stored] == [
        ("fb-7781", "down", 0.0, "Quoted 40 days.", "evallock")
    ]
    # Without an id, a retried body is still stored once (its id comes from its content).
    ingest_client.post("/v1/feedback", json={"trace_id": OTHER, "rating": 4})
    ingest_client.post("/v1/feedback", json={"trace_id": OTHER, "rating": 4})
    assert [(f.rating, f.score) for f in store.feedback.find(trace_id=OTHER)] == [("4", 4.0)]


def test_langfuse_and_phoenix_shapes(ingest_client, store: Store) -> None:
    langfuse = {
        "name": "user_feedback",
        "value": 0,
        "dataType": "BOOLEAN",
        "traceId": TRACE,
        "comment": "It said I still had 40 days.",
        "metadata": {"channel": "web_widget"},
    }
    assert ingest_client.post("/v1/feedback", json=langfuse).status_code == 200
    phoenix = {
        "data": [
            {
                "trace_id": OTHER,
                "name": "user_feedback",
                "annotator_kind": "HUMAN",
                "result": {"label": "thumbs_down", "score": 0, "explanation": "wrong window"},
                "identifier": "fb-1",
            },
            {
                "trace_id": OTHER,
                "name": "correctness",
                "annotator_kind": "LLM",
                "result": {"score": 0.3},
            },
        ]
    }
    answer = ingest_client.post("/v1/feedback", json=phoenix)
    assert answer.status_code == 200 and len(answer.json()["data"]) == 2
    [lf] = store.feedback.find(trace_id=TRACE)
    assert (lf.source, lf.rating, lf.score, lf.name) == ("langfuse", "down", 0.0, "user_feedback")
    ph = sorted(store.feedback.find(trace_id=OTHER), key=lambda f: f.name or "")
    assert [(f.source, f.name, f.rating, f.author) for f in ph] == [
        ("phoenix", "correctness", "0.3", "LLM"),
        ("phoenix", "user_feedback", "down", "HUMAN"),
    ]


def test_feedback_before_its_trace_is_linked_when_the_trace_comes(
    app_server, api_keys, ingest_client, read_client
) -> None:
    early = ingest_client.post(
        "/v1/feedback", json={"trace_id": TRACE, "rating": "down", "id": "early"}
    )
    assert early.status_code == 200
    assert read_client.get(f"/api/traces/{TRACE}").status_code == 404  # no trace yet
    headers = {"X-Evallock-Trace-Id": TRACE}
    with app_server.openai(api_keys["ingest"], default_headers=headers) as client:
        client.chat.completions.create(
            model="support-bot", messages=[{"role": "user", "content": "refund?"}]
        )
    shown = wait_for(
        lambda: (r := read_client.get(f"/api/traces/{TRACE}")).status_code == 200 and r.json()
    )
    assert shown["trace"]["trace_id"] == TRACE
    assert [f["feedback_id"] for f in shown["feedback"]] == ["early"]


def test_a_bad_item_fails_the_whole_body_naming_the_field(ingest_client, store: Store) -> None:
    missing = ingest_client.post("/v1/feedback", json={"trace_id": TRACE})
    assert missing.status_code == 400
    assert missing.json()["field"] == "rating" and missing.json()["detail"].startswith("rating:")
    batch = [
        {"trace_id": TRACE, "rating": "up"},
        {"trace_id": "not-a-trace", "rating": "up"},
        {"trace_id": OTHER, "rating": "down"},
    ]
    bad = ingest_client.post("/v1/feedback", json=batch)
    assert bad.status_code == 400 and bad.json()["field"] == "[1].trace_id"
    phoenix = {
        "data": [
            {"trace_id": TRACE, "name": "x", "result": {"score": 1}},
            {"trace_id": TRACE, "name": "y", "result": {"score": "high"}},
        ]
    }
    bad_phoenix = ingest_client.post("/v1/feedback", json=phoenix)
    assert bad_phoenix.status_code == 400 and bad_phoenix.json()["field"] == "data[1].result"
    assert ingest_client.post("/v1/feedback", json=[1, 2]).json()["field"] == "[0]"
    assert store.feedback.find() == []  # nothing of any of them was stored


def test_transport_errors(app_factory, api_keys) -> None:
    server = app_factory(max_body_bytes=4096)
    with server.client(api_keys["ingest"]) as client:
        text = client.post(
            "/v1/feedback",
            content=b"rating=down",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert text.status_code == 415
        broken = client.post(
            "/v1/feedback", content=b"{", headers={"content-type": "application/json"}
        )
        assert broken.status_code == 400 and "not JSON" in broken.json()["detail"]
        huge = client.post(
            "/v1/feedback", json={"trace_id": TRACE, "rating": "up", "comment": "x" * 5000}
        )
        assert huge.status_code == 413
        body = gzip.compress(b'{"trace_id": "%s", "rating": "up", "id": "gz"}' % TRACE.encode())
        zipped = client.post(
            "/v1/feedback",
            content=body,
            headers={"content-type": "application/json", "content-encoding": "gzip"},
        )
        assert zipped.status_code == 200 and zipped.json()["id"] == "gz"


def test_hostile_text_is_stored_as_given_and_returned_as_data(
    ingest_client, read_client, store: Store
) -> None:
    hostile = "<script>alert('x')</script> '; DROP TABLE feedback; -- \x1b[31mred\x1b[0m ünïcødé 👎"
    body = {"trace_id": TRACE, "rating": "down", "comment": hostile, "id": "<b>id</b>"}
    assert ingest_client.post("/v1/feedback", json=body).status_code == 200
    [item] = store.feedback.find(trace_id=TRACE)
    assert item.comment == hostile and item.feedback_id == "<b>id</b>"
    listed = read_client.get("/api/feedback", params={"trace_id": TRACE})
    assert listed.headers["content-type"] == "application/json"
    assert listed.headers["x-content-type-options"] == "nosniff"
    assert listed.json()["feedback"][0]["comment"] == hostile


def nested(depth: int) -> object:
    value: object = "deep"
    for _ in range(depth - 1):
        value = [value]
    return value


def test_values_past_their_limits_are_422_naming_the_field(
    store: Store, api_keys: dict[str, str]
) -> None:
    async def main() -> None:
        async with asgi_client(store, key=api_keys["ingest"]) as client:
            huge_id = await client.post(
                "/v1/feedback", json={"trace_id": TRACE, "rating": "up", "id": "i" * (10 << 20)}
            )
            assert huge_id.status_code == 422
            assert huge_id.json()["field"] == "id" and "256" in huge_id.json()["detail"]
            in_batch = await client.post(
                "/v1/feedback",
                json=[
                    {"trace_id": TRACE, "rating": "up"},
                    {"trace_id": TRACE, "rating": "up", "comment": "c" * 20_000},
                ],
            )
            assert in_batch.status_code == 422 and in_batch.json()["field"] == "[1].comment"
            langfuse = {"traceId": TRACE, "name": "n" * 300, "value": 1}
            named = await client.post("/v1/feedback", json=langfuse)
            assert named.status_code == 422 and named.json()["field"] == "name"
            deep = await client.post(
                "/v1/feedback",
                json={"trace_id": TRACE, "rating": "up", "metadata": nested(253)},
            )
            assert deep.status_code in (400, 422), deep.text
            assert deep.json()["field"]
        assert store.feedback.find() == []

    asyncio.run(main())


@pytest.mark.parametrize(
    "error", [RecursionError("maximum recursion depth exceeded"), OverflowError("too big")]
)
def test_a_parser_failure_is_a_400_never_a_500(
    store: Store, api_keys: dict[str, str], monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    def broken(*payload: object) -> object:
        raise error

    monkeypatch.setattr(_feedback, "parse_feedback_items", broken)

    async def main() -> None:
        async with asgi_client(store, key=api_keys["ingest"]) as client:
            answer = await client.post("/v1/feedback", json={"trace_id": TRACE, "rating": "up"})
            assert answer.status_code == 400, answer.text
            assert type(error).__name__ in answer.json()["detail"]

    asyncio.run(main())


def test_a_rating_of_a_session_is_filed_on_its_newest_trace_in_every_shape(
    ingest_client, read_client, store: Store
) -> None:
    from datetime import UTC, datetime, timedelta

    from evallock.records import Trace

    at = datetime(2026, 12, 1, tzinfo=UTC)
    store.traces.add(
        [
            Trace(trace_id=TRACE, timestamp=at, input="Where is R1041?", keys={"session_id": "c-7"}),
            Trace(trace_id=OTHER, timestamp=at + timedelta(seconds=5), input="Can I return it?",
                  keys={"session_id": "c-7"}),
        ]
    )  # fmt: skip
    ours = ingest_client.post("/v1/feedback", json={"session_id": "c-7", "rating": "down"})
    assert ours.status_code == 200 and ours.json()["data"][0]["trace_id"] == OTHER, ours.text
    langfuse = {"sessionId": "c-7", "name": "user_feedback", "value": 0, "dataType": "BOOLEAN"}
    assert ingest_client.post("/v1/feedback", json=langfuse).status_code == 200
    phoenix = {"data": [{"session_id": "c-7", "name": "helpful", "annotator_kind": "HUMAN",
                         "result": {"label": "thumbs-down"}}]}  # fmt: skip
    answer = ingest_client.post("/v1/session_annotations", json=phoenix)
    assert answer.status_code == 200, answer.text
    # naming a trace too, the rating is of the session but filed on that trace
    both = ingest_client.post(
        "/v1/feedback", json={"trace_id": TRACE, "session_id": "c-7", "rating": "up"}
    )
    assert both.status_code == 200
    newest = store.feedback.find(trace_id=OTHER)
    assert sorted((f.source, f.session_id, f.rating) for f in newest) == [
        ("evallock", "c-7", "down"),
        ("langfuse", "c-7", "down"),
        ("phoenix", "c-7", "down"),
    ]
    assert [(f.session_id, f.rating) for f in store.feedback.find(trace_id=TRACE)] == [
        ("c-7", "up")
    ]
    unknown = ingest_client.post("/v1/session_annotations", json={"data": [
        {**phoenix["data"][0], "session_id": "c-8"}]})  # fmt: skip
    assert unknown.status_code == 404 and "data[0].session_id" in unknown.json()["detail"]
    long = ingest_client.post("/v1/feedback", json={"session_id": "s" * 257, "rating": "down"})
    assert long.status_code == 422 and long.json()["field"] == "session_id", long.text
    assert len(store.feedback.find(since=at)) == 4  # nothing of the refused bodies
    # the read API gives the session's traces, oldest first
    session = read_client.get("/api/sessions/c-7")
    assert [t["trace_id"] for t in session.json()["traces"]] == [TRACE, OTHER]
    assert read_client.get("/api/sessions/c-8").status_code == 404
    store.traces.add([Trace(trace_id="a" * 32, timestamp=at, keys={"session_id": "team/a b"})])
    slashed = read_client.get("/api/sessions/team%2Fa%20b")
    assert [t["trace_id"] for t in slashed.json()["traces"]] == ["a" * 32], slashed.text
    assert read_client.get("/api/sessions/" + "s" * 300).status_code == 400
