"""Reading traces (``GET /api/*``), keys and scopes, health and the OpenAPI spec."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text

from evallock.records import Trace
from evallock.server import create_api_key
from evallock.store import Store
from evallock.times import utc_now

HOSTILE = "<img src=x onerror=alert(1)> '; DROP TABLE traces; -- \u202e\x1b[2J"


def seed(store: Store) -> list[Trace]:
    now = utc_now()
    traces = [
        Trace(
            trace_id=f"{i:032x}",
            timestamp=now - timedelta(hours=i),
            input=f"question {i}",
            output=f"answer {i}",
            keys={
                "prompt_version": "v4" if i % 2 else "v3",
                "customer_tier": "pro",
                "session_id": f"s-{i % 3}",
            },
        )
        for i in range(1, 11)
    ]
    traces.append(
        Trace(
            trace_id="f" * 32,
            timestamp=now - timedelta(days=3),
            input=HOSTILE,
            output=HOSTILE,
            keys={"intent": HOSTILE},
        )
    )
    store.traces.add(traces)
    return traces


def test_list_with_time_and_key_filters(read_client, store: Store) -> None:
    seed(store)
    everything = read_client.get("/api/traces").json()
    assert everything["total"] == 11 and len(everything["traces"]) == 11
    times = [t["timestamp"] for t in everything["traces"]]
    assert times == sorted(times, reverse=True)
    recent = read_client.get("/api/traces", params={"since": "330m"}).json()
    assert recent["total"] == 5
    v4 = read_client.get(
        "/api/traces", params={"key.prompt_version": "v4", "key.Customer-Tier": "pro"}
    ).json()
    assert v4["total"] == 5 and {t["keys"]["prompt_version"] for t in v4["traces"]} == {"v4"}
    extra = read_client.get("/api/traces", params={"key.session_id": "s-1"}).json()
    assert {t["keys"]["session_id"] for t in extra["traces"]} == {"s-1"} and extra["total"] == 4
    page = read_client.get(
        "/api/traces", params={"limit": 3, "offset": 3, "oldest_first": "true"}
    ).json()
    assert [t["input"] for t in page["traces"]] == ["question 8", "question 7", "question 6"]
    assert page["total"] == 11
    until = read_client.get(
        "/api/traces", params={"until": (utc_now() - timedelta(days=1)).isoformat()}
    ).json()
    assert [t["trace_id"] for t in until["traces"]] == ["f" * 32]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "last tuesday"}, "since"),
        ({"limit": "lots"}, "limit"),
        ({"limit": 5000}, "limit"),
        ({"key.a'b": "x"}, "key.a'b"),
    ],
)
def test_bad_queries_name_the_field(read_client, params, field) -> None:
    answer = read_client.get("/api/traces", params=params)
    assert answer.status_code == 400
    assert answer.json()["field"] == field
    assert answer.json()["detail"].startswith(field)


def test_one_trace_with_feedback_and_hostile_text(read_client, ingest_client, store: Store) -> None:
    seed(store)
    ingest_client.post(
        "/v1/feedback", json={"trace_id": "f" * 32, "rating": "down", "comment": HOSTILE}
    )
    shown = read_client.get(f"/api/traces/{'F' * 32}")
    assert shown.status_code == 200
    assert shown.headers["content-type"] == "application/json"
    assert shown.headers["x-content-type-options"] == "nosniff"
    body = shown.json()
    assert body["trace"]["input"] == HOSTILE and body["trace"]["keys"]["intent"] == HOSTILE
    assert body["feedback"][0]["comment"] == HOSTILE
    assert read_client.get(f"/api/traces/{'e' * 32}").status_code == 404
    bad = read_client.get("/api/traces/<script>")
    assert bad.status_code == 400 and bad.json()["field"] == "trace_id"
    assert "text/html" not in bad.headers["content-type"]


def test_scopes(app_server, api_keys) -> None:
    server = app_server
    feedback = {"trace_id": "a" * 32, "rating": "up"}
    # No key, a made-up key, and a non-Bearer scheme: 401 with a challenge.
    for headers in ({}, {"Authorization": "Bearer evl_madeup"}, {"Authorization": "Basic abc"}):
        answer = server.get("/api/traces", headers=headers)
        assert answer.status_code == 401 and answer.headers["www-authenticate"].startswith("Bearer")
        assert server.post("/v1/feedback", json=feedback, headers=headers).status_code == 401
    as_ = {scope: {"Authorization": f"Bearer {key}"} for scope, key in api_keys.items()}
    assert server.get("/api/traces", headers=as_["ingest"]).status_code == 403
    assert server.post("/v1/feedback", json=feedback, headers=as_["read"]).status_code == 403
    assert server.post("/v1/traces", json={}, headers=as_["read"]).status_code == 403
    assert server.get("/api/stats", headers=as_["read"]).status_code == 200
    assert server.get("/api/traces", headers=as_["admin"]).status_code == 200
    assert server.post("/v1/feedback", json=feedback, headers=as_["admin"]).status_code == 200
    own_header = {"X-Evallock-Auth": f"Bearer {api_keys['read']}"}
    assert server.get("/api/traces", headers=own_header).status_code == 200
    forbidden = server.get("/api/traces", headers=as_["ingest"]).json()
    assert "'ingest'" in forbidden["detail"] and "read" in forbidden["detail"]


def test_revoked_keys_and_keys_stored_only_hashed(app_server, store: Store, store_url: str) -> None:
    created = create_api_key(store, name="ci", scope="read")
    headers = {"Authorization": f"Bearer {created.secret}"}
    assert app_server.get("/api/traces", headers=headers).status_code == 200
    assert store.api_keys.revoke(created.key_id)
    revoked = app_server.get("/api/traces", headers=headers)
    assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]
    # the answer names the store it checked: a key made against another store is the usual cause
    assert f"checked the store {store.url}" in revoked.json()["detail"]
    engine = create_engine(store_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        rows = [tuple(str(v) for v in row) for row in conn.execute(text("SELECT * FROM api_keys"))]
    engine.dispose()
    assert rows and not any(created.secret in value for row in rows for value in row)
    assert created.secret.startswith("evl_") and len(created.secret) > 40


def test_no_auth_on_loopback(app_factory) -> None:
    server = app_factory(no_auth=True)
    assert server.get("/api/traces").status_code == 200
    assert (
        server.post("/v1/feedback", json={"trace_id": "a" * 32, "rating": "up"}).status_code == 200
    )


def test_health_readiness_and_openapi(app_server, api_keys) -> None:
    server = app_server
    health = server.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert "recording_failures" in health.json()["metrics"]
    ready = server.get("/readyz")
    assert ready.status_code == 200 and ready.json()["auth"] is True
    spec = server.get("/openapi.json").json()
    assert {
        "/v1/traces",
        "/v1/logs",
        "/v1/chat/completions",
        "/v1/feedback",
        "/api/traces",
        "/api/traces/{trace_id}",
        "/healthz",
        "/readyz",
    } <= set(spec["paths"])
    assert "application/x-protobuf" in spec["paths"]["/v1/traces"]["post"]["requestBody"]["content"]
    assert spec["paths"]["/api/traces"]["get"]["security"]
    # no page that loads its script from a CDN: the spec is served, its viewers are not
    assert server.get("/docs").status_code == 404 and server.get("/redoc").status_code == 404
    server.app.state.evallock.store.close()  # the store goes away: not ready, still alive
    not_ready = server.get("/readyz")
    assert not_ready.status_code == 503 and "store" in not_ready.json()["detail"]
    assert server.get("/healthz").status_code == 200


def test_unknown_routes_do_not_reflect_input(app_server) -> None:
    answer = app_server.get("/<script>alert(1)</script>")
    assert answer.status_code == 404
    assert "<script>" not in answer.text and "text/html" not in answer.headers["content-type"]
