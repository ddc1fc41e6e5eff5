"""The evaluator worker over each store, with the bundled judge: rounds, budget, crashes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import anyio
import pytest

from evallock.errors import JudgeError
from evallock.online import Budget, EvaluatorRule, Meter, OnlineWorker, backfill, evaluate_traces
from evallock.records import OnlineScore, Trace
from evallock.runner import RetryPolicy
from evallock.session import JudgeSpec

NOW = datetime.now(UTC).replace(microsecond=0)
QUESTIONS = [
    ("I was charged twice, can I get a refund?", "refund"),
    ("Where is my parcel?", "shipping"),
    ("How do I pause my subscription?", "account"),
    ("Refund for a broken blender?", "refund"),
    ("Can I change my delivery address?", "shipping"),
]


def traces(prefix: str = "a", n: int = len(QUESTIONS)) -> list[Trace]:
    found = []
    for index in range(n):
        question, intent = QUESTIONS[index % len(QUESTIONS)]
        found.append(
            Trace(
                trace_id=f"{prefix}{index:031x}",
                timestamp=NOW - timedelta(minutes=10) + timedelta(seconds=index),
                input=f"{question} (#{prefix}{index})",
                output="Refunds take 5 business days." if intent == "refund" else "Sure, done.",
                keys={"intent": intent},
            )
        )
    return found


@pytest.fixture
def judge(fake_service) -> JudgeSpec:
    return JudgeSpec(base_url=fake_service.base_url, model="judge")


QUALITY = EvaluatorRule(name="quality")
SHORT_REFUNDS = EvaluatorRule(
    name="short-refunds",
    where={"intent": "refund"},
    asserts=({"type": "icontains", "value": "business days"},),
)


def test_new_traces_enter_the_inbox_once_and_only_when_asked(store) -> None:
    store.traces.add(traces("a"), evaluate=True)
    store.traces.add(traces("a"), evaluate=True)  # the same ids again: merged, not queued
    store.traces.add(traces("b"), evaluate=False)
    waiting, oldest = store.online.inbox()
    assert waiting == len(QUESTIONS) and oldest is not None


def test_a_round_scores_what_each_rule_takes_and_empties_the_inbox(store, judge) -> None:
    store.traces.add(traces("a"), evaluate=True)
    worker = OnlineWorker(store, [QUALITY, SHORT_REFUNDS], judge, settle_s=0)
    assert anyio.run(worker.run_once) == len(QUESTIONS)
    assert store.online.inbox()[0] == 0
    quality = store.online.scores(evaluator="quality")
    assert len(quality) == len(QUESTIONS)
    assert all(s.status == "scored" and s.judge_score in range(1, 6) for s in quality)
    assert all(s.version.startswith("judge@") for s in quality)
    short = store.online.scores(evaluator="short-refunds")
    assert sorted(s.trace_id for s in short) == sorted(
        t.trace_id for t in traces("a") if t.keys["intent"] == "refund"
    )
    assert all(s.passed and s.score == 1.0 and s.version.startswith("rules@") for s in short)
    calls, tokens, _ = store.online.spent("quality", NOW.date().isoformat())
    assert calls == len(QUESTIONS) and tokens > 0
    assert anyio.run(worker.run_once) == 0  # nothing left


def test_a_crash_before_the_commit_pays_no_judge_call_twice(store, judge, service_stats) -> None:
    store.traces.add(traces("c"), evaluate=True)
    worker = OnlineWorker(store, [QUALITY], judge, settle_s=0)

    async def judged_then_lost() -> list[OnlineScore]:
        meter = Meter()
        provider, client = worker._client(meter)  # the round's own judge, then a "crash"
        try:
            return await evaluate_traces(
                store.traces.get_many(
                    store.online.settled(before=NOW + timedelta(hours=1), limit=99)
                ),
                [QUALITY],
                judge=client,
                meter=meter,
                cache=_cache(store),
                spent=store.online.spent,
                now=lambda: datetime.now(UTC),
                judge_params=dict(judge.params),
            )
        finally:
            await provider.aclose()

    lost = anyio.run(judged_then_lost)
    assert len(lost) == len(QUESTIONS) and store.online.scores(evaluator="quality") == []
    paid = service_stats.model("judge")["answered"]
    assert paid == len(QUESTIONS)
    assert anyio.run(worker.run_once) == len(QUESTIONS)  # the restarted worker
    assert service_stats.model("judge")["answered"] == paid  # every verdict from the cache
    kept = {s.trace_id: s.judge_score for s in store.online.scores(evaluator="quality")}
    assert kept == {s.trace_id: s.judge_score for s in lost}


def _cache(store):
    from evallock.online._worker import _Verdicts

    return _Verdicts(store)


def test_the_budget_skips_and_counts_what_it_cannot_pay_for(store, judge) -> None:
    rule = EvaluatorRule(name="thrifty", budget=Budget(calls_per_day=2))
    store.traces.add(traces("d"), evaluate=True)
    worker = OnlineWorker(store, [rule], judge, settle_s=0, concurrency=1)
    anyio.run(worker.run_once)
    scores = store.online.scores(evaluator="thrifty")
    assert sorted(s.status for s in scores) == ["scored", "scored", "skipped", "skipped", "skipped"]
    assert {s.reason for s in scores if s.status == "skipped"} == {"budget calls_per_day 2 spent"}
    assert store.online.spent("thrifty", NOW.date().isoformat())[0] == 2
    counts = store.online.counts("thrifty")
    assert (counts["scored"], counts["skipped"], counts["error"]) == (2, 3, 0)


def test_the_judge_down_stores_nothing_and_keeps_the_inbox(store, closed_port) -> None:
    down = JudgeSpec(base_url=f"http://127.0.0.1:{closed_port}/v1", model="judge")
    store.traces.add(traces("e"), evaluate=True)
    worker = OnlineWorker(store, [QUALITY], down, settle_s=0, retry=RetryPolicy(retries=0))
    with pytest.raises(JudgeError):
        anyio.run(worker.run_once)
    assert store.online.inbox()[0] == len(QUESTIONS)
    assert store.online.scores() == []


def test_traces_wait_for_their_last_spans(store, judge) -> None:
    store.traces.add(traces("f"), evaluate=True)
    worker = OnlineWorker(store, [QUALITY], judge, settle_s=3600)
    assert anyio.run(worker.run_once) == 0  # still settling
    assert store.online.inbox()[0] == len(QUESTIONS)


def test_a_judged_rule_without_a_judge_is_refused() -> None:
    from evallock.errors import ConfigError

    with pytest.raises(ConfigError, match="evaluator quality asks the judge"):
        OnlineWorker(None, [QUALITY], JudgeSpec())  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="'quality' is named twice"):
        OnlineWorker(None, [QUALITY, QUALITY], JudgeSpec(base_url="http://x/v1", model="m"))  # type: ignore[arg-type]


def test_backfill_scores_stored_traces_once(store, judge) -> None:
    store.traces.add(traces("g"))
    first = anyio.run(
        lambda: backfill(store, [QUALITY], judge, since=NOW - timedelta(hours=1), until=NOW)
    )
    assert first["quality"].scores["scored"] == len(QUESTIONS)
    again = anyio.run(
        lambda: backfill(store, [QUALITY], judge, since=NOW - timedelta(hours=1), until=NOW)
    )
    assert again["quality"].looked_at == 0  # each trace has its verdict already


def test_ids_no_rule_samples_leave_the_inbox_unread(store, judge, service_stats) -> None:
    store.traces.add(traces("h"), evaluate=True)
    worker = OnlineWorker(store, [EvaluatorRule(name="none", sample=0.0)], judge, settle_s=0)
    assert anyio.run(worker.run_once) == len(QUESTIONS)
    assert store.online.inbox()[0] == 0 and store.online.scores() == []
    assert service_stats.model("judge")["requests"] == 0


def test_a_drift_chart_alarms_from_the_stream_and_survives_a_restart(store, judge) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from evallock.online import DriftWatch

    received: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            import json

            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    hook = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    rule = EvaluatorRule(
        name="says-when",
        asserts=({"type": "icontains", "value": "business days"},),
        drift=DriftWatch(
            batch=5,
            baseline_mean=0.95,
            baseline_sd=0.05,
            arl0=100,
            webhook=f"http://127.0.0.1:{hook.server_port}/hook",
        ),
    )

    def answer_with(prefix: str, output: str, n: int) -> list[Trace]:
        return [
            Trace(
                trace_id=f"{prefix}{i:031x}",
                timestamp=NOW - timedelta(minutes=5) + timedelta(seconds=i),
                input=f"refund? {prefix}{i}",
                output=output,
            )
            for i in range(n)
        ]

    try:
        store.traces.add(answer_with("g", "Within 5 business days.", 20), evaluate=True)
        assert anyio.run(OnlineWorker(store, [rule], judge, settle_s=0).run_once) == 20
        assert store.online.alerts() == [] and store.online.monitor("says-when")["batches"] == 4
        store.traces.add(answer_with("b", "No idea.", 12), evaluate=True)
        restarted = OnlineWorker(store, [rule], judge, settle_s=0)  # a new process, same store
        anyio.run(restarted.run_once)
        alerts = store.online.alerts(evaluator="says-when")
        assert len(alerts) == 2  # each bad batch alarms (the chart restarts after an alarm)
        detail = alerts[-1][2]
        assert detail["batch_mean"] == 0.0 and detail["baseline_mean"] == 0.95
        assert detail["batches"] == 5  # the restart continued the count
        assert store.online.monitor("says-when")["pending_n"] == 2
        assert restarted.stats.alerts == 2 and len(received) == 2
        assert "says-when drifted down" in received[0]["text"]
    finally:
        hook.shutdown()


def test_a_rare_slice_gets_its_minimum_even_when_the_sample_misses_it(store, judge) -> None:
    """Sampling nothing, a minimum of 2 per intent per hour still takes 2 traces of each
    intent (and no more), in arrival order; a later round in the same hour takes none."""
    rule = EvaluatorRule(
        name="floor",
        sample=0.0,
        slice_by="intent",
        min_per_slice=2,
        asserts=({"type": "max-length", "value": 500},),
    )
    store.traces.add(traces("m", 15), evaluate=True)  # 6 refund, 6 shipping, 3 account
    # a fixed clock in the middle of the next hour: both rounds fall in one window
    half_past = rule.window_start(datetime.now(UTC)) + timedelta(hours=1, minutes=30)
    worker = OnlineWorker(store, [rule], judge, settle_s=0, clock=lambda: half_past)
    assert anyio.run(worker.run_once) == 15
    taken = store.online.scores(evaluator="floor")
    found = store.traces.get_many([s.trace_id for s in taken])
    by_intent: dict[str, int] = {}
    for trace in found:
        by_intent[trace.keys["intent"]] = by_intent.get(trace.keys["intent"], 0) + 1
    assert by_intent == {"refund": 2, "shipping": 2, "account": 2}
    assert store.online.per_slice("floor", "intent", since=NOW - timedelta(hours=1)) == by_intent
    store.traces.add(traces("n", 5), evaluate=True)
    anyio.run(worker.run_once)
    assert len(store.online.scores(evaluator="floor")) == 6  # the hour's minimum is met


def test_a_minimum_per_slice_needs_the_slice_key() -> None:
    from evallock.errors import ConfigError

    with pytest.raises(ConfigError, match="min_per_slice needs slice_by"):
        EvaluatorRule(name="x", min_per_slice=3)


def test_an_evaluator_can_name_its_own_judge_model(store, fake_service) -> None:
    """The configured judge's endpoint with the rule's model: the default model here does
    not exist at the service, so only the rule's own model can have scored."""
    configured = JudgeSpec(base_url=fake_service.base_url, model="no-such-judge")
    rule = EvaluatorRule(name="own-judge", model="judge")
    store.traces.add(traces("o", 3), evaluate=True)
    anyio.run(OnlineWorker(store, [rule], configured, settle_s=0).run_once)
    scores = store.online.scores(evaluator="own-judge")
    assert len(scores) == 3 and all(s.status == "scored" for s in scores)
    assert all(s.version.startswith("judge@") for s in scores)
    store.traces.add(traces("p", 2))
    done = anyio.run(
        lambda: backfill(store, [rule], configured, since=NOW - timedelta(hours=1), until=NOW)
    )
    assert done["own-judge"].scores["scored"] == 2


