"""The runner against the real bundled service over loopback HTTP, on both stores."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from evallock.cases import open_cases
from evallock.demo import example_dir
from evallock.errors import JudgeError, TargetError
from evallock.evaluation import EvalRequest, JudgeSpec, TargetSpec, run_eval
from evallock.gate import GateThresholds
from evallock.runner import RetryPolicy, RunOptions

FAST_RETRY = RetryPolicy(retries=3, base=0.01, cap=0.05)


def write_cases(path: Path, rows: list[dict]) -> str:  # type: ignore[type-arg]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return str(path)


def request_for(cases: str, base_url: str, **changes: object) -> EvalRequest:
    fields: dict[str, object] = {
        "cases": cases,
        "target": TargetSpec(base_url=base_url, model="support-bot"),
        "judge": JudgeSpec(base_url=base_url, model="judge"),
        "options": RunOptions(concurrency=4, retry=FAST_RETRY, timeout=5),
        "thresholds": GateThresholds(min_pass_rate=0.9),
        "baseline": "last-pass",
    }
    fields.update(changes)
    return EvalRequest(**fields)  # type: ignore[arg-type]


def example_request(base_url: str, version: str) -> EvalRequest:
    root = example_dir()
    return request_for(
        str(root / "golden.jsonl"),
        base_url,
        target=TargetSpec(
            base_url=base_url,
            model="support-bot",
            prompt=str(root / "prompts" / f"{version}.txt"),
            keys={"prompt_version": version, "model_version": "support-bot@test"},
        ),
    )


def test_example_story_gate_passes_on_v3_and_fails_on_v4(store, fake_service) -> None:
    good = run_eval(example_request(fake_service.base_url, "support-v3"), store)
    assert good.gate.verdict == "pass", good.gate.reasons
    assert good.gate.baseline_run_id is None
    bad = run_eval(example_request(fake_service.base_url, "support-v4"), store)
    assert bad.gate.verdict == "fail"
    assert bad.gate.baseline_run_id == good.run.run_id
    assert bad.gate.locks_failed, "the lock case guarding the enterprise refund must fail on v4"
    assert bad.gate.new_failures
    assert any(reason.startswith("lock case failed") for reason in bad.gate.reasons)
    # every shared key of the run lands on each record, with the case's own keys
    records = list(store.runs.iter_records(bad.run.run_id))
    assert len(records) == bad.dataset.count
    for record in records:
        assert record.keys["prompt_version"] == "support-v4"
        assert record.keys["dataset_id"] == bad.dataset.dataset_id
        assert "intent" in record.keys and "customer_tier" in record.keys
    judged = [r for r in records if r.judge_score is not None]
    assert judged and all(r.keys["judge_version"].startswith("judge@") for r in judged)
    stored = store.runs.get(bad.run.run_id)
    assert stored.status == "complete" and stored.verdict == "fail"
    assert stored.summary.locks_failed == bad.gate.locks_failed


def test_429_and_500_storm_every_case_answered_and_graded_once(
    sqlite_store, fake_service, service_stats, tmp_path
) -> None:
    rows = [
        {
            "id": f"c{i}",
            "input": f"refund charged twice {marker} #{i}",
            "assert": [{"type": "icontains", "value": "business days"}],
        }
        for i, marker in enumerate(["[[fail:429x2]]", "[[fail:500x1]]", "[[fail:429x3]]", ""] * 5)
    ]
    prompt = tmp_path / "p.txt"
    prompt.write_text("- [refund, charged twice] Refunds take 5 business days.\n")
    outcome = run_eval(
        request_for(
            write_cases(tmp_path / "storm.jsonl", rows),
            fake_service.base_url,
            target=TargetSpec(
                base_url=fake_service.base_url, model="support-bot", prompt=str(prompt)
            ),
        ),
        sqlite_store,
    )
    counts = service_stats.model("support-bot")
    assert counts["answered"] == 20, "every case answered exactly once"
    assert counts["faults"] == 5 * (2 + 1 + 3)
    assert outcome.stats.retries == counts["faults"]
    assert outcome.gate.passed == 20 and outcome.gate.errored == 0
    assert len(list(sqlite_store.runs.iter_records(outcome.run.run_id))) == 20


def test_non_retryable_400_and_timeouts_are_errors_on_the_case(
    sqlite_store, fake_service, service_stats, tmp_path
) -> None:
    rows = [
        {"id": "bad-request", "input": "hello [[fail:400]]", "expected": "x"},
        {"id": "slow", "input": "hello [[sleep:3000]]", "expected": "x"},
        {"id": "fine", "input": "refund please", "assert": [{"type": "max-length", "value": 1000}]},
    ]
    outcome = run_eval(
        request_for(
            write_cases(tmp_path / "e.jsonl", rows),
            fake_service.base_url,
            options=RunOptions(concurrency=3, retry=RetryPolicy(retries=1, base=0.01), timeout=0.3),
            thresholds=GateThresholds(min_pass_rate=0.0),
        ),
        sqlite_store,
    )
    by_id = {r.case_id: r for r in list(outcome.iter_results())}
    assert by_id["bad-request"].errored and "HTTP 400" in (by_id["bad-request"].error or "")
    assert by_id["slow"].errored and "timed out" in (by_id["slow"].error or "")
    assert by_id["fine"].passed
    assert outcome.gate.errored_ids == ("bad-request", "slow")
    counts = service_stats.model("support-bot")
    # 400 asked once (not retried); the slow case asked twice (1 retry)
    assert counts["requests"] == 1 + 2 + 1


def test_unreachable_target_is_exit_3_naming_the_url(sqlite_store, closed_port, tmp_path) -> None:
    url = f"http://127.0.0.1:{closed_port}/v1"
    rows = [{"id": f"c{i}", "input": "hi", "expected": "x"} for i in range(50)]
    with pytest.raises(TargetError) as info:
        run_eval(request_for(write_cases(tmp_path / "c.jsonl", rows), url), sqlite_store)
    assert info.value.exit_code == 3
    assert f"127.0.0.1:{closed_port}" in str(info.value)
    (run,) = sqlite_store.runs.find()
    assert run.status == "interrupted"


def test_judge_down_is_exit_3(sqlite_store, fake_service, closed_port, tmp_path) -> None:
    rows = [{"id": "j", "input": "refund?", "expected": "5 business days", "grader": "judge"}]
    with pytest.raises(JudgeError) as info:
        run_eval(
            request_for(
                write_cases(tmp_path / "c.jsonl", rows),
                fake_service.base_url,
                judge=JudgeSpec(base_url=f"http://127.0.0.1:{closed_port}/v1", model="judge"),
            ),
            sqlite_store,
        )
    assert info.value.exit_code == 3


def test_unparseable_judge_reply_is_counted_and_shown(sqlite_store, fake_service, tmp_path) -> None:
    module = tmp_path / "garbage_bot.py"
    module.write_text(
        "def answer(messages):\n    return 'Refunds take 5 business days. [[judge:garbage]]'\n"
    )
    rows = [
        {
            "id": "g",
            "input": "refund?",
            "expected": "Refunds take 5 business days.",
            "grader": "judge",
        },
    ]
    import sys

    sys.path.insert(0, str(tmp_path))
    try:
        outcome = run_eval(
            request_for(
                write_cases(tmp_path / "c.jsonl", rows),
                fake_service.base_url,
                target=TargetSpec(python="garbage_bot:answer"),
                thresholds=GateThresholds(min_pass_rate=0.0),
            ),
            sqlite_store,
        )
    finally:
        sys.path.remove(str(tmp_path))
    assert outcome.stats.judge_errors == 1
    (result,) = list(outcome.iter_results())
    assert not result.passed and result.errored and result.error_kind == "judge"
    assert "could not be parsed" in (result.error or "")


def test_judge_verdicts_are_cached_and_target_cache_only_when_asked(
    sqlite_store, fake_service, service_stats, tmp_path
) -> None:
    rows = [
        {
            "id": f"j{i}",
            "input": f"refund charged twice #{i}",
            "expected": "Refunds take 5 business days.",
            "grader": "judge",
        }
        for i in range(4)
    ]
    prompt = tmp_path / "p.txt"
    prompt.write_text("- [refund, charged twice] Refunds take 5 business days.\n")
    cases = write_cases(tmp_path / "c.jsonl", rows)
    target = TargetSpec(base_url=fake_service.base_url, model="support-bot", prompt=str(prompt))
    first = run_eval(request_for(cases, fake_service.base_url, target=target), sqlite_store)
    assert service_stats.model("judge")["answered"] == 4
    assert first.gate.passed == 4
    service_stats.reset()
    second = run_eval(request_for(cases, fake_service.base_url, target=target), sqlite_store)
    assert service_stats.model("judge")["requests"] == 0, "verdicts come from the cache"
    assert service_stats.model("support-bot")["answered"] == 4, "the live service is asked again"
    assert second.stats.judge_cache_hits == 4
    service_stats.reset()
    cached = request_for(
        cases,
        fake_service.base_url,
        target=target,
        options=RunOptions(concurrency=4, retry=FAST_RETRY, cache_target=True),
    )
    run_eval(cached, sqlite_store)  # fills the target cache
    service_stats.reset()
    third = run_eval(cached, sqlite_store)
    assert service_stats.model("support-bot")["requests"] == 0
    assert third.stats.cache_hits == 4 and third.gate.passed == 4


def test_trials_majority_and_flaky_with_a_python_target(sqlite_store, tmp_path) -> None:
    module = tmp_path / "flaky_bot.py"
    module.write_text(
        "import itertools\n"
        "_calls = itertools.count()\n"
        "async def answer(messages):\n"
        "    text = messages[-1]['content']\n"
        "    if 'steady' in text:\n"
        "        return 'yes'\n"
        "    return 'yes' if next(_calls) % 3 != 0 else 'no'\n"
    )
    rows = [
        {"id": "steady", "input": "steady", "assert": [{"type": "equals", "value": "yes"}]},
        {"id": "wobbly", "input": "wobbly", "assert": [{"type": "equals", "value": "yes"}]},
    ]
    import sys

    sys.path.insert(0, str(tmp_path))
    try:
        outcome = run_eval(
            EvalRequest(
                cases=write_cases(tmp_path / "c.jsonl", rows),
                target=TargetSpec(python="flaky_bot:answer"),
                options=RunOptions(concurrency=1, trials=3),
            ),
            sqlite_store,
        )
    finally:
        sys.path.remove(str(tmp_path))
    by_id = {r.case_id: r for r in list(outcome.iter_results())}
    assert by_id["steady"].trials == 3 and by_id["steady"].trials_passed == 3
    wobbly = by_id["wobbly"]
    assert wobbly.trials == 3 and wobbly.trials_passed == 2 and wobbly.passed and wobbly.flaky
    assert outcome.gate.flaky == ("wobbly",)
    assert len(list(sqlite_store.runs.iter_records(outcome.run.run_id))) == 6


def test_resume_asks_only_missing_trials(
    sqlite_store, fake_service, service_stats, tmp_path
) -> None:
    rows = [
        {"id": f"c{i}", "input": f"refund #{i}", "assert": [{"type": "max-length", "value": 500}]}
        for i in range(10)
    ]
    cases = write_cases(tmp_path / "c.jsonl", rows)
    request = request_for(
        cases, fake_service.base_url, thresholds=GateThresholds(min_pass_rate=0.0)
    )
    # A run that stopped after 4 cases: store its records by hand as an interrupted run would.
    import anyio

    from evallock.evaluation import _start_or_resume
    from evallock.providers import OpenAICompatProvider
    from evallock.runner import execute_run

    dataset = open_cases(cases)
    run, _ = _start_or_resume(request, dataset, sqlite_store)
    sqlite_store.runs.create(run)  # as the run session does before it executes
    partial = list(dataset)[:4]

    async def first_part() -> None:
        provider = OpenAICompatProvider(base_url=fake_service.base_url, model="support-bot")
        try:
            await execute_run(
                run_id=run.run_id, cases=partial, provider=provider, store=sqlite_store
            )
        finally:
            await provider.aclose()

    anyio.run(first_part)
    service_stats.reset()
    outcome = run_eval(replace(request, resume=run.run_id), sqlite_store)
    assert service_stats.model("support-bot")["requests"] == 6
    assert outcome.run.run_id == run.run_id and outcome.gate.n == 10
    assert sqlite_store.runs.get(run.run_id).status == "complete"


def test_cases_are_read_as_the_workers_need_them_and_results_a_block_at_a_time(
    sqlite_store, fake_service
) -> None:
    """What keeps memory flat with the size of the file: nothing holds every case."""
    from datetime import UTC, datetime

    import anyio

    from evallock.graders import parse_assertion
    from evallock.providers import OpenAICompatProvider
    from evallock.records import Case, Run
    from evallock.runner import execute_run, stream_results

    n = 1200
    check = (parse_assertion({"type": "max-length", "value": 500}),)
    consumed = 0

    def cases():  # type: ignore[no-untyped-def]
        nonlocal consumed
        for i in range(n):
            consumed += 1
            yield Case(id=f"c{i:04d}", input=f"refund #{i}", asserts=check)

    read_when_first_answered: list[int] = []

    def progress(done: int, total: int) -> None:
        if done == 1:
            read_when_first_answered.append(consumed)

    run = Run(
        run_id="stream-1",
        dataset_id="s@1",
        dataset_name="s",
        target_id="t",
        started_at=datetime.now(UTC),
    )
    sqlite_store.runs.create(run)

    async def go() -> None:
        provider = OpenAICompatProvider(base_url=fake_service.base_url, model="support-bot")
        try:
            await execute_run(
                run_id=run.run_id,
                cases=cases(),
                provider=provider,
                store=sqlite_store,
                options=RunOptions(concurrency=4),
                progress=progress,
            )
        finally:
            await provider.aclose()

    anyio.run(go)
    assert consumed == n
    assert read_when_first_answered[0] <= 256, "the runner read ahead of its workers"

    class CountingRuns:
        def __init__(self) -> None:
            self.blocks: list[int] = []

        def records_of_cases(self, run_id: str, case_ids: list[str]):  # type: ignore[no-untyped-def]
            self.blocks.append(len(case_ids))
            return sqlite_store.runs.records_of_cases(run_id, case_ids)

    class CountingStore:
        def __init__(self) -> None:
            self.runs = CountingRuns()

    counting = CountingStore()
    consumed = 0
    results = [result for result, _, _ in stream_results(cases(), counting, run.run_id, block=500)]
    assert [r.case_id for r in results] == [f"c{i:04d}" for i in range(n)]
    assert all(r.passed for r in results)
    assert counting.runs.blocks == [500, 500, 200]


def test_a_case_file_edited_during_the_run_interrupts_it(sqlite_store, fake_service, tmp_path):
    rows = [
        {"id": f"c{i}", "input": f"refund #{i}", "assert": [{"type": "max-length", "value": 500}]}
        for i in range(3)
    ]
    cases = write_cases(tmp_path / "c.jsonl", rows)

    def target(messages: list[dict]) -> str:  # type: ignore[type-arg]
        # the file changes under the run, after validation
        Path(cases).write_text(Path(cases).read_text().replace("#2", "#22"), encoding="utf-8")
        return "ok"

    import sys
    import types

    module = types.ModuleType("edits_its_cases")
    module.target = target  # type: ignore[attr-defined]
    sys.modules["edits_its_cases"] = module
    try:
        request = request_for(
            cases,
            fake_service.base_url,
            target=TargetSpec(python="edits_its_cases:target"),
            options=RunOptions(concurrency=1),
        )
        from evallock.errors import UsageError

        with pytest.raises(UsageError, match="changed while it was in use"):
            run_eval(request, sqlite_store)
    finally:
        del sys.modules["edits_its_cases"]
    (run,) = sqlite_store.runs.find()
    assert run.status == "interrupted"
