"""``POST /v1/labels`` and ``GET /api/calibration``: labels over HTTP, resolved against the
judge's verdicts in the store; one bad label stores nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from evallock.records import OnlineScore
from evallock.store import Store

NOW = datetime.now(UTC)


def judged(store: Store, n: int) -> list[str]:
    ids = [f"{i:032x}" for i in range(n)]
    store.online.finish(
        [],
        [
            OnlineScore(
                evaluator="quality",
                trace_id=trace_id,
                scored_at=NOW,
                status="scored",
                version="judge@abc123abc123",
                score=(i % 5) / 4,
                judge_score=i % 5 + 1,
                passed=i % 5 >= 2,
                reason="ok",
            )
            for i, trace_id in enumerate(ids)
        ],
    )
    return ids


def test_labels_are_stored_beside_the_judge_and_calibration_reads_them(
    app_server, api_keys, store: Store
) -> None:
    ids = judged(store, 6)
    writer = app_server.client(api_keys["ingest"])
    body = {
        "labels": [
            {"subject": f"trace:{t}", "evaluator": "quality", "score": i % 5 + 1}
            for i, t in enumerate(ids)
        ]
    }
    stored = writer.post("/v1/labels", json=body)
    assert stored.status_code == 200, stored.text
    assert stored.json() == {"stored": 6, "judge_versions": ["judge@abc123abc123"]}
    labels = store.labels.of_version("judge@abc123abc123")
    assert len(labels) == 6 and all(lab.reviewer.startswith("key:") for lab in labels)
    assert {lab.judge_score for lab in labels} == {1, 2, 3, 4, 5}
    reader = app_server.client(api_keys["read"])
    calibration = reader.get("/api/calibration").json()["judges"]
    assert calibration[0]["judge_version"] == "judge@abc123abc123"
    assert calibration[0]["kappa_quadratic"] == 1.0 and calibration[0]["status"] == "too-few"
    assert writer.get("/api/calibration").status_code == 403
    assert reader.post("/v1/labels", json=body).status_code == 403


def test_one_bad_label_names_itself_and_stores_nothing(app_server, api_keys, store: Store) -> None:
    ids = judged(store, 2)
    writer = app_server.client(api_keys["ingest"])
    bad = writer.post(
        "/v1/labels",
        json=[
            {"subject": f"trace:{ids[0]}", "evaluator": "quality", "score": 4},
            {"subject": f"trace:{ids[1]}", "evaluator": "quality", "score": 7},
        ],
    )
    assert bad.status_code == 400 and "labels[1]: score must be 1-5, got 7" in bad.text
    unknown = writer.post(
        "/v1/labels", json=[{"subject": "trace:nope", "evaluator": "quality", "score": 3}]
    )
    assert unknown.status_code == 400 and "has not judged it" in unknown.text
    assert writer.post("/v1/labels", json={"labels": []}).status_code == 400
    assert (
        writer.post(
            "/v1/labels", content=b"{", headers={"content-type": "application/json"}
        ).status_code
        == 400
    )
    assert store.labels.versions() == []


def test_the_labelling_page_shows_answers_blind_and_stores_the_form(
    app_factory, api_keys, store: Store
) -> None:
    from evallock.online import EvaluatorRule
    from evallock.records import Trace
    from evallock.session import JudgeSpec

    ids = judged(store, 3)
    store.traces.add(
        [
            Trace(trace_id=t, timestamp=NOW, input=f"question {i}", output=f"answer {i}")
            for i, t in enumerate(ids)
        ]
    )
    server = app_factory(
        evaluators=(EvaluatorRule(name="quality"),),
        judge=JudgeSpec(base_url="http://127.0.0.1:9/v1", model="judge"),
        evaluate_settle_s=3600,
    )
    read = server.client(api_keys["read"]).get("/labels?evaluator=quality")
    assert read.status_code == 200
    assert "answer " in read.text and "Labelling here needs a key of scope" in read.text
    assert "judge_score" not in read.text and "abc123abc123" not in read.text  # blind
    writer = server.client(api_keys["admin"])
    page = writer.get("/labels?evaluator=quality")
    assert '<form method="post" action="/queue/labels"' in page.text
    shown = next(t for t in ids if t in page.text)
    posted = writer.post(
        "/queue/labels",
        data={"evaluator": "quality", "trace_id": shown, "score": "4", "note": "fine", "csrf": ""},
        follow_redirects=False,
    )
    assert posted.status_code == 303, posted.text
    (label,) = store.labels.of_version("judge@abc123abc123")
    assert (label.subject, label.human_score, label.note) == (f"trace:{shown}", 4, "fine")
    after = writer.get("/labels?evaluator=quality")
    assert "(1 labelled by you, 2 to go)" in after.text and f"/traces/{shown}" not in after.text
    bad = writer.post(
        "/queue/labels", data={"evaluator": "quality", "trace_id": shown, "score": "9", "csrf": ""}
    )
    assert bad.status_code == 400 and "score must be 1-5" in bad.text
    nobody = server.client().post("/queue/labels", data={"evaluator": "quality", "trace_id": shown})
    assert nobody.status_code == 401
