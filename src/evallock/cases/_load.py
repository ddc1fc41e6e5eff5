"""Loading case files: JSONL, CSV and YAML, all-or-nothing, with file:line errors.

A file is validated whole before anything runs (:func:`open_cases`), then read
again, a case at a time, by whatever consumes it: the runner, the results. No
pass holds every case, so memory stays flat with the size of the file; each
later pass checks the file's bytes are the ones validated. YAML is the
exception: a YAML document is parsed whole (it is the format for small,
hand-written sets; JSONL and CSV stream).
"""

from __future__ import annotations

import csv
import hashlib
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from evallock.cases._schema import case_from_raw, case_head_from_raw
from evallock.errors import CaseFileError, UsageError
from evallock.records import Case, CaseHead

__all__ = ["CaseFile", "open_cases", "read_raw_cases"]

_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".yaml": "yaml", ".yml": "yaml"}
_BOM = b"\xef\xbb\xbf"
_ON_DISK_FROM = 20_000  # ids; below this a set of their hashes is small

RawCase = tuple[int, Any, str | None]
"""``(line, raw mapping, parse error)``."""


@dataclass(frozen=True, kw_only=True, slots=True)
class CaseFile:
    """A validated case file, read again lazily each time it is iterated.

    Iterating yields the :class:`Case` objects in file order; :meth:`heads` yields
    only what a result needs. Either raises :class:`UsageError` when the file no
    longer holds the bytes that were validated.
    """

    name: str
    """The file's stem, e.g. ``golden``."""
    path: str
    """The file."""
    dataset_id: str
    """``name@sha256-prefix`` of the canonical content."""
    count: int
    """How many cases it holds."""
    first_judged: Case | None
    """The first case that asks for an LLM judge, if any."""
    digest: str
    """SHA-256 of the file's bytes when it was validated."""
    simulated_user: Case | None = None
    """The first case whose user is simulated (played by the judge model), if any."""
    judge_rubrics: frozenset[tuple[str, bool]] = frozenset()
    """Each distinct (rubric, has a reference answer) its judged cases ask for (an empty
    rubric: the run's default): what decides the judge versions a run uses."""

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[Case]:
        for line, raw in self._raws():
            try:
                case = case_from_raw(raw, line=line)
            except ValueError:
                raise self._changed() from None
            yield case

    def heads(self) -> Iterator[CaseHead]:
        """Each case's id, keys and provenance, in file order."""
        for line, raw in self._raws():
            try:
                head = case_head_from_raw(raw, line=line)
            except (KeyError, TypeError, ValueError):
                raise self._changed() from None
            yield head

    def _raws(self) -> Iterator[tuple[int, Any]]:
        reader = _Reader(Path(self.path))
        for line, raw, error in reader:
            if error is not None:
                raise self._changed()
            yield line, raw
        if reader.hexdigest() != self.digest:
            raise self._changed()

    def _changed(self) -> UsageError:
        return UsageError(
            f"{self.path}: the case file changed while it was in use (it was {self.dataset_id});"
            " run again"
        )


def open_cases(path: str | Path) -> CaseFile:
    """Validate a case file whole, keeping only its id, size and digest.

    The dataset id is ``name@`` plus the first 12 hex digits of the SHA-256 of the
    canonical content (each case's JSON with sorted keys), so reformatting a file
    keeps its id and any change of content makes a new one.

    Raises:
        CaseFileError: one ``file:line: reason`` per bad line (exit 2); nothing is run.
        UsageError: the file is missing or of an unknown format.

    Example:
        >>> open_cases("evals/golden.jsonl").dataset_id  # doctest: +SKIP
        'golden@3f2a9c0d11be'
    """
    file = Path(path)
    problems: list[str] = []
    canonical = hashlib.sha256()
    id_hashes = array("q")
    count = 0
    first_judged: Case | None = None
    simulated: Case | None = None
    rubrics: set[tuple[str, bool]] = set()
    reader = _Reader(file)
    for line, raw, error in reader:
        where = f"{file}:{line}"
        if error is not None:
            problems.append(f"{where}: {error}")
            continue
        try:
            case = case_from_raw(raw, line=line)
            payload = orjson.dumps(raw, option=orjson.OPT_SORT_KEYS)
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
            continue
        except TypeError as exc:  # orjson.JSONEncodeError: not JSON data
            problems.append(f"{where}: not JSON data: {exc}")
            continue
        if case.judge is not None:
            first_judged = first_judged or case
            rubrics.add((case.judge.rubric, case.expected is not None))
        if case.user is not None:
            simulated = simulated or case
        id_hashes.append(hash(case.id))
        canonical.update(b"\n" if count else b"")
        canonical.update(payload)
        count += 1
    problems += _duplicates(file, id_hashes)
    if problems:
        raise CaseFileError(problems)
    if not count:
        raise CaseFileError([f"{file}: no cases"])
    return CaseFile(
        name=file.stem,
        path=str(file),
        dataset_id=f"{file.stem}@{canonical.hexdigest()[:12]}",
        count=count,
        first_judged=first_judged,
        simulated_user=simulated,
        digest=reader.hexdigest(),
        judge_rubrics=frozenset(rubrics),
    )


