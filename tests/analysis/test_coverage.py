"""Coverage: complaint slices by volume, the golden cases behind each, blind spots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from evallock.analysis import coverage_report, coverage_to_dict
from evallock.cases import case_from_raw
from evallock.errors import UsageError
from evallock.records import Case, Feedback, StoredDriftReport, Trace

from .conftest import T0, traffic

GOLDEN = [
    Case(id="c-refund", input="q", keys={"intent": "refund", "customer_tier": "consumer"}),
    Case(id="c-refund-2", input="q", keys={"intent": "refund", "customer_tier": "consumer"}),
    Case(id="e-account", input="q", keys={"intent": "account", "customer_tier": "enterprise"}),
    Case(id="no-keys", input="q"),
]


def seed(store) -> None:
    traces, feedback = traffic(
        version="v4", day0=0, rates={"consumer": 0.05, "enterprise": 0.4}, per_tier=100, seed=3
    )
    store.traces.add(traces)
    store.feedback.add(feedback)


def test_slices_are_ranked_by_complaints_and_blind_spots_named(store) -> None:
    seed(store)
    report = coverage_report(store, GOLDEN, dataset_id="golden@1")
    first, second = report.slices
    assert first.slice.as_dict() == {"intent": "refund", "customer_tier": "enterprise"}
    assert first.blind_spot and first.golden_cases == () and report.blind_spots == (first,)
    assert first.complaints > second.complaints and first.traces == 100
    assert first.complaint_ci.lo < first.complaint_rate < first.complaint_ci.hi
    assert second.golden_cases == ("c-refund", "c-refund-2") and not second.blind_spot
    # inputs "enterprise question {0,1,2} order N": numbers masked, three clusters
    assert first.top_complaint.startswith("enterprise question")
    assert first.top_count >= first.complaints / 3
    line = first.suggestion
    assert line["keys"] == {"intent": "refund", "customer_tier": "enterprise"}
    assert line["source"]["trace_id"] == first.top_trace_id and line["source"]["lock"] is True
    case_from_raw(line, line=1)  # a valid case line as it stands, ready to edit


def test_bad_judge_scores_are_complaints_too(store) -> None:
    trace = Trace(
        trace_id="a" * 32,
        timestamp=T0,
        input="Where are my invoices?",
        keys={"intent": "billing", "customer_tier": "enterprise"},
    )
    store.traces.add([trace])
    store.reports.add_drift_report(
        StoredDriftReport(
            window_start=datetime(2026, 10, 1, tzinfo=UTC),
            window_end=datetime(2026, 10, 2, tzinfo=UTC),
            judge_version="j",
            alert=False,
            body={},
        ),
        [(trace.trace_id, 2, "")],
    )
    [only] = coverage_report(store, GOLDEN, dataset_id="g@1").slices
    assert (only.complaints, only.thumbs_down, only.bad_judge) == (1, 0, 1)
    assert coverage_report(store, GOLDEN, dataset_id="g@1", max_judge_score=1).slices == ()


def test_version_keys_do_not_narrow_the_match_and_missing_values_must_match(store) -> None:
    seed(store)
    store.traces.add([Trace(trace_id="b" * 32, timestamp=T0, input="hi", keys={})])
    store.feedback.add([Feedback(feedback_id="x", trace_id="b" * 32, rating="down", score=0.0)])
    report = coverage_report(
        store, GOLDEN, dataset_id="g@1", by=["prompt_version", "customer_tier"]
    )
    slices = {s.slice.values: s for s in report.slices}
    assert slices[("v4", "consumer")].golden_cases == ("c-refund", "c-refund-2")
    assert slices[("v4", "enterprise")].golden_cases == ("e-account",)
    unknown = slices[(None, None)]
    assert unknown.golden_cases == ("no-keys",)  # only the case without a tier
    assert "keys" not in unknown.suggestion


def test_window_json_and_usage_errors(store) -> None:
    seed(store)
    late = coverage_report(store, GOLDEN, dataset_id="g@1", since=T0 + timedelta(days=1))
    assert late.slices == ()
    data = coverage_to_dict(coverage_report(store, GOLDEN, dataset_id="g@1"))
    orjson.dumps(data)
    assert data["blind_spots"] == [{"intent": "refund", "customer_tier": "enterprise"}]
    assert data["slices"][0]["blind_spot"] is True and len(data["slices"][0]["complaint_ci"]) == 2
    with pytest.raises(UsageError, match="--by"):
        coverage_report(store, GOLDEN, dataset_id="g@1", by=[])
    with pytest.raises(UsageError, match="--by"):
        coverage_report(store, GOLDEN, dataset_id="g@1", by=["bad key!"])
