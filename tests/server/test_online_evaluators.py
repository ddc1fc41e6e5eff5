"""Online evaluators in the service: traffic through the recording proxy is scored within
seconds of ingest, by rule and budget; a restart loses and duplicates nothing."""

from __future__ import annotations

from typing import Any

from evallock.online import Budget, DriftWatch, EvaluatorRule
from evallock.session import JudgeSpec
from evallock.store import Store

from .conftest import wait_for

QUALITY = EvaluatorRule(name="quality", where={"intent": "refund"}, budget=Budget(calls_per_day=50))
FORMAT = EvaluatorRule(name="format", asserts=({"type": "max-length", "value": 2000},))
WATCHED = EvaluatorRule(  # the bot, with no prompt, never says how long a refund takes
    name="says-when",
    asserts=({"type": "icontains", "value": "business days"},),
    drift=DriftWatch(batch=3, baseline_mean=0.95, baseline_sd=0.05, arl0=100),
)
QUESTIONS = [
    ("I was charged twice, can I get a refund?", "refund"),
    ("Refund for a broken blender?", "refund"),
    ("Where is my parcel?", "shipping"),
]


def ask(server: Any, key: str, n_rounds: int = 1) -> None:
    client = server.openai(key)
    with client:
        for round_ in range(n_rounds):
            for question, intent in QUESTIONS:
                client.chat.completions.create(
                    model="support-bot",
                    messages=[{"role": "user", "content": f"{question} ({round_})"}],
                    extra_headers={"X-Evallock-Intent": intent},
                )


def test_proxied_traffic_is_scored_within_seconds(
    app_factory, api_keys, store: Store, fake_service
) -> None:
    judge = JudgeSpec(base_url=fake_service.base_url, model="judge")
    server = app_factory(evaluators=(QUALITY, FORMAT, WATCHED), judge=judge, evaluate_settle_s=0.1)
    ask(server, api_keys["ingest"], n_rounds=2)
    quality = wait_for(lambda: len(store.online.scores(evaluator="quality")) == 4 or None)
    assert quality
    wait_for(lambda: len(store.online.scores(evaluator="format")) == 6 or None)
    scores = store.online.scores(evaluator="quality")
    assert all(s.status == "scored" and s.judge_score in range(1, 6) for s in scores)
    traces = {t.trace_id: t for t in store.traces.find(limit=10)}
    assert {traces[s.trace_id].keys["intent"] for s in scores} == {"refund"}
    status = server.client(api_keys["read"]).get("/api/evaluators")
    assert status.status_code == 200, status.text
    body = status.json()
    by_name = {e["name"]: e for e in body["evaluators"]}
    assert by_name["quality"]["scored"] == 4 and by_name["quality"]["spent_today"]["calls"] == 4
    assert by_name["quality"]["budget"]["calls_per_day"] == 50
    low, high = by_name["quality"]["mean_ci"]
    assert low <= by_name["quality"]["mean"] <= high
    assert by_name["format"]["scored"] == 6 and by_name["format"]["mean"] == 1.0
    assert body["inbox"]["waiting"] == 0
    assert server.client(api_keys["ingest"]).get("/api/evaluators").status_code == 403
    # the watched evaluator's chart alarmed from the stream, stored and shown at once
    wait_for(lambda: store.online.alerts(evaluator="says-when") or None)
    alerts = server.client(api_keys["read"]).get("/api/evaluators").json()["alerts"]
    assert alerts and alerts[0]["evaluator"] == "says-when" and alerts[0]["batch_mean"] == 0.0
    page = server.client(api_keys["read"]).get("/drift")
    assert page.status_code == 200
    assert "Online evaluators" in page.text and "says-when drifted down" in page.text
    assert "<td>quality</td>" in page.text and "no-labels" in page.text  # judge, unlabelled
    # each trace shows its verdicts, in the API and on its page
    judged = scores[0].trace_id
    detail = server.client(api_keys["read"]).get(f"/api/traces/{judged}").json()
    assert {v["evaluator"] for v in detail["evaluators"]} >= {"quality", "format"}
    trace_page = server.client(api_keys["read"]).get(f"/traces/{judged}")
    assert 'id="online-scores"' in trace_page.text and "<td>quality</td>" in trace_page.text


def test_a_restart_loses_and_duplicates_nothing(
    app_factory, api_keys, store: Store, fake_service
) -> None:
    judge = JudgeSpec(base_url=fake_service.base_url, model="judge")
    first = app_factory(evaluators=(FORMAT,), judge=judge, evaluate_settle_s=3600)
    ask(first, api_keys["ingest"])
    wait_for(lambda: store.online.inbox()[0] == 3 or None)
    first.stop()  # stopped before anything settled: the ids stay in the inbox
    assert store.online.scores() == []
    second = app_factory(evaluators=(FORMAT,), judge=judge, evaluate_settle_s=0)
    wait_for(lambda: len(store.online.scores(evaluator="format")) == 3 or None)
    wait_for(lambda: store.online.inbox()[0] == 0 or None)
    assert second.client(api_keys["read"]).get("/api/evaluators").json()["inbox"]["waiting"] == 0
    assert len(store.online.scores()) == 3  # once each


def test_an_evaluator_added_through_the_api_runs_on_the_next_traces(
    app_factory, api_keys, store: Store, fake_service
) -> None:
    judge = JudgeSpec(base_url=fake_service.base_url, model="judge")
    server = app_factory(evaluators=(FORMAT,), judge=judge, evaluate_settle_s=0.1)
    admin = server.client(api_keys["admin"])
    rule = {"assert": [{"type": "max-length", "value": 10}], "sample": 1}
    added = admin.put("/api/evaluators/short", json=rule)
    assert added.status_code == 200, added.text
    assert admin.put("/api/evaluators/short", json=rule).status_code == 200  # replaced
    clash = admin.put("/api/evaluators/format", json={})
    assert clash.status_code == 409 and "evallock.yaml" in clash.text
    bad = admin.put("/api/evaluators/x", json={"assert": [{"type": "nope"}]})
    assert bad.status_code == 400 and "unknown assertion type 'nope'" in bad.text
    typo = admin.put("/api/evaluators/x", json={"sampel": 0.5})
    assert typo.status_code == 400 and "sampel: unknown field" in typo.text
    renamed = admin.put("/api/evaluators/x", json={"name": "y"})
    assert renamed.status_code == 400 and "is not the path's" in renamed.text
    refused = server.client(api_keys["read"]).put("/api/evaluators/short", json=rule)
    assert refused.status_code == 403
    ask(server, api_keys["ingest"])
    short = wait_for(lambda: len(store.online.scores(evaluator="short")) == 3 or None)
    assert short and all(s.passed is False for s in store.online.scores(evaluator="short"))
    listed = {e["name"]: e["source"] for e in admin.get("/api/evaluators").json()["evaluators"]}
    assert listed == {"format": "config", "short": "api"}
    assert admin.delete("/api/evaluators/format").status_code == 409
    assert admin.delete("/api/evaluators/short").status_code == 200
    assert admin.delete("/api/evaluators/short").status_code == 404
    names = [e["name"] for e in admin.get("/api/evaluators").json()["evaluators"]]
    assert names == ["format"] and len(store.online.scores(evaluator="short")) == 3  # kept