def _duplicates(file: Path, id_hashes: array[int]) -> list[str]:
    """``file:line`` problems for repeated ids, from 8 bytes a case rather than every id."""
    if not _repeats(id_hashes):
        return []
    # Something repeats (or two ids share a hash): find which, reading the file again.
    problems: list[str] = []
    first_line: dict[str, int] = {}
    for line, raw, error in _Reader(file):
        if error is None and isinstance(raw, dict) and "id" in raw:
            case_id = str(raw["id"])
            if case_id in first_line:
                problems.append(
                    f"{file}:{line}: duplicate id {case_id!r} (first at line {first_line[case_id]})"
                )
            else:
                first_line[case_id] = line
    return problems


def _repeats(id_hashes: array[int]) -> bool:
    """True when a hash repeats: a set for a small file, an on-disk index for a big one.

    A set of 100,000 Python ints costs about 7 MB and numpy's sort about 10 MB of
    libraries; SQLite's B-tree in a temporary file keeps it to its 2 MB page cache.
    """
    if len(id_hashes) < _ON_DISK_FROM:
        return len(set(id_hashes)) != len(id_hashes)
    import sqlite3
    import tempfile

    with tempfile.TemporaryDirectory(prefix="evallock-ids-") as scratch:
        index = sqlite3.connect(Path(scratch) / "ids.db", isolation_level=None)
        try:
            index.execute("PRAGMA journal_mode = OFF")
            index.execute("CREATE TABLE ids (hash INTEGER PRIMARY KEY)")
            index.execute("BEGIN")
            index.executemany("INSERT INTO ids VALUES (?)", ((h,) for h in id_hashes))
        except sqlite3.IntegrityError:
            return True
        finally:
            index.close()
    return False


def read_raw_cases(file: Path) -> Iterator[RawCase]:
    """Yield ``(line, raw mapping, parse error)`` for every case in a file."""
    return iter(_Reader(file))


class _Reader:
    """Reads a case file once, a case at a time, hashing its bytes as it goes."""

    def __init__(self, file: Path) -> None:
        fmt = _FORMATS.get(file.suffix.lower())
        if fmt is None:
            known = ", ".join(sorted(_FORMATS))
            raise UsageError(f"{file}: unknown case file format {file.suffix!r} (known: {known})")
        self._file = file
        self._format = fmt
        self._digest = hashlib.sha256()

    def hexdigest(self) -> str:
        """SHA-256 of the bytes read so far (the whole file once iterated)."""
        return self._digest.hexdigest()

    def __iter__(self) -> Iterator[RawCase]:
        try:
            handle = self._file.open("rb")
        except FileNotFoundError:
            raise UsageError(f"{self._file}: no such file") from None
        except OSError as exc:
            raise UsageError(f"{self._file}: cannot read: {exc}") from None
        with handle:
            if self._format == "jsonl":
                yield from _jsonl(self._hashed(handle))
            elif self._format == "csv":
                yield from _csv(self._decoded(self._hashed(handle)))
            else:
                data = b"".join(self._hashed(handle))
                try:
                    text = data.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise UsageError(f"{self._file}: cannot read: {exc}") from None
                yield from _yaml(text)

    def _hashed(self, handle: IO[bytes]) -> Iterator[bytes]:
        update = self._digest.update
        for number, line in enumerate(handle, start=1):
            update(line)
            yield line[len(_BOM) :] if number == 1 and line.startswith(_BOM) else line

    def _decoded(self, lines: Iterable[bytes]) -> Iterator[str]:
        for number, line in enumerate(lines, start=1):
            try:
                yield line.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise UsageError(f"{self._file}:{number}: not UTF-8: {exc}") from None


def _jsonl(lines: Iterable[bytes]) -> Iterator[RawCase]:
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith(b"//"):
            continue
        try:
            yield number, orjson.loads(stripped), None
        except orjson.JSONDecodeError as exc:
            yield number, None, f"invalid JSON: {exc}"


