"""Case files: every format, file:line errors, all-or-nothing, dataset ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evallock.cases import open_cases
from evallock.errors import CaseFileError, UsageError
from evallock.graders import MATCHES_EXPECTED

GOOD = {
    "id": "refund-017",
    "input": "My contract renewal was charged twice, can I get a refund?",
    "vars": {"plan": "enterprise"},
    "expected": "Yes; duplicate charges are refunded within 5 business days.",
    "assert": [
        {"type": "icontains", "value": "5 business days"},
        {"type": "not-icontains", "value": "30 days"},
    ],
    "judge": {"rubric": "Does the answer promise a refund?", "pass_score": 4},
    "keys": {"intent": "refund", "customer_tier": "enterprise"},
    "source": {
        "kind": "feedback",
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "lock": True,
        "note": "v4 told enterprise customers to wait 30 days",
    },
}


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_design_example_loads_with_every_field(tmp_path: Path) -> None:
    dataset = open_cases(write_jsonl(tmp_path / "golden.jsonl", [GOOD]))
    (case,) = list(dataset)
    assert case.id == "refund-017"
    assert case.vars == {"plan": "enterprise"}
    assert [a.type for a in case.asserts] == ["icontains", "not-icontains"]
    assert case.judge is not None and case.judge.pass_score == 4
    assert case.keys == {"intent": "refund", "customer_tier": "enterprise"}
    assert case.is_lock and case.source is not None
    assert case.source.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert case.line == 1
    assert (
        dataset.dataset_id.startswith("golden@") and len(dataset.dataset_id) == len("golden@") + 12
    )


def test_bad_lines_are_all_reported_with_file_and_line_and_nothing_loads(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text(
        json.dumps(GOOD)
        + "\n{not json\n"
        + json.dumps({"id": "x", "input": "hi", "assert": [{"type": "icontians", "value": "a"}]})
        + "\n"
        + json.dumps({"id": "y", "input": "hi", "expeted": "typo"})
        + "\n"
        + json.dumps({**GOOD})
        + "\n",
        encoding="utf-8",
    )
    with pytest.raises(CaseFileError) as info:
        open_cases(path)
    problems = info.value.problems
    assert problems[0].startswith(f"{path}:2: invalid JSON")
    assert problems[1].startswith(f"{path}:3: assert[0]:") and "icontains" in problems[1]
    assert "known" in problems[1]
    assert problems[2].startswith(f"{path}:4: expeted: unknown field")
    assert problems[3] == f"{path}:5: duplicate id 'refund-017' (first at line 1)"
    assert info.value.exit_code == 2


def test_blank_lines_keep_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(
        "\n" + json.dumps({"id": "a", "input": "x", "expected": "y"}) + "\n\n" + '{"id": "b"}\n'
    )
    with pytest.raises(CaseFileError) as info:
        open_cases(path)
    assert info.value.problems == [f"{path}:4: input: Field required"]


@pytest.mark.parametrize(
    ("row", "needle"),
    [
        ({"id": "a", "input": "x"}, "nothing to grade with"),
        ({"id": "a", "input": "x", "grader": "rules"}, "grader 'rules' needs 'expected'"),
        ({"id": "a", "input": "x", "grader": "judge"}, "grader 'judge' needs 'expected'"),
        ({"id": "a", "input": "", "expected": "y"}, "input"),
        ({"id": "a", "input": "x", "expected": "y", "judge": {"pass_score": 9}}, "pass_score"),
        ({"id": "a", "input": [{"role": "robot", "content": "x"}], "expected": "y"}, "role"),
        (["not", "an", "object"], "must be an object"),
    ],
)
def test_invalid_cases_name_the_problem(tmp_path: Path, row: object, needle: str) -> None:
    with pytest.raises(CaseFileError) as info:
        open_cases(write_jsonl(tmp_path / "c.jsonl", [row]))
    assert needle in str(info.value)
    assert str(info.value).startswith(f"{tmp_path / 'c.jsonl'}:1:")


def test_short_form_grader_rules_and_judge(tmp_path: Path) -> None:
    rows = [
        {"id": "r", "input": "x", "expected": "reset link", "grader": "rules"},
        {"id": "j", "input": "x", "expected": "reset link", "grader": "judge"},
        {"id": "e", "input": "x", "expected": "reset link"},
    ]
    rules, judged, plain = list(open_cases(write_jsonl(tmp_path / "c.jsonl", rows)))
    assert [a.type for a in rules.asserts] == [MATCHES_EXPECTED]
    assert judged.judge is not None and not judged.asserts
    assert [a.type for a in plain.asserts] == [MATCHES_EXPECTED]


def test_dataset_id_ignores_formatting_but_not_content(tmp_path: Path) -> None:
    a = write_jsonl(tmp_path / "g.jsonl", [GOOD])
    first = open_cases(a).dataset_id
    a.write_text(json.dumps(GOOD, indent=None, separators=(", ", ": "), sort_keys=True) + "\n\n")
    assert open_cases(a).dataset_id == first
    write_jsonl(a, [{**GOOD, "expected": "changed"}])
    assert open_cases(a).dataset_id != first


def test_csv_cases(tmp_path: Path) -> None:
    path = tmp_path / "golden.csv"
    path.write_text(
        "id,input,expected,grader,key.intent,plan,assert,lock,note\n"
        "c1,Charged twice?,refund,rules,refund,enterprise,,true,double charge bug\n"
        'c2,Ship when?,,,shipping,,"[{""type"": ""icontains"", ""value"": ""days""}]",,\n'
        'c3,Broken,,,shipping,,"[{""type"": ""nope""}]",,\n',
        encoding="utf-8",
    )
    with pytest.raises(CaseFileError) as info:
        open_cases(path)
    assert info.value.problems[0].startswith(f"{path}:4: assert[0]:")
    path.write_text("\n".join(path.read_text().splitlines()[:3]) + "\n")
    c1, c2 = list(open_cases(path))
    assert c1.keys == {"intent": "refund"} and c1.vars == {"plan": "enterprise"}
    assert c1.is_lock and c1.source is not None and c1.source.note == "double charge bug"
    assert [a.type for a in c2.asserts] == ["icontains"]


def test_yaml_cases_report_their_line(tmp_path: Path) -> None:
    path = tmp_path / "golden.yaml"
    path.write_text(
        "- id: a\n  input: hello\n  expected: hi\n"
        "- id: b\n  input: hello\n  assert:\n    - type: regex\n      value: '('\n",
        encoding="utf-8",
    )
    with pytest.raises(CaseFileError) as info:
        open_cases(path)
    assert info.value.problems[0].startswith(f"{path}:4: assert[0]:")
    path.write_text("cases:\n  - id: a\n    input: hello\n    expected: hi\n")
    (case,) = list(open_cases(path))
    assert case.line == 2


def test_yaml_syntax_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text("- id: a\n  input: [unclosed\n")
    with pytest.raises(CaseFileError, match=r"bad.yml:\d+: invalid YAML"):
        open_cases(path)


def test_missing_and_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        open_cases(tmp_path / "missing.jsonl")
    (tmp_path / "cases.txt").write_text("x")
    with pytest.raises(UsageError, match=r"unknown case file format '.txt'"):
        open_cases(tmp_path / "cases.txt")


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "e.jsonl").write_text("\n\n")
    with pytest.raises(CaseFileError, match="no cases"):
        open_cases(tmp_path / "e.jsonl")


# -- streaming: a file is validated whole, then read again case by case ------------


def test_open_cases_keeps_the_id_not_the_cases_and_reads_again_in_order(tmp_path: Path) -> None:
    from evallock.cases import open_cases

    rows = [
        {"id": f"c{i}", "input": f"q{i}", "expected": "a", "keys": {"n": i}} for i in range(600)
    ]
    rows[7]["source"] = {"lock": "yes", "note": "guards bug 7"}
    path = write_jsonl(tmp_path / "big.jsonl", rows)
    opened = open_cases(path)
    assert opened.dataset_id == open_cases(path).dataset_id
    assert len(opened) == 600 and opened.first_judged is None
    assert not any(isinstance(value, (list, tuple)) for value in vars_of(opened))
    assert [case.id for case in opened] == [f"c{i}" for i in range(600)]
    heads = list(opened.heads())
    assert [head.id for head in heads] == [case.id for case in opened]
    # the light read builds the same keys and provenance as the full validation
    full = {case.id: case for case in opened}
    for head in heads:
        assert head.keys == full[head.id].keys and head.source == full[head.id].source
        assert head.is_lock == full[head.id].is_lock
    assert heads[7].is_lock and heads[7].keys == {"n": "7"}


def vars_of(obj: object) -> list[object]:
    return [getattr(obj, name) for name in obj.__slots__]  # type: ignore[attr-defined]


def test_a_file_changed_after_validation_is_refused_not_read(tmp_path: Path) -> None:
    from evallock.cases import open_cases

    path = write_jsonl(tmp_path / "g.jsonl", [{"id": "a", "input": "x", "expected": "y"}])
    opened = open_cases(path)
    write_jsonl(path, [{"id": "a", "input": "x", "expected": "changed"}])
    with pytest.raises(UsageError, match="changed while it was in use"):
        list(opened)
    with pytest.raises(UsageError, match="changed while it was in use"):
        list(opened.heads())
    path.write_text("not json\n", encoding="utf-8")
    with pytest.raises(UsageError, match="changed while it was in use"):
        list(opened)


@pytest.mark.parametrize("n", [3000, 25_000])  # a set of hashes, then an on-disk index
def test_duplicate_ids_are_found_among_many(tmp_path: Path, n: int) -> None:
    rows = [{"id": f"c{i}", "input": "q", "expected": "a"} for i in range(n)]
    rows.append({"id": "c1234", "input": "again", "expected": "a"})
    with pytest.raises(CaseFileError) as info:
        open_cases(write_jsonl(tmp_path / "dup.jsonl", rows))
    assert info.value.problems == [
        f"{tmp_path / 'dup.jsonl'}:{n + 1}: duplicate id 'c1234' (first at line 1235)"
    ]
    del rows[-1]
    assert len(list(open_cases(write_jsonl(tmp_path / "unique.jsonl", rows)))) == n


def test_jsonl_with_a_bom_and_a_line_separator_inside_a_string(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    line_separator = "\u2028"
    row = {"id": "a", "input": f"one{line_separator}two", "expected": "y"}
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(row, ensure_ascii=False).encode() + b"\n")
    (case,) = list(open_cases(path))
    assert case.input == f"one{line_separator}two" and case.line == 1


def test_jsonl_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin.jsonl"
    path.write_bytes(
        b'{"id": "a", "input": "x", "expected": "y"}\n{"id": "b", "input": "caf\xe9"}\n'
    )
    with pytest.raises(CaseFileError) as info:
        open_cases(path)
    (problem,) = info.value.problems
    assert problem.startswith(f"{path}:2: invalid JSON")
