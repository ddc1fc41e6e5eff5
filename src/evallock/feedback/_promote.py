"""Promotion: append accepted candidates to a JSONL case file as locks, all or nothing.

Existing lines are never rewritten: the new lines are appended (after a newline
when the file does not end with one). Before anything is written the whole new
file is loaded by the real case loader in a scratch copy, so a line the loader
would refuse never lands. A ``check`` (the CLI's: run each new lock once against the configured
target) sees the new lines before they are written and may refuse them all.
If the store cannot record the promotion afterwards,
the file is cut back to its old length. A candidate whose trace already backs a
case in the file (promoted earlier, or by hand) is marked promoted as that case
instead of being written twice. Promotions into one directory hold an exclusive
lock on it, so two reviewers promoting at once never append the same case twice.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from evallock.errors import (
    CandidateNotFoundError,
    CandidateStateError,
    CaseFileError,
    UsageError,
)
from evallock.feedback._candidate_store import CandidateStore
from evallock.feedback._caseline import case_id_for, case_line, validate_case_line
from evallock.records import CandidateEvent

__all__ = ["LockCheck", "PromoteResult", "promote_candidates", "promotion_lock"]

LockCheck = Callable[[Sequence[dict[str, Any]]], None]
"""Sees the case lines a promotion would append; raises ``UsageError`` to refuse them."""


@dataclass(frozen=True, kw_only=True, slots=True)
class PromoteResult:
    """What a promotion wrote."""

    path: str
    """The case file."""
    written: tuple[tuple[str, str], ...] = ()
    """``(candidate_id, case_id)`` of each line appended."""
    linked: tuple[tuple[str, str], ...] = ()
    """``(candidate_id, case_id)`` of candidates whose trace was in the file already."""
    dataset_id: str | None = None
    """The file's dataset id afterwards (None when there was nothing to promote)."""
    lines: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    """The lines appended."""


def _existing(path: Path) -> tuple[bytes, set[str], dict[str, str]]:
    """The file's bytes, its case ids, and trace id → case id of its cases' sources."""
    from evallock.cases import open_cases

    if path.suffix.lower() not in (".jsonl", ".ndjson"):
        raise UsageError(f"--to {path}: promote appends to a JSONL case file (.jsonl)")
    if not path.exists():
        return b"", set(), {}
    data = path.read_bytes()
    if not data.strip():
        return data, set(), {}
    try:
        dataset = open_cases(path)
    except CaseFileError as exc:
        if exc.problems == [f"{path}: no cases"]:  # only comments so far
            return data, set(), {}
        raise UsageError(f"{path} has bad lines; fix them before promoting:\n{exc}") from None
    heads = list(dataset.heads())
    traces = {h.source.trace_id: h.id for h in heads if h.source and h.source.trace_id}
    return data, {h.id for h in heads}, traces


def _validated_dataset_id(path: Path, content: bytes) -> str:
    """Load ``content`` as the file would be, in a scratch directory; its dataset id."""
    from evallock.cases import open_cases

    with tempfile.TemporaryDirectory(prefix="evallock-promote-") as scratch:
        copy = Path(scratch) / path.name
        copy.write_bytes(content)
        try:
            return open_cases(copy).dataset_id
        except CaseFileError as exc:
            raise UsageError(f"the promoted file would not load; nothing written:\n{exc}") from None


def _append(path: Path, data: bytes, expected_size: int) -> None:
    with open(path, "ab") as handle:
        if handle.tell() != expected_size:
            raise UsageError(f"{path} changed while promoting; nothing written, try again")
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _cut_back(path: Path, size: int) -> None:
    with open(path, "r+b") as handle:
        handle.truncate(size)


def promote_candidates(
    store: CandidateStore,
    path: str | Path,
    *,
    actor: str,
    candidate_ids: Sequence[str] | None = None,
    check: LockCheck | None = None,
) -> PromoteResult:
    """Append every accepted candidate (or those named) to ``path`` as a lock case.

    Promoting twice is a no-op: promoted candidates are not accepted any more.

    Args:
        check: called with the new lines before anything is written; it raises
            :class:`UsageError` to refuse them (nothing is written then).

    Raises:
        UsageError: the file is not JSONL or has bad lines, a named candidate is not
            accepted, a new line would not load, or ``check`` refused the lines.
    """
    file = Path(path)
    with promotion_lock(file):
        return _promote(store, file, actor=actor, candidate_ids=candidate_ids, check=check)


@contextmanager
def promotion_lock(file: Path) -> Iterator[None]:
    """Hold the case file's directory exclusively: promotions into it run one at a time.

    Two reviewers promoting at once would otherwise both read the same accepted
    candidates and append them twice. The lock is on the directory (``flock``),
    so no lock file is left beside the cases; other processes wait for it.
    """
    file.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # not POSIX: promotions are not serialised
        yield
        return
    descriptor = os.open(file.parent, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def _promote(
    store: CandidateStore,
    file: Path,
    *,
    actor: str,
    candidate_ids: Sequence[str] | None,
    check: LockCheck | None,
) -> PromoteResult:
    accepted = store.candidates.find(states=["accepted"], limit=None)
    if candidate_ids:
        wanted: set[str] = set()
        for ident in candidate_ids:
            found = store.candidates.get(ident)
            if found is None:
                raise CandidateNotFoundError(f"no candidate {ident!r} in {store.url}")
            wanted.add(found.candidate_id)
        missing = wanted - {c.candidate_id for c in accepted}
        if missing:
            raise CandidateStateError(
                f"not accepted (accept them first): {', '.join(sorted(missing))}"
            )
        accepted = [c for c in accepted if c.candidate_id in wanted]
    accepted.sort(key=lambda c: (c.created_at, c.candidate_id))
    if not accepted:
        return PromoteResult(path=str(file))
    old, taken, by_trace = _existing(file)
    lines: list[dict[str, Any]] = []
    written: list[tuple[str, str]] = []
    linked: list[tuple[str, str]] = []
    for candidate in accepted:
        known = next((by_trace[t] for t in candidate.trace_ids if t in by_trace), None)
        if known is not None:
            linked.append((candidate.candidate_id, known))
            continue
        case_id = case_id_for(candidate, taken)
        taken.add(case_id)
        line = case_line(candidate, case_id)
        try:
            validate_case_line(line)
        except ValueError as exc:
            raise UsageError(
                f"candidate {candidate.candidate_id}: {exc}; nothing written"
            ) from None
        lines.append(line)
        written.append((candidate.candidate_id, case_id))
    payload = b"".join(orjson.dumps(line) + b"\n" for line in lines)
    if payload and old and not old.endswith(b"\n"):
        payload = b"\n" + payload
    dataset_id = _validated_dataset_id(file, old + payload) if (old.strip() or payload) else None
    if lines and check is not None:
        check(lines)
    if payload:
        _append(file, payload, len(old))
    now = datetime.now(UTC)
    pairs = written + linked
    events = [
        CandidateEvent(
            candidate_id=candidate_id,
            at=now,
            actor=actor,
            action="promoted",
            detail={"case_id": case_id, "path": str(file), "dataset_id": dataset_id},
        )
        for candidate_id, case_id in pairs
    ]
    try:
        store.candidates.mark_promoted(
            pairs, promoted_to=str(file), dataset_id=dataset_id or "", events=events
        )
    except BaseException:
        if payload:
            _cut_back(file, len(old))
        raise
    return PromoteResult(
        path=str(file),
        written=tuple(written),
        linked=tuple(linked),
        dataset_id=dataset_id,
        lines=tuple(lines),
    )
