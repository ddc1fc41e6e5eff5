"""The online A/B monitor: buckets of live traffic, a confidence sequence, an always-valid p."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest

from evallock.analysis import experiment_to_dict, monitor_experiment
from evallock.errors import UsageError
from evallock.records import Feedback, Trace
from evallock.stats import PEEKING_PROBLEM

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def seed(store, rates: dict[str, float], per_bucket: int, seed: int = 1) -> None:
    """Traces split by experiment, each bucket rated down at its rate."""
    rng = random.Random(seed)
    traces, feedback = [], []
    for b_index, (bucket, rate) in enumerate(rates.items()):
        for i in range(per_bucket):
            trace_id = f"{b_index:02x}{i:030x}"
            traces.append(
                Trace(
                    trace_id=trace_id,
                    timestamp=T0 + timedelta(seconds=i),
                    input="q",
                    output="a",
                    keys={"experiment": bucket, "customer_tier": "pro"},
                    source="import",
                )
            )
            if rng.random() < rate:
                feedback.append(
                    Feedback(
                        feedback_id=f"fb-{trace_id}",
                        trace_id=trace_id,
                        rating="down",
                        score=0.0,
                        name="user_feedback",
                        created_at=T0,
                    )
                )
    store.traces.add(traces)
    store.feedback.add(feedback)


def test_a_worse_bucket_is_called_worse_with_a_confidence_sequence(store) -> None:
    seed(store, {"A": 0.05, "B": 0.15}, 1500)
    found = monitor_experiment(store.traces, a="A", b="B")
    assert found.a.n == found.b.n == 1500
    assert found.state is not None and found.state.interval is not None
    assert found.state.interval.lo > 0 and found.state.p_value < 0.05
    assert found.verdict == "B worse"
    data = experiment_to_dict(found)
    assert data["verdict"] == "B worse" and data["explanation"] == PEEKING_PROBLEM
    lo, hi = data["confidence_sequence"]
    assert lo <= data["delta"] <= hi


def test_equal_buckets_say_keep_running_and_no_traffic_is_not_a_verdict(store) -> None:
    seed(store, {"A": 0.1, "B": 0.1}, 600, seed=4)
    found = monitor_experiment(store.traces, a="A", b="B")
    assert found.verdict == "keep running"
    assert found.state is not None and found.state.interval is not None
    assert found.state.interval.lo < 0 < found.state.interval.hi
    empty = monitor_experiment(store.traces, a="A", b="C")
    assert empty.state is None and empty.b.n == 0 and empty.verdict == "keep running"


def test_the_confidence_sequence_is_wider_than_a_fixed_n_interval(store) -> None:
    """The price of looking every day: about 1.5-1.7x the fixed-n width."""
    from evallock.stats import newcombe_interval

    seed(store, {"A": 0.08, "B": 0.12}, 1000, seed=2)
    found = monitor_experiment(store.traces, a="A", b="B")
    assert found.state is not None and found.state.interval is not None
    down_a = round((found.a.mean or 0) * found.a.n)
    down_b = round((found.b.mean or 0) * found.b.n)
    fixed = newcombe_interval(down_b, found.b.n, down_a, found.a.n)
    assert found.state.interval.width > 1.2 * fixed.width


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"metric": "clicks"}, "--metric 'clicks'"),
        ({"a": "B"}, "give two buckets"),
        ({"alpha": 0.5}, "--alpha 0.5"),
        ({"effect": 0.0}, "--effect 0.0"),
        ({"key": "no such key!"}, "--key"),
    ],
)
def test_bad_settings_are_usage_errors(sqlite_store, changes, needle) -> None:
    with pytest.raises(UsageError, match=needle.replace("(", r"\(")):
        monitor_experiment(sqlite_store.traces, **{"a": "A", "b": "B", **changes})


def test_the_cli_prints_the_verdict_and_writes_json(cli, tmp_path) -> None:
    from evallock.store import open_store

    url = f"sqlite:///{tmp_path}/e.db"
    with open_store(url) as store:
        seed(store, {"control": 0.04, "v4": 0.14}, 1200, seed=7)
    result = cli(
        "experiment",
        "--a",
        "control",
        "--b",
        "v4",
        "--store",
        url,
        "--json",
        "out.json",
        "--fail-if-worse",
    )
    assert result.code == 1, result.out + result.err
    assert "B WORSE" in result.out and "always-valid p" in result.out
    data = json.loads((tmp_path / "out.json").read_text())
    assert data["a"]["value"] == "control" and data["verdict"] == "B worse"
    quiet = cli("experiment", "--a", "control", "--b", "v4", "--store", url, "--metric", "errors")
    assert quiet.code == 0 and "KEEP RUNNING" in quiet.out
