"""Hostile case files: alias bombs, deep nesting, non-JSON data, and arbitrary bytes.

Whatever a case file holds, loading it ends promptly with either the cases or a
``file:line: reason`` (exit 2), never another exception.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from evallock.cases import open_cases
from evallock.errors import CaseFileError, UsageError

BILLION_LAUGHS = (
    'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10))
    + "cases:\n"
    + "- id: bomb\n"
    + "  input: hi\n"
    + "  expected: lol\n"
    + "  vars: {laughs: *a9}\n"
)


def test_a_billion_laughs_alias_bomb_is_refused_at_the_alias_line(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(BILLION_LAUGHS)
    started = time.monotonic()
    with pytest.raises(CaseFileError) as caught:
        open_cases(path)
    assert time.monotonic() - started < 5
    message = str(caught.value)
    assert re.match(rf"^{re.escape(str(path))}:\d+: YAML refused: aliases expand to more", message)


def test_anchors_for_shared_parts_still_load(tmp_path: Path) -> None:
    path = tmp_path / "shared.yaml"
    path.write_text(
        "- &first\n"
        "  id: a\n"
        "  input: hi\n"
        "  assert: &checks [{type: icontains, value: hi}]\n"
        "- {id: b, input: ho, assert: *checks}\n"
        "- {<<: *first, id: c}\n"
    )
    cases = list(open_cases(path))
    assert [c.id for c in cases] == ["a", "b", "c"]
    assert cases[1].asserts == cases[0].asserts


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("- id: a\n  input: hi\n  vars: {v: " + "[" * 500 + "]" * 500 + "}\n", 3, "nested deeper than 64"),
        ("- " + "[" * 100_000 + "]" * 100_000 + "\n", 1, "nested deeper than 64"),
        ("- &r {id: a, input: hi, expected: x, vars: {v: *r}}\n", 1, "refers to a node that contains it"),
        ("- id: a\n  input: hi\n  expected: !!binary aGVsbG8=\n", 3, "!!binary is not JSON data"),
        ("- id: a\n  input: hi\n  expected: {1: one}\n", 3, "mapping keys must be text"),
        ("- id: a\n  input: hi\n  expected: x\n  vars: {n: " + "9" * 5000 + "}\n", 4, "bad integer"),
        ("- id: a\n  input: hi\n  expected: x\n  vars: {n: " + "9" * 30 + "}\n", 4, "64-bit range"),
    ],
)  # fmt: skip
def test_yaml_past_a_bound_or_not_json_data_names_file_and_line(
    tmp_path: Path, text: str, line: int, needle: str
) -> None:
    path = tmp_path / "hostile.yaml"
    path.write_text(text)
    with pytest.raises(CaseFileError) as caught:
        open_cases(path)
    assert str(caught.value).startswith(f"{path}:{line}: ")
    assert needle in str(caught.value)


def test_yaml_timestamps_stay_the_text_they_were_written_as(tmp_path: Path) -> None:
    path = tmp_path / "dates.yaml"
    path.write_text("- id: a\n  input: hi\n  expected: 2026-01-01\n  vars: {when: 2026-13-45}\n")
    (case,) = open_cases(path)
    assert (case.expected, case.vars) == ("2026-01-01", {"when": "2026-13-45"})


def test_jsonl_huge_numbers_and_deep_nesting_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "hostile.jsonl"
    path.write_text(
        '{"id": "a", "input": "hi", "expected": "x", "vars": {"n": 1e400}}\n'
        + '{"id": "b", "input": "hi", "expected": "x", "vars": {"v": '
        + "[" * 3000
        + "]" * 3000
        + "}}\n"
    )
    with pytest.raises(CaseFileError) as caught:
        open_cases(path)
    assert [p.split(": ")[0] for p in caught.value.problems] == [f"{path}:1", f"{path}:2"]


# --- property: arbitrary bytes in, cases or file:line errors out -------------------------------

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_ASSERTS = st.lists(
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(
                ["icontains", "regex", "json-schema", "numeric", "wat", "not-equals"]
            )
        },
        optional={"value": _VALUES, "threshold": _SCALARS},
    ),
    max_size=3,
)
_CASES = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(st.text(max_size=12), st.integers(), _VALUES),
        "input": st.one_of(st.text(max_size=30), _VALUES),
        "expected": _VALUES,
        "assert": st.one_of(_ASSERTS, _VALUES),
        "vars": _VALUES,
        "keys": _VALUES,
        "judge": _VALUES,
        "grader": st.sampled_from(["rules", "judge", "wat"]),
        "source": _VALUES,
    },
)
_VALID = st.fixed_dictionaries(
    {
        "id": st.text(min_size=1, max_size=12),
        "input": st.text(min_size=1, max_size=30),
        "expected": st.text(min_size=1, max_size=30),
    },
    optional={
        "vars": st.dictionaries(st.text(max_size=8), _VALUES, max_size=3),
        "assert": _ASSERTS,
    },
)
_VALID_LISTS = st.lists(_VALID, min_size=1, max_size=4, unique_by=lambda case: case["id"])
_CASES = st.one_of(_VALID, _CASES)
_NOISE = st.binary(max_size=200)


@st.composite
def _jsonl(draw: st.DrawFn) -> bytes:
    lines = draw(_VALID_LISTS | st.lists(st.one_of(_CASES, _VALUES), max_size=5))
    out = [json.dumps(line, allow_nan=True).encode() for line in lines]
    if draw(st.integers(0, 2)) == 0:
        out.insert(draw(st.integers(0, len(out))), draw(_NOISE))
    return b"\n".join(out)


@st.composite
def _yaml_text(draw: st.DrawFn) -> bytes:
    cases = draw(_VALID_LISTS | st.lists(_CASES, max_size=4))
    text = yaml.safe_dump(cases, allow_unicode=True).encode()
    if draw(st.integers(0, 2)) == 0:
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(_NOISE) + text[at:]
    return text


@st.composite
def _csv(draw: st.DrawFn) -> bytes:
    header = draw(
        st.lists(
            st.sampled_from(
                [
                    "id",
                    "input",
                    "expected",
                    "assert",
                    "pass_score",
                    "rubric",
                    "lock",
                    "key.intent",
                    "x",
                ]
            ),
            min_size=1,
            max_size=6,
        )
    )
    cells = st.one_of(
        st.text(max_size=15),
        st.sampled_from(['[{"type": "icontains", "value": "a"}]', "[", "5", "9" * 5000, "true"]),
    )
    rows = draw(st.lists(st.lists(cells, max_size=len(header) + 1), max_size=4))
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    data = buffer.getvalue().encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        data += draw(_NOISE)
    return data


_FILES = st.one_of(
    st.tuples(st.just(".jsonl"), st.one_of(_jsonl(), _NOISE)),
    st.tuples(st.just(".yaml"), st.one_of(_yaml_text(), _NOISE)),
    st.tuples(st.just(".csv"), st.one_of(_csv(), _NOISE)),
)


@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(_FILES)
def test_any_bytes_load_or_fail_with_file_and_line(file: tuple[str, bytes]) -> None:
    suffix, data = file
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / f"cases{suffix}"
        path.write_bytes(data)
        try:
            opened = open_cases(path)
        except UsageError as exc:  # CaseFileError (one problem a line) or an unreadable file
            problems = exc.problems if isinstance(exc, CaseFileError) else [str(exc)]
            kind = "refused" if isinstance(exc, CaseFileError) else "usage error"
        else:
            problems = []
            kind = "loaded"
        event(f"{kind}: {suffix}")
        for problem in problems:
            assert re.match(rf"{re.escape(str(path))}(:\d+)?: \S", problem), problem
        if kind != "loaded":
            assert problems
            return
        assert len(list(opened)) == opened.count == len(list(opened.heads()))