_CSV_CASE_FIELDS = {"id", "input", "expected", "grader", "description"}
_CSV_SPECIAL = {"assert", "rubric", "pass_score", "lock", "note", "trace_id", "source_kind"}


def _csv(lines: Iterable[str]) -> Iterator[RawCase]:
    """CSV rows: ``id,input,expected,grader`` columns; ``assert`` as a JSON list;
    ``rubric``/``pass_score`` for a judge; ``lock``/``note``/``trace_id`` for the
    source; ``key.<name>`` columns are keys; ``vars.<name>`` and any other column
    is a template variable (as in promptfoo)."""
    reader = csv.DictReader(lines)
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:  # a NUL byte, a field past the csv module's limit …
            yield max(reader.line_num, 1), None, f"invalid CSV: {exc}"
            return
        line = reader.line_num
        if None in row:
            yield line, None, "more cells than header columns"
            continue
        if not any((value or "").strip() for value in row.values()):
            continue
        try:
            yield line, _csv_case(row), None
        except ValueError as exc:
            yield line, None, str(exc)


def _csv_case(row: dict[str, str | None]) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    keys: dict[str, str] = {}
    variables: dict[str, str] = {}
    for column, cell in row.items():
        if column is None:
            raise ValueError("more cells than header columns")
        value = (cell or "").strip()
        name = column.strip()
        if not value:
            continue
        if name in _CSV_CASE_FIELDS:
            raw[name] = value
        elif name.startswith("key."):
            keys[name[4:]] = value
        elif name.startswith("vars."):
            variables[name[5:]] = value
        elif name not in _CSV_SPECIAL:
            variables[name] = value
    cells = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
    if cells.get("assert"):
        try:
            raw["assert"] = orjson.loads(cells["assert"])
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"assert: invalid JSON list: {exc}") from None
    if cells.get("rubric") or cells.get("pass_score"):
        judge: dict[str, Any] = {}
        if cells.get("rubric"):
            judge["rubric"] = cells["rubric"]
        if cells.get("pass_score"):
            try:
                judge["pass_score"] = int(cells["pass_score"])
            except ValueError:
                raise ValueError(
                    f"pass_score: not a whole number: {cells['pass_score']!r}"
                ) from None
        raw["judge"] = judge
    if cells.get("lock") or cells.get("trace_id") or cells.get("note"):
        lock = cells.get("lock", "").lower()
        if lock not in {"", "true", "false", "1", "0", "yes", "no"}:
            raise ValueError(f"lock: expected true or false, got {cells['lock']!r}")
        raw["source"] = {
            "kind": cells.get("source_kind") or "manual",
            "lock": lock in {"true", "1", "yes"},
            **({"trace_id": cells["trace_id"]} if cells.get("trace_id") else {}),
            **({"note": cells["note"]} if cells.get("note") else {}),
        }
    if keys:
        raw["keys"] = keys
    if variables:
        raw["vars"] = variables
    return raw


def _yaml(text: str) -> Iterator[RawCase]:
    # Imported here: PyYAML and the bounded loader (some 10 ms) only for YAML files.
    import yaml

    from evallock.cases._yaml import compose_yaml, construct_yaml

    try:
        root = compose_yaml(text)
    except yaml.YAMLError as exc:
        yield _yaml_error(exc)
        return
    if root is None:
        return
    if isinstance(root, yaml.MappingNode):
        # promptfoo-style: a mapping with a `tests:` list
        for key_node, value_node in root.value:
            if key_node.value in {"tests", "cases"}:
                root = value_node
                break
    if not isinstance(root, yaml.SequenceNode):
        yield (
            root.start_mark.line + 1,
            None,
            "expected a list of cases (or a mapping with 'cases:')",
        )
        return
    for node in root.value:
        line = node.start_mark.line + 1
        try:
            yield line, construct_yaml(node), None
        except yaml.YAMLError as exc:
            yield _yaml_error(exc, line)


def _yaml_error(exc: Exception, line: int = 1) -> RawCase:
    """``(line, None, reason)`` for a YAML error, at its mark when it has one."""
    from evallock.cases._yaml import YamlLimitError  # loaded by _yaml already

    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = mark.line + 1 if mark is not None else line
    problem = getattr(exc, "problem", None) or str(exc)
    if isinstance(exc, YamlLimitError):
        return where, None, f"YAML refused: {problem}"
    return where, None, f"invalid YAML: {problem}"
