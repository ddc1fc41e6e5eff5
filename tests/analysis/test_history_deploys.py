"""History marks deploys (a changed version key) and tests each delta, paired on shared cases."""

from __future__ import annotations

from datetime import timedelta

from evallock.analysis import history_rows, run_history

from .conftest import T0, add_run

KEYS = {"intent": "refund"}


def test_a_new_prompt_version_is_a_deploy_and_its_delta_is_paired(store) -> None:
    same = {f"c{i}": (True, KEYS) for i in range(20)}
    add_run(store, "r1", prompt_version="v3", cases=same, started=T0)
    add_run(store, "r2", prompt_version="v3", cases=same, started=T0 + timedelta(hours=1))
    worse = {**same, **{f"c{i}": (False, KEYS) for i in range(8)}}
    add_run(store, "r3", prompt_version="v4", cases=worse, started=T0 + timedelta(hours=2))
    first, rerun, deploy = run_history(store, "golden")
    assert first.delta is None and first.changed_keys == {}
    assert rerun.changed_keys == {} and rerun.delta.delta == 0.0
    assert deploy.changed_keys == {"prompt_version": ("v3", "v4")}
    assert deploy.delta.test.startswith("McNemar") and deploy.delta.n_shared == 20
    assert deploy.delta.delta == -0.4 and deploy.delta.interval.hi < 0
    assert deploy.delta.p_value < 0.05
    assert deploy.delta.newly_failing == tuple(f"c{i}" for i in range(8))
    row = history_rows([first, rerun, deploy])[2]
    assert row["changed_keys"] == {"prompt_version": ["v3", "v4"]}


def test_runs_without_shared_cases_fall_back_to_newcombe(store) -> None:
    add_run(
        store, "r1", prompt_version="v3", cases={"a": (True, KEYS), "b": (True, KEYS)}, started=T0
    )
    add_run(
        store,
        "r2",
        prompt_version="v3",
        cases={"c": (False, KEYS), "d": (True, KEYS)},
        started=T0 + timedelta(hours=1),
    )
    _, second = run_history(store, "golden")
    assert second.delta.test == "Newcombe interval, no shared cases"
    assert second.delta.p_value is None and second.changed_keys == {}
