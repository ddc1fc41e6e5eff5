"""Promotion: appended lines only, valid for the loader, all or nothing, idempotent."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from evallock.cases import open_cases
from evallock.errors import StoreError, UsageError
from evallock.feedback import accept_candidate, promote_candidates, propose_candidates

from .conftest import HOSTILE, complaint, seed, tid

GOLDEN = (
    '{"id": "refund-001", "input": "charged twice?", "expected": "5 business days",'
    ' "keys": {"intent": "refund", "customer_tier": "consumer"}}\n'
    "// a comment the loader skips\n"
    '{"id": "fb-00000001", "input": "taken id", "expected": "x"}'  # no final newline
)


@pytest.fixture
def accepted(store):
    keys = {
        "prompt_version": "refund-v4",
        "model_version": "m1",
        "intent": "refund",
        "customer_tier": "enterprise",
        "session_id": "s-1",
    }
    seed(
        store,
        [
            complaint(1, "Our contract was charged twice " + HOSTILE, keys=keys),
            complaint(2, "Where can we download invoices?"),
        ],
    )
    plan = propose_candidates(store, actor="alice")
    first, second = (c.candidate_id for c in plan.new)
    accept_candidate(
        store,
        first,
        expected="refunded within 5 business days",
        asserts=[{"type": "not-icontains", "value": "30 days"}],
        variables={"plan": "enterprise"},
        note="v4 said 30 days",
        actor="bob",
    )
    return store, first, second


def test_promote_appends_valid_lock_lines_and_rewrites_nothing(accepted, tmp_path: Path) -> None:
    store, first, second = accepted
    path = tmp_path / "evals" / "golden.jsonl"
    path.parent.mkdir()
    path.write_text(GOLDEN, encoding="utf-8")
    before = path.read_bytes()
    result = promote_candidates(store, path, actor="carol")
    after = path.read_bytes()
    assert after.startswith(before + b"\n")  # the missing newline added, old bytes untouched
    [(candidate_id, case_id)] = result.written
    assert candidate_id == first
    assert case_id == f"fb-{tid(1)[:12]}"  # fb-00000001 is taken: ids are unique in the file
    line = orjson.loads(after[len(before) + 1 :])
    assert line == result.lines[0]
    assert line["source"] == {
        "kind": "feedback",
        "trace_id": tid(1),
        "lock": True,
        "note": "v4 said 30 days",
    }
    assert line["keys"] == {"intent": "refund", "customer_tier": "enterprise"}  # no versions
    assert line["vars"] == {"plan": "enterprise"} and line["input"].endswith(HOSTILE)
    dataset = open_cases(path)
    assert result.dataset_id == dataset.dataset_id != load_cases_from_bytes(tmp_path, before)
    case = list(dataset)[-1]
    assert case.is_lock and case.source.trace_id == tid(1)
    assert line["grader"] == "rules"  # the expected text is graded beside the assertions
    assert [a.type for a in case.asserts] == ["not-icontains", "matches-expected"]
    promoted = store.candidates.get(first)
    assert (promoted.state, promoted.case_id, promoted.dataset_id) == (
        "promoted",
        case_id,
        dataset.dataset_id,
    )
    assert store.traces.get(tid(1)).keys["dataset_id"] == dataset.dataset_id
    assert store.candidates.events(first)[-1].detail["case_id"] == case_id
    assert store.candidates.get(second).state == "pending"

    again = promote_candidates(store, path, actor="carol")
    assert again.written == () and again.linked == () and path.read_bytes() == after


def load_cases_from_bytes(tmp_path: Path, data: bytes) -> str:
    copy = tmp_path / "copy" / "golden.jsonl"
    copy.parent.mkdir()
    copy.write_bytes(data)
    return open_cases(copy).dataset_id


def test_promote_creates_a_missing_file_with_a_default_note(store, tmp_path: Path) -> None:
    seed(store, [complaint(5, "charged twice")])
    [made] = propose_candidates(store, actor="a").new
    accept_candidate(store, made.candidate_id, expected="5 business days", actor="b")
    path = tmp_path / "new" / "locks.jsonl"
    result = promote_candidates(store, path, actor="c")
    [line] = [orjson.loads(x) for x in path.read_text().splitlines()]
    assert line["id"] == f"fb-{tid(5)[:8]}" and "assert" not in line
    assert line["source"]["note"].startswith("thumbs-down: wrong (1 trace(s), prompt_version=")
    assert "it answered: Enterprise contract refunds take 30 days." in line["source"]["note"]
    assert result.dataset_id == open_cases(path).dataset_id


def test_a_trace_already_in_the_file_is_linked_not_written_twice(accepted, tmp_path) -> None:
    store, first, _ = accepted
    path = tmp_path / "golden.jsonl"
    path.write_text(
        '{"id": "by-hand", "input": "q", "expected": "a", "source": {"kind": "feedback", '
        f'"trace_id": "{tid(1)}", "lock": true}}}}\n'
    )
    before = path.read_bytes()
    result = promote_candidates(store, path, actor="carol")
    assert result.written == () and result.linked == ((first, "by-hand"),)
    assert path.read_bytes() == before
    assert store.candidates.get(first).case_id == "by-hand"


def test_nothing_is_written_when_the_store_fails(accepted, tmp_path, monkeypatch) -> None:
    store, first, _ = accepted
    path = tmp_path / "golden.jsonl"
    path.write_text(GOLDEN)
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise StoreError("disk full")

    monkeypatch.setattr(store.candidates, "mark_promoted", broken)
    with pytest.raises(StoreError):
        promote_candidates(store, path, actor="carol")
    assert path.read_bytes() == before
    assert store.candidates.get(first).state == "accepted"


def test_bad_targets_are_refused_before_writing(accepted, tmp_path) -> None:
    store, first, second = accepted
    with pytest.raises(UsageError, match="JSONL"):
        promote_candidates(store, tmp_path / "golden.csv", actor="c")
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "a", "input": "q"}\n')
    with pytest.raises(UsageError, match="bad lines"):
        promote_candidates(store, broken, actor="c")
    assert broken.read_text() == '{"id": "a", "input": "q"}\n'
    with pytest.raises(UsageError, match="not accepted"):
        promote_candidates(store, tmp_path / "g.jsonl", actor="c", candidate_ids=[second])
    with pytest.raises(UsageError, match="no candidate"):
        promote_candidates(store, tmp_path / "g.jsonl", actor="c", candidate_ids=["ffffffff"])
    assert not (tmp_path / "g.jsonl").exists()
    assert store.candidates.get(first).state == "accepted"


def test_only_the_named_candidates(accepted, tmp_path) -> None:
    store, first, second = accepted
    accept_candidate(store, second, expected="Billing > Invoices", actor="bob")
    result = promote_candidates(store, tmp_path / "g.jsonl", actor="c", candidate_ids=[second])
    assert [c for c, _ in result.written] == [second]
    assert store.candidates.get(first).state == "accepted"


def test_nothing_to_promote(store, tmp_path) -> None:
    result = promote_candidates(store, tmp_path / "g.jsonl", actor="c")
    assert result.written == () and result.dataset_id is None
    assert not (tmp_path / "g.jsonl").exists()


def test_a_file_of_comments_only_is_appended_to(accepted, tmp_path) -> None:
    store, first, _ = accepted
    path = tmp_path / "golden.jsonl"
    path.write_text("// locks from production feedback\r\n")
    result = promote_candidates(store, path, actor="carol")
    assert [c for c, _ in result.written] == [first]
    assert path.read_bytes().startswith(b"// locks from production feedback\r\n{")
    assert open_cases(path).dataset_id == result.dataset_id


def test_a_promotion_waits_for_another_in_the_same_directory(accepted, tmp_path: Path) -> None:
    import threading

    from evallock.feedback._promote import promotion_lock

    store, first, _ = accepted
    path = tmp_path / "evals" / "golden.jsonl"
    done: list[object] = []
    with promotion_lock(path):
        worker = threading.Thread(
            target=lambda: done.append(promote_candidates(store, path, actor="carol"))
        )
        worker.start()
        worker.join(timeout=0.5)
        assert worker.is_alive() and not path.exists(), "the promotion did not wait"
    worker.join(timeout=30)
    (result,) = done
    assert [candidate for candidate, _ in result.written] == [first]  # type: ignore[attr-defined]


def test_reviewers_promoting_at_once_append_each_case_once(accepted, tmp_path: Path) -> None:
    import threading

    store, first, _ = accepted
    path = tmp_path / "evals" / "golden.jsonl"
    path.parent.mkdir()
    path.write_text(GOLDEN, encoding="utf-8")
    results: list[object] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def promote() -> None:
        start.wait()
        try:
            results.append(promote_candidates(store, path, actor="carol"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=promote) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert not errors, errors
    written = [pair for result in results for pair in result.written]  # type: ignore[attr-defined]
    assert [candidate for candidate, _ in written] == [first]
    ids = [case.id for case in open_cases(path)]
    assert len(ids) == len(set(ids)) == 3
    assert store.candidates.get(first).state == "promoted"