def test_ingest_files_only_the_traces_some_evaluator_may_take(store, judge) -> None:
    idle = OnlineWorker(store, [], judge, settle_s=0)
    none = OnlineWorker(store, [EvaluatorRule(name="none", sample=0.0)], judge, settle_s=0)
    half = EvaluatorRule(name="half", sample=0.5)
    floor = EvaluatorRule(name="floor", sample=0.0, slice_by="intent", min_per_slice=1)
    some = OnlineWorker(store, [half], judge, settle_s=0)
    assert not idle.wants("a" * 32) and not none.wants("a" * 32)
    assert OnlineWorker(store, [floor], judge, settle_s=0).wants("a" * 32)
    batch = traces("w", 40)
    store.traces.add(batch, evaluate=some.wants)
    waiting, _ = store.online.inbox()
    assert waiting == sum(half.samples(t.trace_id) for t in batch) and 0 < waiting < 40


def test_a_conversation_evaluator_judges_each_turn_with_what_it_follows(store, judge) -> None:
    """A follow-up ("What about it?") means nothing alone: judged by trace it cannot be
    checked (3/5), judged with its conversation the wrong policy is plain (low), live and
    in a backfill; the version says which the scores are."""
    question = "Our enterprise contract was charged twice this month."
    right = (
        "Duplicate charges on enterprise contracts are refunded within 5 business days to the"
        " original payment method; no action is needed on your side."
    )
    wrong = "Enterprise contract refunds take 30 days and must go through your account manager."
    session = [
        Trace(trace_id=f"c{0:031x}", timestamp=NOW - timedelta(minutes=5), input=question,
              output=right, keys={"session_id": "s-1"}),
        Trace(trace_id=f"c{1:031x}", timestamp=NOW - timedelta(minutes=4),
              input="What about it?", output=wrong, keys={"session_id": "s-1"}),
    ]  # fmt: skip
    store.traces.add(session, evaluate=True)
    alone = EvaluatorRule(name="alone")
    whole = EvaluatorRule(name="whole", scope="conversation")
    worker = OnlineWorker(store, [alone, whole], judge, settle_s=0)
    anyio.run(worker.run_once)
    follow_up = session[1].trace_id
    (by_trace,) = store.online.scores(evaluator="alone", trace_id=follow_up)
    (by_conversation,) = store.online.scores(evaluator="whole", trace_id=follow_up)
    assert by_trace.judge_score == 3 and by_trace.passed  # pass_score 3: nothing to see
    assert by_conversation.judge_score is not None and by_conversation.judge_score <= 2
    assert by_conversation.version.endswith("+conversation")
    (first,) = store.online.scores(evaluator="whole", trace_id=session[0].trace_id)
    assert first.judge_score == 5  # the first turn has nothing before it
    again = EvaluatorRule(name="again", scope="conversation")
    anyio.run(lambda: backfill(store, [again], judge, since=NOW - timedelta(hours=1), until=NOW))
    (later,) = store.online.scores(evaluator="again", trace_id=follow_up)
    assert later.judge_score == by_conversation.judge_score
