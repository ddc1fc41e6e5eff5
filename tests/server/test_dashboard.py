"""The dashboard (``GET /``): every panel from real data, sign-in, escaping, read-only cookie."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from evallock.demo import example_dir
from evallock.evaluation import EvalRequest, JudgeSpec, TargetSpec, run_eval
from evallock.feedback import propose_candidates
from evallock.gate import GateThresholds
from evallock.records import Feedback, StoredComparison, StoredDriftReport, Trace
from evallock.runner import RetryPolicy, RunOptions
from evallock.server import create_api_key

HOSTILE = '<script>alert("trace")</script><img src=x onerror=alert(2)> & "quotes"'


def seed_everything(store: Any, base_url: str) -> None:
    """Two gate runs of the bundled example, live traffic with a hostile complaint,
    a drift report, a comparison and a pending candidate."""
    root = example_dir()
    for version in ("support-v3", "support-v4"):
        run_eval(
            EvalRequest(
                cases=str(root / "golden.jsonl"),
                target=TargetSpec(
                    base_url=base_url,
                    model="support-bot",
                    prompt=str(root / "prompts" / f"{version}.txt"),
                    keys={"prompt_version": version},
                ),
                judge=JudgeSpec(base_url=base_url, model="judge"),
                options=RunOptions(concurrency=8, retry=RetryPolicy(retries=1, base=0.01)),
                thresholds=GateThresholds(),
            ),
            store,
        )
    now = datetime.now(UTC)
    traces = [
        Trace(
            trace_id=f"{n:032x}",
            timestamp=now - timedelta(hours=n),
            input=HOSTILE if n == 1 else f"question {n}",
            output="It takes 30 days.",
            keys={"intent": "refund" if n % 2 else "shipping", "customer_tier": "enterprise"},
            source="import",
        )
        for n in range(1, 9)
    ]
    store.traces.add(traces)
    store.feedback.add(
        [
            Feedback(
                feedback_id="fb-1",
                trace_id=traces[0].trace_id,
                rating="down",
                score=0.0,
                name="user_feedback",
                created_at=now,
            )
        ]
    )
    propose_candidates(store, actor="test")
    drift_body = {
        "window": f"{(now - timedelta(days=1)).isoformat()}..{now.isoformat()}",
        "judge_version": "judge@abc",
        "n_samples": 200,
        "judge_errors": 3,
        "mean": 3.61,
        "mean_ci": [3.48, 3.74],
        "p10": 2.0,
        "bad_share": 0.21,
        "baseline_mean": 4.12,
        "delta": -0.51,
        "delta_ci": [-0.66, -0.36],
        "alert": True,
        "slices": [],
    }
    store.reports.add_drift_report(
        StoredDriftReport(
            window_start=now - timedelta(days=1),
            window_end=now,
            judge_version="judge@abc",
            alert=True,
            body=drift_body,
        ),
        [],
    )
    comparison_body = {
        "comparison_id": "cmp-1",
        "dataset_id": "golden@abc",
        "run_a": "r-a",
        "run_b": "r-b",
        "keys_a": {"prompt_version": "support-v3"},
        "keys_b": {"prompt_version": "support-v4"},
        "metric": "pass",
        "n_pairs": 28,
        "delta": -0.071,
        "ci": [-0.2, 0.06],
        "p_value": 0.41,
        "verdict": "no significant difference",
    }
    store.reports.add_comparison(
        StoredComparison(
            comparison_id="cmp-1",
            dataset_id="golden@abc",
            run_a="r-a",
            run_b="r-b",
            verdict="no significant difference",
            body=comparison_body,
        )
    )


@pytest.fixture
def seeded(store: Any, fake_service: Any) -> Any:
    seed_everything(store, fake_service.base_url)
    return store


def test_without_a_key_the_browser_is_sent_to_sign_in(app_factory: Any, seeded: Any) -> None:
    server = app_factory()
    with server.client() as client:
        answer = client.get("/")
        assert answer.status_code == 303 and answer.headers["location"] == "/login"
        form = client.get("/login")
        assert form.status_code == 200 and 'name="key"' in form.text
        assert "script-src" not in form.headers["content-security-policy"]
        assert "default-src 'none'" in form.headers["content-security-policy"]


def test_sign_in_checks_the_key_and_its_scope(
    app_factory: Any, seeded: Any, api_keys: dict[str, str]
) -> None:
    server = app_factory()
    with server.client() as client:
        assert client.post("/login", data={"key": "hunter2"}).status_code == 400
        unknown = client.post("/login", data={"key": "evl_" + "0" * 40})
        assert unknown.status_code == 401 and "unknown or revoked key" in unknown.text
        ingest = client.post("/login", data={"key": api_keys["ingest"]})
        assert ingest.status_code == 403 and "needs" in ingest.text
        assert "set-cookie" not in ingest.headers
        ok = client.post("/login", data={"key": api_keys["read"]})
        assert ok.status_code == 303 and ok.headers["location"] == "/"
        cookie = ok.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie


def test_the_page_shows_every_panel_with_intervals_and_escapes_trace_text(
    app_factory: Any, seeded: Any, api_keys: dict[str, str]
) -> None:
    server = app_factory()
    with server.client() as client:
        client.post("/login", data={"key": api_keys["read"]})
        page = client.get("/")
    assert page.status_code == 200, page.text
    html = page.text
    for heading in (
        "Eval runs over time",
        "Drift on live traffic",
        "A/B comparisons",
        "Live traffic by slice",
        "Review queue",
    ):
        assert heading in html
    runs = seeded.runs.find()
    assert len(runs) == 2 and all(run.run_id in html for run in runs)
    v3 = next(run for run in runs if run.keys["prompt_version"] == "support-v3")
    lo, hi = v3.summary.pass_rate_ci
    assert f"[{100 * lo:.1f}, {100 * hi:.1f}]" in html  # the pass rate's Wilson interval
    assert html.count("<circle") == 2  # one chart, a dot per run
    # the chart has axes, dates, the Wilson band, each dot links to its run, and the
    # prompt change between the two runs is a deploy marker
    assert ">100%</text>" in html and ">0%</text>" in html and 'class="band"' in html
    assert all(f'<a href="/runs/{run.run_id}"><g class="run">' in html for run in runs)
    assert f">{v3.started_at.astimezone(UTC):%m-%d %H:%M}</text>" in html
    assert html.count('<g class="deploy">') == 1 and "deploy: prompt support-v4" in html
    assert "[3.48, 3.74]" in html and "ALERT" in html and "[-0.66, -0.36]" in html
    assert "no significant difference" in html and "[-0.200, +0.060]" in html
    assert "(1 pending)" in html
    # the hostile input is shown as text, never as markup
    assert "<script>alert" not in html and "<img src=x" not in html
    assert (
        "&lt;script&gt;alert(&#34;trace&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"
        in html
    )
    assert "<script" not in html.lower()


def test_the_cookie_reads_but_never_writes_and_dies_with_its_key(
    app_factory: Any, seeded: Any, store: Any
) -> None:
    server = app_factory()
    admin = create_api_key(store, name="browser", scope="admin")
    with server.client() as client:
        client.post("/login", data={"key": admin.secret})
        assert client.get("/").status_code == 200
        assert client.get("/api/stats").status_code == 200  # a read with the cookie
        write = client.post(
            "/v1/feedback", json={"trace_id": "1" * 32, "rating": "down", "id": "csrf"}
        )
        assert write.status_code == 401, "a cookie must not authorise a write"
        store.api_keys.revoke(admin.key_id)
        assert client.get("/").status_code == 303
        client.post("/logout")
        assert "evallock_session" not in client.cookies


def test_the_cookie_holds_a_session_token_never_the_key(app_factory: Any, store: Any) -> None:
    server = app_factory()
    reader = create_api_key(store, name="browser", scope="read")
    with server.client() as client:
        signed_in = client.post("/login", data={"key": reader.secret})
        assert signed_in.status_code == 303
        assert reader.secret not in signed_in.headers["set-cookie"]
        token = client.cookies["evallock_session"]
        assert token != reader.secret and not token.startswith("evl_") and len(token) >= 43
        assert client.get("/api/stats").status_code == 200
    # The old cookie carrying the key itself no longer signs anyone in.
    with server.client() as client:
        client.cookies.set("evallock_key", reader.secret)
        client.cookies.set("evallock_session", reader.secret)
        assert client.get("/api/stats").status_code == 401


def test_revoking_the_key_ends_its_session(app_factory: Any, store: Any) -> None:
    server = app_factory()
    reader = create_api_key(store, name="browser", scope="read")
    with server.client() as client:
        client.post("/login", data={"key": reader.secret})
        token = client.cookies["evallock_session"]
        assert client.get("/api/stats").status_code == 200
        store.api_keys.revoke(reader.key_id)
        assert client.get("/api/stats").status_code == 401
        assert client.get("/").status_code == 303
    # The session is gone on the server, not only unusable.
    with server.client() as client:
        client.cookies.set("evallock_session", token)
        answer = client.get("/api/stats")
        assert answer.status_code == 401 and "sign in again" in answer.json()["detail"]


def test_logout_ends_the_session_on_the_server(app_factory: Any, store: Any) -> None:
    server = app_factory()
    reader = create_api_key(store, name="browser", scope="read")
    with server.client() as client:
        client.post("/login", data={"key": reader.secret})
        token = client.cookies["evallock_session"]
        assert client.post("/logout").status_code == 303
    # A copy of the cookie kept from before the logout is worth nothing.
    with server.client() as client:
        client.cookies.set("evallock_session", token)
        assert client.get("/api/stats").status_code == 401
        assert client.get("/").status_code == 303


def test_sessions_end_when_the_service_restarts(app_factory: Any, store: Any) -> None:
    reader = create_api_key(store, name="browser", scope="read")
    first = app_factory()
    with first.client() as client:
        client.post("/login", data={"key": reader.secret})
        token = client.cookies["evallock_session"]
    second = app_factory()
    with second.client() as client:
        client.cookies.set("evallock_session", token)
        assert client.get("/api/stats").status_code == 401


def test_no_auth_opens_the_page(app_factory: Any, seeded: Any) -> None:
    server = app_factory(no_auth=True)
    page = server.get("/")
    assert page.status_code == 200 and "Review queue" in page.text
    assert "Sign out" not in page.text


def test_stored_reports_keep_their_api_shapes_and_panel_rows(
    app_factory: Any, seeded: Any, api_keys: dict[str, str]
) -> None:
    """The store hands back typed records; ``/api/drift`` and ``/api/comparisons`` still
    list each report as its ``--json`` body with the id and time in front, and the page
    takes the window from the stored bounds."""
    (drift,) = seeded.reports.drift_reports()
    (comparison,) = seeded.reports.comparisons()
    server = app_factory()
    with server.client(api_keys["read"]) as client:
        reports = client.get("/api/drift").json()["reports"]
        comparisons = client.get("/api/comparisons").json()["comparisons"]
    assert reports == [
        {"report_id": drift.report_id, "created_at": drift.created_at.isoformat(), **drift.body}
    ]
    assert reports[0]["mean_ci"] == [3.48, 3.74] and reports[0]["alert"] is True
    assert comparisons == [{"created_at": comparison.created_at.isoformat(), **comparison.body}]
    assert comparisons[0]["comparison_id"] == "cmp-1" and comparisons[0]["ci"] == [-0.2, 0.06]
    page = server.get("/", headers={"Authorization": f"Bearer {api_keys['read']}"}).text
    start, end = drift.window_start, drift.window_end
    assert f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M}" in page
    assert re.search(r"<td>support-v3</td><td>support-v4</td>", page)


def test_a_trace_page_shows_its_judge_scores_and_reasons_escaped(
    app_factory: Any, seeded: Any, api_keys: dict[str, str]
) -> None:
    trace = seeded.traces.get(f"{1:032x}")
    now = datetime.now(UTC)
    from evallock.records import ToolCall

    calls = [ToolCall(name="order_status", arguments=HOSTILE, id="call_1", result="shipped")]
    seeded.traces.add(
        [
            Trace(
                trace_id=f"{9:032x}",
                timestamp=now,
                input="hi",
                vars={"plan": HOSTILE},
                tool_calls=calls,
                cost=0.00125,
                ttft_ms=212.5,
            )
        ]
    )
    seeded.reports.add_drift_report(
        StoredDriftReport(
            window_start=now - timedelta(days=1),
            window_end=now,
            judge_version="judge@def",
            alert=False,
            body={"judge_version": "judge@def"},
        ),
        [(trace.trace_id, 1, "covers 20% of the policy: " + HOSTILE)],
    )
    server = app_factory()
    with server.client() as client:
        assert client.get(f"/traces/{trace.trace_id}").status_code == 303  # sign in first
        client.post("/login", data={"key": api_keys["read"]})
        page = client.get(f"/traces/{trace.trace_id}")
        missing = client.get(f"/traces/{'f' * 32}")
        bad = client.get("/traces/not-hex")
        with_vars = client.get(f"/traces/{9:032x}")
        queue = client.get("/")
    assert page.status_code == 200, page.text
    html = page.text
    assert "1/5" in html and "judge@def" in html and "covers 20% of the policy" in html
    assert "<script" not in html.lower() and "&lt;script&gt;" in html
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert missing.status_code == 404 and bad.status_code == 400
    assert "var plan" in with_vars.text and "<script" not in with_vars.text.lower()
    assert 'id="tool-calls"' in with_vars.text and "order_status" in with_vars.text
    assert "shipped" in with_vars.text and "call_1" in with_vars.text
    assert "<th>cost</th><td>0.00125</td>" in with_vars.text and "212.5 ms" in with_vars.text
    assert f'href="/traces/{trace.trace_id}"' in queue.text  # the review queue links to it
    api = server.get(
        f"/api/traces/{trace.trace_id}", headers={"Authorization": f"Bearer {api_keys['read']}"}
    )
    [verdict] = api.json()["judge"]
    assert verdict["score"] == 1 and verdict["judge_version"] == "judge@def"
    assert verdict["reason"].endswith(HOSTILE)  # JSON keeps the text as data


def test_a_run_judged_by_another_judge_is_flagged_in_the_runs_table(
    app_factory: Any, seeded: Any, fake_service: Any
) -> None:
    root = example_dir()
    run_eval(
        EvalRequest(
            cases=str(root / "golden.jsonl"),
            target=TargetSpec(
                base_url=fake_service.base_url,
                model="support-bot",
                prompt=str(root / "prompts" / "support-v4.txt"),
                keys={"prompt_version": "support-v4"},
            ),
            judge=JudgeSpec(base_url=fake_service.base_url, model="judge", params={"seed": 7}),
            options=RunOptions(concurrency=8, retry=RetryPolicy(retries=1, base=0.01)),
            thresholds=GateThresholds(),
        ),
        seeded,
    )
    html = app_factory(no_auth=True).get("/").text
    assert html.count("⚠ judge changed") == 1
    newest = seeded.runs.find()[0]
    assert "judge or rubric changed since run" in html and newest.keys["judge_version"] in html


def test_the_traces_page_filters_pages_and_escapes(
    app_factory: Any, store: Any, api_keys: dict[str, str]
) -> None:
    from evallock.records import ToolCall

    now = datetime.now(UTC)
    rows = [
        Trace(
            trace_id=f"{n:032x}",
            timestamp=now - timedelta(minutes=n),
            input=f"refund question {n} " + HOSTILE,
            output="Refunds take 5 business days.",
            keys={"customer_tier": "enterprise" if n % 2 else "free"},
        )
        for n in range(1, 61)
    ]
    rows.append(
        Trace(
            trace_id=f"{99:032x}",
            timestamp=now,
            input="where is my order",
            tool_calls=[ToolCall(name="order_status", arguments="{}")],
        )
    )
    store.traces.add(rows)
    store.feedback.add(
        [Feedback(feedback_id="fb", trace_id=f"{3:032x}", rating="down", score=0.0, source="t")]
    )
    server = app_factory()
    with server.client() as client:
        assert client.get("/traces").status_code == 303  # sign in first
        client.post("/login", data={"key": api_keys["read"]})
        first = client.get("/traces", params={"keys": "customer_tier=enterprise", "q": "REFUND"})
        assert first.status_code == 200, first.text
        html = first.text
        assert "(30 match)" in html and html.count('href="/traces/0') == 30
        assert "<script>" not in html and "&lt;script&gt;" in html
        assert first.headers["content-security-policy"].startswith("default-src 'none'")
        everything = client.get("/traces")
        assert "(61 match)" in everything.text and "tool calls:</span> order_status" in (
            everything.text
        )
        older = re.search(r'href="(/traces\?[^"]*cursor=[^"]+)"', everything.text)
        assert older is not None  # 50 a page: the rest are a link away, filters kept
        second = client.get(older.group(1).replace("&amp;", "&"))
        assert second.status_code == 200 and second.text.count('href="/traces/0') == 11
        down = client.get("/traces", params={"rating": "down"})
        assert "(1 match)" in down.text and f'href="/traces/{3:032x}"' in down.text
        bad = client.get("/traces", params={"keys": "tier", "since": "yesterday"})
        assert bad.status_code == 400 and "keys: &#39;tier&#39; is not name=value" in bad.text
        worse = client.get("/traces", params={"since": "yesterday"})
        assert worse.status_code == 400 and "since:" in worse.text
        api = client.get("/docs")
        assert api.status_code == 404
    listed = server.get(
        "/api/traces",
        params={"q": "refund", "rating": "down", "key.customer_tier": "enterprise"},
        headers={"Authorization": f"Bearer {api_keys['read']}"},
    )
    assert listed.status_code == 200 and listed.json()["total"] == 1


def test_a_run_page_gives_the_verdict_the_cases_and_the_diff_against_the_baseline(
    app_factory: Any, seeded: Any, api_keys: dict[str, str]
) -> None:
    runs = seeded.runs.find(limit=10)  # newest first: the v4 run, then v3 (its baseline)
    newer, older = runs[0], runs[1]
    assert newer.baseline_run_id == older.run_id
    server = app_factory()
    with server.client() as client:
        assert client.get(f"/runs/{newer.run_id}").status_code == 303  # sign in first
        client.post("/login", data={"key": api_keys["read"]})
        overview = client.get("/")
        assert f'href="/runs/{newer.run_id}"' in overview.text
        page = client.get(f"/runs/{newer.run_id}")
        assert page.status_code == 200, page.text
        html = page.text
        summary = newer.summary
        assert f"({summary.passed}/{summary.n};" in html
        assert f'href="/runs/{older.run_id}"' in html  # its baseline, one click away
        assert html.count('<tr id="case-') == summary.n
        # v4's answers differ from v3's somewhere (the header shows the legend once)
        assert html.count("<del>") > 1 and html.count("<ins>") > 1
        assert page.headers["content-security-policy"].startswith("default-src 'none'")
        failed = client.get(f"/runs/{newer.run_id}", params={"status": "failed"})
        assert failed.text.count('<tr id="case-') == summary.failed
        refunds = [
            r for r in seeded.runs.iter_records(newer.run_id) if r.keys.get("intent") == "refund"
        ]
        by_key = client.get(f"/runs/{newer.run_id}", params={"keys": "intent=refund"})
        assert by_key.text.count('<tr id="case-') == len({r.case_id for r in refunds}) > 0
        bad = client.get(f"/runs/{newer.run_id}", params={"status": "<b>odd</b>"})
        assert bad.status_code == 400 and "<b>odd</b>" not in bad.text
        missing = client.get("/runs/no-such-run")
        assert missing.status_code == 404 and "no such run" in missing.text


def test_word_diff_marks_what_changed() -> None:
    from evallock.server._run_view import word_diff

    segments = word_diff("Refunds take 30 days via email.", "Refunds take 5 business days.")
    assert "".join(s.text for s in segments if s.kind != "gone") == "Refunds take 5 business days."
    assert "".join(s.text for s in segments if s.kind != "new") == "Refunds take 30 days via email."
    assert [s.kind for s in word_diff("same", "same")] == ["same"]


def test_the_drift_pages_chart_each_slice_and_open_a_check_with_its_judged_traces(
    app_factory: Any, store: Any, api_keys: dict[str, str]
) -> None:
    now = datetime.now(UTC)
    traces = [
        Trace(trace_id=f"{n:032x}", timestamp=now - timedelta(minutes=n), input=f"q{n}")
        for n in range(1, 5)
    ]
    store.traces.add(traces)

    def body(mean: float, enterprise: float, alert: bool) -> dict[str, Any]:
        return {
            "n_samples": 4, "mean": mean, "mean_ci": [mean - 0.2, mean + 0.2],
            "bad_share": 0.25, "bad_share_ci": [0.05, 0.7], "p10": 2.0,
            "baseline_mean": 4.5, "alert": alert, "reasons": ["enterprise fell"] if alert else [],
            "detectors": [{"name": "CUSUM", "arl0": 500, "limit": 4.1, "fired_at": None,
                           "warmup_batches": 5}],
            "slices": [
                {"slice": "customer_tier=enterprise", "n_samples": 2, "mean": enterprise,
                 "bad_share": 0.5, "bad_share_ci": [0.1, 0.9], "p10": 1.0,
                 "mean_ci": [enterprise - 0.5, enterprise + 0.5], "baseline_mean": 4.6,
                 "delta": enterprise - 4.6, "p_adjusted": 0.001 if alert else 0.9, "alert": alert},
                {"slice": "customer_tier=free", "n_samples": 2, "mean": 4.5,
                 "mean_ci": [4.0, 5.0], "baseline_mean": 4.5, "delta": 0.0, "p_adjusted": 1.0,
                 "alert": False},
            ],
        }  # fmt: skip

    for index, (judge, mean, enterprise, alert) in enumerate(
        (("judge@a", 4.5, 4.6, False), ("judge@a", 4.4, 4.5, False), ("judge@b", 3.9, 2.1, True))
    ):
        report = StoredDriftReport(
            window_start=now - timedelta(days=3 - index),
            window_end=now - timedelta(days=2 - index),
            judge_version=judge,
            alert=alert,
            body=body(mean, enterprise, alert),
        )
        samples = [(traces[0].trace_id, 5, "fine"), (traces[1].trace_id, 1, HOSTILE)]
        samples.append((traces[2].trace_id, None, "reply could not be parsed"))
        last_id = store.reports.add_drift_report(report, samples)
    server = app_factory()
    with server.client() as client:
        assert client.get("/drift").status_code == 303  # sign in first
        client.post("/login", data={"key": api_keys["read"]})
        page = client.get("/drift")
        assert page.status_code == 200, page.text
        html = page.text
        # 3 checks in 3 series: all traffic and the 2 slices
        assert "(3 checks)" in html and html.count('<g class="check">') == 9
        assert (
            '<strong>customer_tier=enterprise</strong> <span class="alert">1 alert</span>' in html
        )
        assert html.count('<g class="judge-change">') == 3 and "judge changed: judge@b" in html
        shares = client.get("/drift", params={"metric": "bad_share"}).text
        assert shares.count('<g class="check">') == 3 + 3  # all traffic, and enterprise's
        assert ">25%</text>" in shares and "bad share 25.0%" in shares
        assert "p10 2.0" in client.get("/drift", params={"metric": "p10"}).text
        assert 'class="baseline"' in html and f'href="/drift/{last_id}"' in html
        assert "CUSUM" in html and "not fired" in html
        check = client.get(f"/drift/{last_id}")
        assert check.status_code == 200 and "enterprise fell" in check.text
        rows = re.findall(r'<td class="num[^"]*">([^<]+)</td>\s*<td class="text">', check.text)
        assert rows == ["error", "1/5", "5/5"]  # unusable replies first, then lowest score
        assert "<script>" not in check.text and "&lt;script&gt;" in check.text
        low = client.get(f"/drift/{last_id}", params={"max_score": "2"})
        assert re.findall(r'<td class="num[^"]*">([^<]+)</td>\s*<td class="text">', low.text) == [
            "1/5"
        ]
        assert client.get(f"/drift/{last_id}", params={"max_score": "9"}).status_code == 400
        assert client.get("/drift/nope").status_code == 404
        overview = client.get("/")
        assert f'href="/drift/{last_id}"' in overview.text


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, "no form token on the page"
    return found.group(1)


def test_the_review_queue_accepts_rejects_and_promotes_with_an_admin_session_and_its_token(
    app_factory: Any, seeded: Any, api_keys: dict[str, str], tmp_path: Any
) -> None:
    import shutil

    golden = tmp_path / "golden.jsonl"
    shutil.copyfile(example_dir() / "golden.jsonl", golden)
    lines_before = golden.read_text().count("\n")
    [pending] = seeded.candidates.find(states=["pending"])
    cid = pending.candidate_id
    server = app_factory(case_files=(str(golden),))
    with server.client() as client:
        # without a session or key the form is refused at the door
        assert client.post(f"/queue/{cid}/accept", data={"expected": "x"}).status_code == 401
        client.post("/login", data={"key": api_keys["read"]})
        as_reader = client.get("/queue")
        assert as_reader.status_code == 200 and 'name="csrf"' not in as_reader.text
        assert "scope <code>admin</code>" in as_reader.text
        client.post("/logout")
        client.post("/login", data={"key": api_keys["admin"]})
        queue = client.get("/queue")
        assert queue.status_code == 200 and f'id="c-{cid}"' in queue.text
        assert "<script>alert" not in queue.text  # the hostile trace text is escaped
        token = _csrf(queue.text)
        forged = client.post(f"/queue/{cid}/accept", data={"expected": "5 business days"})
        assert forged.status_code == 403 and "token" in forged.text
        assert seeded.candidates.get(cid).state == "pending"  # nothing written
        accepted = client.post(
            f"/queue/{cid}/accept",
            data={"csrf": token, "expected": "Refunds take 5 business days.", "note": "bug 7"},
        )
        assert accepted.status_code == 303 and accepted.headers["location"].startswith("/queue?")
        stored = seeded.candidates.get(cid)
        assert (stored.state, stored.expected) == ("accepted", "Refunds take 5 business days.")
        elsewhere = client.post(
            f"/queue/{cid}/promote", data={"csrf": token, "to": str(tmp_path / "other.jsonl")}
        )
        assert elsewhere.status_code == 400 and "serve --cases" in elsewhere.text
        promoted = client.post(f"/queue/{cid}/promote", data={"csrf": token, "to": str(golden)})
        assert promoted.status_code == 303, promoted.text
        after = client.get(promoted.headers["location"])
        assert f"promoted {cid}" in after.text and f'id="c-{cid}"' not in after.text
    assert seeded.candidates.get(cid).state == "promoted"
    text = golden.read_text()
    assert text.count("\n") == lines_before + 1 and "Refunds take 5 business days." in text
    actions = [event.action for event in seeded.candidates.events(cid)]
    assert actions[-2:] == ["accepted", "promoted"]
    # the JSON API still takes no cookie for a write
    with server.client() as client:
        client.post("/login", data={"key": api_keys["admin"]})
        api = client.post(f"/api/candidates/{cid}/reject", json={"reason": "x"})
        assert api.status_code == 401


def test_a_reviewer_proposes_a_trace_from_its_page(
    app_factory: Any, store: Any, api_keys: dict[str, str]
) -> None:
    now = datetime.now(UTC)
    trace = Trace(
        trace_id=f"{77:032x}",
        timestamp=now,
        input="Can enterprise customers get a refund after 40 days?",
        output="No, 30 days only.",
        keys={"customer_tier": "enterprise"},
    )
    store.traces.add([trace])
    server = app_factory()
    with server.client() as client:
        client.post("/login", data={"key": api_keys["read"]})
        assert 'action="/queue/propose"' not in client.get(f"/traces/{trace.trace_id}").text
        client.post("/logout")
        client.post("/login", data={"key": api_keys["admin"]})
        page = client.get(f"/traces/{trace.trace_id}")
        assert 'action="/queue/propose"' in page.text
        form = {"csrf": _csrf(page.text), "trace_id": trace.trace_id, "reason": "wrong window"}
        proposed = client.post("/queue/propose", data=form)
        assert proposed.status_code == 303
        queue = client.get(proposed.headers["location"])
        assert f"from trace {trace.trace_id}" in queue.text and "wrong window" in queue.text
        again = client.post("/queue/propose", data=form)
        assert "behind a candidate already" in client.get(again.headers["location"]).text
        unknown = client.post("/queue/propose", data={**form, "trace_id": "f" * 32})
        assert unknown.status_code == 404
        assert client.post("/queue/propose", data={**form, "csrf": "x"}).status_code == 403
    [candidate] = store.candidates.find()
    assert (
        candidate.trace_ids == (trace.trace_id,) and candidate.keys["customer_tier"] == "enterprise"
    )
    assert [e.action for e in store.candidates.events(candidate.candidate_id)] == ["proposed"]


def test_offline_vs_online_shows_the_coverage_of_each_served_case_file(
    app_factory: Any, seeded: Any, api_keys: dict[str, str], tmp_path: Any
) -> None:
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "x"}\n')
    lines = (example_dir() / "golden.jsonl").read_text().splitlines()
    no_enterprise = tmp_path / "consumer-only.jsonl"
    no_enterprise.write_text("\n".join(line for line in lines if "enterprise" not in line) + "\n")
    golden = example_dir() / "golden.jsonl"
    server = app_factory(case_files=(str(golden), str(no_enterprise), str(broken)))
    with server.client() as client:
        client.post("/login", data={"key": api_keys["read"]})
        page = client.get("/compare", params={"by": "prompt_version", "since": "30d"})
    assert page.status_code == 200, page.text
    coverage = page.text.split('<section id="coverage">')[1]
    by_file = dict(
        re.findall(r"<h3><code>([^<]+)</code></h3>(.*?)(?=<h3>|</section>)", coverage, re.S)
    )
    # the seeded thumbs-down is an enterprise refund: the example covers it, the other not
    assert "customer_tier=enterprise" in by_file["golden.jsonl"]
    assert '<tr class="blind-spot">' not in by_file["golden.jsonl"]
    blind = by_file["consumer-only.jsonl"]
    assert '<tr class="blind-spot">' in blind and "none: a blind spot" in blind
    assert "<script>" not in coverage and "&lt;script&gt;" in coverage  # escaped
    assert 'class="error"' in by_file["broken.jsonl"] and str(tmp_path) not in coverage


def test_a_session_page_shows_the_conversation_its_ratings_and_its_traces_escaped(
    app_factory: Any, store: Any, api_keys: dict[str, str]
) -> None:
    from evallock.records import ToolCall

    now = datetime.now(UTC)
    session = "conv/7 " + HOSTILE
    store.traces.add(
        [
            Trace(trace_id=f"{1:032x}", timestamp=now, input="Where is R1041? " + HOSTILE,
                  keys={"session_id": session},
                  tool_calls=[ToolCall(name="order_status", arguments="{}", id="c1",
                                       result="shipped " + HOSTILE)]),
            Trace(trace_id=f"{2:032x}", timestamp=now + timedelta(seconds=2),
                  input="Can I return it?", output="It shipped. " + HOSTILE,
                  keys={"session_id": session}),
        ]
    )  # fmt: skip
    store.feedback.add(
        [
            Feedback(feedback_id="fb-s", trace_id=f"{2:032x}", rating="down", score=0.0,
                     comment="wrong tool " + HOSTILE, session_id=session),
            Feedback(feedback_id="fb-t", trace_id=f"{1:032x}", rating="up", score=1.0),
        ]
    )  # fmt: skip
    server = app_factory()
    with server.client() as client:
        client.post("/login", data={"key": api_keys["read"]})
        trace_page = client.get(f"/traces/{1:032x}")
        href = re.search(r'href="(/sessions/[^"]+)"', trace_page.text)
        assert href is not None, trace_page.text
        page = client.get(href.group(1).replace("&amp;", "&"))
        missing = client.get("/sessions/nope")
        long = client.get("/sessions/" + "s" * 300)
    assert page.status_code == 200, page.text
    html = page.text
    assert "<script" not in html.lower() and "&lt;script&gt;" in html
    turns = re.findall(r'<div class="turn turn-(\w+)">', html)
    assert turns == ["user", "assistant", "tool", "user", "assistant"]
    assert "calls <code>order_status</code>" in html and "wrong tool" in html
    assert f'href="/traces/{2:032x}"' in html
    assert "Ratings of single traces are on each trace" in html
    assert html.count('<p class="fail">down') == 1  # the session's rating, not the trace's up
    assert missing.status_code == 404 and long.status_code == 400
