"""Trace summaries in the store: round-trip, merge by trace id, filters, on both backends."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from evallock.errors import StoreError
from evallock.limits import FieldLimitError
from evallock.records import Trace
from evallock.store import open_store

T0 = datetime(2026, 10, 4, 9, 0, tzinfo=UTC)
HOSTILE = "'; DROP TABLE traces; -- <script>alert('x')</script>"
UNICODE = "Rückerstattung 返金 возврат 🧾 «ok» \u202e\u200b"


def _trace(n: int = 1, **changes) -> Trace:
    fields = {
        "trace_id": f"{n:032x}",
        "timestamp": T0 + timedelta(minutes=n),
        "input": f"question {n}",
        "output": f"answer {n}",
        "latency_ms": 800.0 + n,
        "keys": {"prompt_version": "refund-v4", "intent": "refund", "session_id": f"s-{n}"},
    }
    fields.update(changes)
    return Trace(**fields)


def test_a_trace_round_trips_with_every_field_and_hostile_text(store):
    trace = Trace(
        trace_id="4bf92f3577b34da6a3ce929d0e0e4736",
        timestamp=datetime(2026, 10, 4, 11, 12, 44, 123456, tzinfo=UTC),
        input=HOSTILE,
        output=UNICODE + "\n" + HOSTILE,
        latency_ms=812.5,
        ttft_ms=120.25,
        tokens_in=31,
        tokens_out=12,
        cost=0.00021,
        model="gpt-4.1-mini",
        error=HOSTILE,
        keys={
            "prompt_version": "refund-v3",
            "customer_tier": HOSTILE,
            "session_id": UNICODE,
            "n": "7",
        },
        source="proxy",
        messages=[{"role": "user", "content": HOSTILE, "parts": [{"type": "blob"}]}],
    )
    assert store.traces.add([trace]) == 1

    assert store.traces.get(trace.trace_id) == trace
    assert store.traces.get("f" * 32) is None
    assert store.traces.find() == [trace]


def test_add_returns_how_many_were_new(store):
    assert store.traces.add([]) == 0
    assert store.traces.add([_trace(1), _trace(2)]) == 2
    assert store.traces.add([_trace(2), _trace(3), _trace(3)]) == 1
    assert store.traces.count() == 3


def test_a_trace_id_seen_before_is_merged_without_overwriting(store):
    first = _trace(
        1,
        timestamp=T0 + timedelta(milliseconds=100),
        output=None,
        latency_ms=700.0,
        tokens_in=None,
        model="m-1",
        keys={"intent": "refund", "session_id": "s-1"},
    )
    second = Trace(
        trace_id=first.trace_id,
        timestamp=T0,
        input="a different input",
        output="the answer",
        latency_ms=1000.0,
        tokens_in=31,
        model="m-2",
        error="late error",
        keys={"intent": "billing", "customer_tier": "pro", "session_id": "s-9", "user": "u-1"},
        source="proxy",
    )
    store.traces.add([first])
    assert store.traces.add([second]) == 0

    merged = store.traces.get(first.trace_id)
    assert merged.input == first.input  # stored content is never overwritten
    assert merged.model == "m-1"
    assert (merged.output, merged.tokens_in, merged.error) == ("the answer", 31, "late error")
    assert merged.keys == {
        "intent": "refund",
        "customer_tier": "pro",
        "session_id": "s-1",
        "user": "u-1",
    }
    assert merged.source == "otlp"
    assert merged.timestamp == T0  # the earliest start
    assert merged.latency_ms == 1000.0  # the longest duration: the root span's

    store.traces.add([replace(second, timestamp=T0 + timedelta(hours=1), latency_ms=5.0)])
    assert store.traces.get(first.trace_id) == merged


def test_duplicates_within_one_batch_are_merged_the_same_way(store):
    part_one = _trace(1, output=None, latency_ms=10.0, keys={"intent": "refund"})
    part_two = _trace(
        1, input=None, output="late", latency_ms=50.0, timestamp=T0, keys={"feature": "chat"}
    )
    assert store.traces.add([part_one, part_two]) == 1
    merged = store.traces.get(part_one.trace_id)
    assert (merged.input, merged.output, merged.latency_ms, merged.timestamp) == (
        "question 1",
        "late",
        50.0,
        T0,
    )
    assert merged.keys == {"intent": "refund", "feature": "chat"}


def test_naive_times_are_refused(store):
    with pytest.raises(ValueError, match="naive"):
        store.traces.add([_trace(1, timestamp=datetime(2026, 10, 4, 9, 0))])
    with pytest.raises(ValueError, match="since is a naive datetime"):
        store.traces.find(since=datetime(2026, 10, 4))
    with pytest.raises(ValueError, match="not be negative"):
        store.traces.find(limit=-1)


def test_list_and_count_by_window_keys_and_pages(store):
    store.traces.add(
        [
            _trace(
                n,
                keys={
                    "intent": "refund" if n % 2 else "billing",
                    "customer_tier": "pro",
                    "session_id": f"s-{n % 3}",
                },
            )
            for n in range(1, 11)
        ]
    )

    newest = store.traces.find(limit=3)
    assert [t.trace_id for t in newest] == [f"{n:032x}" for n in (10, 9, 8)]
    oldest = store.traces.find(limit=3, offset=2, newest_first=False)
    assert [t.trace_id for t in oldest] == [f"{n:032x}" for n in (3, 4, 5)]

    window = {"since": T0 + timedelta(minutes=3), "until": T0 + timedelta(minutes=7)}
    assert [t.trace_id[-1] for t in store.traces.find(**window, newest_first=False)] == [
        "3",
        "4",
        "5",
        "6",
    ]
    assert store.traces.count(**window) == 4

    refund = store.traces.find(keys={"intent": "refund", "Customer-Tier": "pro"})
    assert {int(t.trace_id, 16) for t in refund} == {1, 3, 5, 7, 9}
    assert store.traces.count(keys={"intent": "refund"}) == 5
    by_session = store.traces.find(keys={"session_id": "s-0"}, newest_first=False)
    assert [int(t.trace_id, 16) for t in by_session] == [3, 6, 9]
    assert store.traces.count(keys={"session_id": "s-0", "intent": "billing"}) == 1
    assert store.traces.count(keys={"intent": HOSTILE}) == 0
    with pytest.raises(ValueError, match="key names"):
        store.traces.find(keys={"bad'key": "x"})


def test_concurrent_writers_merge_spans_of_the_same_traces(store_url):
    # Two ingest workers each carry one half of every trace, in opposite orders.
    ids = [f"{n:032x}" for n in range(1, 201)]
    halves = {
        "a": [
            Trace(trace_id=i, timestamp=T0 + timedelta(seconds=1), input="in", latency_ms=10.0)
            for i in ids
        ],
        "b": [
            Trace(trace_id=i, timestamp=T0, output="out", latency_ms=99.0, keys={"intent": "x"})
            for i in reversed(ids)
        ],
    }
    stores = {name: open_store(store_url) for name in halves}
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def write(name: str) -> None:
        barrier.wait()
        try:
            for start in range(0, len(ids), 20):
                stores[name].traces.add(halves[name][start : start + 20])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(name,)) for name in halves]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        traces = stores["a"].traces.find(limit=1000)
        assert len(traces) == 200
        assert all(
            (t.input, t.output, t.latency_ms, t.timestamp, t.keys)
            == ("in", "out", 99.0, T0, {"intent": "x"})
            for t in traces
        )
    finally:
        for opened in stores.values():
            opened.close()


def test_a_closed_store_raises_store_error(store_url):
    closed = open_store(store_url)
    closed.close()
    with pytest.raises(StoreError, match="closed"):
        closed.traces.add([_trace()])


def test_text_postgresql_cannot_hold_is_stored_alike_on_both_backends(store):
    trace = _trace(
        1,
        input="before\x00after",
        output="lone \ud800 surrogate",
        keys={"intent": "a\x00b", "note": "x\x00"},
    )
    store.traces.add([trace])
    stored = store.traces.get(trace.trace_id)
    assert (stored.input, stored.output) == ("before\ufffdafter", "lone ? surrogate")
    assert stored.keys["intent"] == "a\ufffdb" and stored.keys["note"] == "x\ufffd"
    # lookups are cleaned as the rows were: both backends find it, neither fails
    assert store.traces.find(keys={"intent": "a\x00b"}) == [stored]
    assert store.traces.find(keys={"note": "x\x00"}) == [stored]
    assert store.traces.get("\x00" * 32) is None


def test_non_finite_numbers_are_refused_on_both_backends(store):
    for changes, field in (
        ({"latency_ms": float("nan")}, "latency_ms"),
        ({"cost": float("inf")}, "cost"),
    ):
        with pytest.raises(FieldLimitError) as caught:
            store.traces.add([_trace(1, **changes)])
        assert caught.value.field == field
    assert store.traces.count() == 0


def test_token_counts_beyond_32_bits_are_refused(store):
    with pytest.raises(FieldLimitError, match=r"tokens_in: 2147483648 is not a count") as caught:
        store.traces.add([_trace(1, tokens_in=2**31)])
    assert caught.value.field == "tokens_in"
    with pytest.raises(FieldLimitError, match="tokens_out: -1 is not a count"):
        store.traces.add([_trace(1, tokens_out=-1)])
    assert store.traces.add([_trace(1, tokens_in=2**31 - 1)]) == 1
    assert store.traces.count() == 1


def test_template_vars_round_trip_merge_first_write_wins_and_are_bounded(store):
    variables = {"plan": "enterprise", "seats": 40, "tags": ["a", {"b": None}]}
    store.traces.add([_trace(1, vars=variables), _trace(2)])
    assert store.traces.get(_trace(1).trace_id).vars == variables
    assert store.traces.get(_trace(2).trace_id).vars == {}  # none sent: none stored
    store.traces.add([_trace(2, vars={"plan": "pro"}), _trace(1, vars={"plan": "consumer"})])
    assert store.traces.get(_trace(2).trace_id).vars == {"plan": "pro"}  # filled in
    assert store.traces.get(_trace(1).trace_id).vars == variables  # never overwritten
    deep: object = 1
    for _ in range(40):
        deep = [deep]
    for bad in ({"plan": deep}, {f"v{n}": n for n in range(65)}, {"x" * 65: 1}):
        with pytest.raises(FieldLimitError) as caught:
            store.traces.add([_trace(3, vars=bad)])
        assert caught.value.field == "vars"
    assert store.traces.get(_trace(3).trace_id) is None


def test_tool_calls_round_trip_merge_first_write_wins_and_are_not_an_empty_answer(store):
    from evallock.records import ToolCall

    calls = [
        ToolCall(name="refund_policy", arguments='{"plan": "enterprise"}', id="call_1"),
        ToolCall(name="kb", arguments=HOSTILE, result=UNICODE + "\x00"),
    ]
    store.traces.add([_trace(1, output=None, tool_calls=calls), _trace(2, output=None)])
    stored = store.traces.get(f"{1:032x}")
    assert stored.tool_calls == [calls[0], replace(calls[1], result=UNICODE + "\ufffd")]
    # a later batch of the same trace does not replace the calls it stored
    store.traces.add([_trace(1, tool_calls=[ToolCall(name="other")])])
    assert store.traces.get(f"{1:032x}").tool_calls == stored.tool_calls
    # a trace whose answer is only tool calls is not "empty output"; one with neither is
    empty = store.candidates.signals(["empty-output"])
    assert [signal.trace_id for signal in empty] == [f"{2:032x}"]


def test_span_ids_lead_to_their_trace_and_the_first_trace_keeps_a_span(store):
    store.traces.add([_trace(1)], spans={"aaaaaaaaaaaaaaa1": f"{1:032x}"})
    store.traces.add([_trace(2)], spans={"aaaaaaaaaaaaaaa1": f"{2:032x}", "b" * 16: f"{2:032x}"})
    found = store.traces.traces_of_spans(["aaaaaaaaaaaaaaa1", "b" * 16, "c" * 16])
    assert found == {"aaaaaaaaaaaaaaa1": f"{1:032x}", "b" * 16: f"{2:032x}"}
    with pytest.raises(FieldLimitError, match=r"spans\.span_id"):
        store.traces.add([_trace(3)], spans={"x" * 300: f"{3:032x}"})
    assert store.traces.get(f"{3:032x}") is None  # nothing of the refused batch was written


def test_a_tool_call_past_its_limits_is_refused_naming_the_field(store):
    from evallock.records import ToolCall

    with pytest.raises(FieldLimitError, match=r"tool_calls\[0\]\.name"):
        store.traces.add([_trace(1, tool_calls=[ToolCall(name="n" * 300)])])
    with pytest.raises(FieldLimitError, match="at most 256"):
        store.traces.add([_trace(1, tool_calls=[ToolCall(name="n")] * 257)])
    assert store.traces.get(f"{1:032x}") is None


def test_a_bare_error_is_replaced_by_the_first_error_that_says_what_went_wrong(store):
    store.traces.add([_trace(1, output=None, error="error", model=None)])
    store.traces.add([_trace(1, output=None, error="NotFoundError: 404 no such model", model="m")])
    store.traces.add([_trace(1, output=None, error="a third description")])
    stored = store.traces.get(f"{1:032x}")
    assert (stored.error, stored.model) == ("NotFoundError: 404 no such model", "m")


def test_search_by_text_error_rating_and_judge_score(store):
    from evallock.records import Feedback, StoredDriftReport
    from evallock.store import TraceSearch

    store.traces.add(
        [
            _trace(1, input="Where is my REFUND?", output="50% off"),
            _trace(2, input="hello", output="It failed", error="upstream HTTP 500"),
            _trace(3, input="refund again", output="Refunds take 5 days"),
            _trace(4, input="a_b", output="plain"),
        ]
    )
    store.feedback.add(
        [
            Feedback(feedback_id="f1", trace_id=f"{3:032x}", rating="down", score=0.0, source="t"),
            Feedback(feedback_id="f2", trace_id=f"{1:032x}", rating="up", score=1.0, source="t"),
        ]
    )
    now = T0 + timedelta(days=1)
    report = StoredDriftReport(
        window_start=T0, window_end=now, judge_version="j", alert=False, body={}
    )
    store.reports.add_drift_report(report, [(f"{1:032x}", 2, "meh"), (f"{4:032x}", 5, "ok")])

    def ids(**search) -> list[int]:
        found = store.traces.find(search=TraceSearch(**search), newest_first=False)
        assert store.traces.count(search=TraceSearch(**search)) == len(found)
        return [int(t.trace_id, 16) for t in found]

    assert ids(text="refund") == [1, 3]  # input or answer, any case
    assert ids(text="50%") == [1] and ids(text="%") == [1]  # % is a character, not a wildcard
    assert ids(text="a_b") == [4] and ids(text="_") == [4]
    assert ids(failed=True) == [2] and ids(failed=False) == [1, 3, 4]
    assert ids(rating="down") == [3] and ids(rating="up") == [1]
    assert ids(max_judge_score=2) == [1] and ids(max_judge_score=5) == [1, 4]
    assert ids(text="refund", rating="down") == [3]
    with pytest.raises(FieldLimitError, match=r"^q: "):
        store.traces.find(search=TraceSearch(text="x" * 300))
    with pytest.raises(ValueError, match="max_judge_score 6"):
        store.traces.find(search=TraceSearch(max_judge_score=6))
