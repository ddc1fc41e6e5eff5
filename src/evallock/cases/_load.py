"""Loading case files: JSONL, CSV and YAML, all-or-nothing, with file:line errors."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from evallock.cases._schema import case_from_raw
from evallock.errors import CaseFileError, UsageError
from evallock.records import Case, Dataset

__all__ = ["dataset_id_of", "load_cases", "read_raw_cases"]

_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".yaml": "yaml", ".yml": "yaml"}


def load_cases(path: str | Path) -> Dataset:
    """Load and validate a case file; nothing is loaded when any line is bad.

    The dataset id is ``name@`` plus the first 12 hex digits of the SHA-256 of the
    canonical content (each case's JSON with sorted keys), so reformatting a file
    keeps its id and any change of content makes a new one.

    Raises:
        CaseFileError: one ``file:line: reason`` per bad line (exit 2).
        UsageError: the file is missing or of an unknown format.

    Example:
        >>> load_cases("evals/golden.jsonl").dataset_id  # doctest: +SKIP
        'golden@3f2a9c0d11be'
    """
    file = Path(path)
    problems: list[str] = []
    cases: list[Case] = []
    canonical: list[bytes] = []
    first_line: dict[str, int] = {}
    for line, raw, error in read_raw_cases(file):
        where = f"{file}:{line}"
        if error is not None:
            problems.append(f"{where}: {error}")
            continue
        try:
            case = case_from_raw(raw, line=line)
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
            continue
        if case.id in first_line:
            problems.append(
                f"{where}: duplicate id {case.id!r} (first at line {first_line[case.id]})"
            )
            continue
        first_line[case.id] = line
        cases.append(case)
        canonical.append(orjson.dumps(raw, option=orjson.OPT_SORT_KEYS))
    if problems:
        raise CaseFileError(problems)
    if not cases:
        raise CaseFileError([f"{file}: no cases"])
    return Dataset(
        name=file.stem,
        path=str(file),
        dataset_id=dataset_id_of(file.stem, canonical),
        cases=tuple(cases),
    )


def dataset_id_of(name: str, canonical_lines: list[bytes]) -> str:
    """``name@sha256-prefix`` of canonical case lines."""
    digest = hashlib.sha256(b"\n".join(canonical_lines)).hexdigest()[:12]
    return f"{name}@{digest}"


def read_raw_cases(file: Path) -> Iterator[tuple[int, Any, str | None]]:
    """Yield ``(line, raw mapping, parse error)`` for every case in a file."""
    fmt = _FORMATS.get(file.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(_FORMATS))
        raise UsageError(f"{file}: unknown case file format {file.suffix!r} (known: {known})")
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{file}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{file}: cannot read: {exc}") from None
    if fmt == "jsonl":
        yield from _jsonl(text)
    elif fmt == "csv":
        yield from _csv(text)
    else:
        yield from _yaml(text)


def _jsonl(text: str) -> Iterator[tuple[int, Any, str | None]]:
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("//"):
            continue
        try:
            yield number, orjson.loads(stripped), None
        except orjson.JSONDecodeError as exc:
            yield number, None, f"invalid JSON: {exc}"


_CSV_CASE_FIELDS = {"id", "input", "expected", "grader", "description"}
_CSV_SPECIAL = {"assert", "rubric", "pass_score", "lock", "note", "trace_id", "source_kind"}


def _csv(text: str) -> Iterator[tuple[int, Any, str | None]]:
    """CSV rows: ``id,input,expected,grader`` columns; ``assert`` as a JSON list;
    ``rubric``/``pass_score`` for a judge; ``lock``/``note``/``trace_id`` for the
    source; ``key.<name>`` columns are keys; ``vars.<name>`` and any other column
    is a template variable (as in promptfoo)."""
    reader = csv.DictReader(io.StringIO(text))
    for row in reader:
        line = reader.line_num
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


def _yaml(text: str) -> Iterator[tuple[int, Any, str | None]]:
    import yaml

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        yield line, None, f"invalid YAML: {getattr(exc, 'problem', exc)}"
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
    loader = yaml.SafeLoader("")
    try:
        for node in root.value:
            yield node.start_mark.line + 1, loader.construct_document(node), None
    finally:
        loader.dispose()
