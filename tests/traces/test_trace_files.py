"""Trace files: JSONL summaries and OTLP JSON exports, all-or-nothing with file:line errors."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

import orjson
import pytest

from evallock.errors import CaseFileError, UsageError
from evallock.traces import read_trace_file

from .otlp_builders import LLM, ROOT, TRACE, request, span

DESIGN_LINE = {
    "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
    "timestamp": "2026-10-04T09:12:44Z",
    "input": "When will order #R1041 ship?",
    "output": "It ships within 2 business days.",
    "latency_ms": 812,
    "tokens_in": 31,
    "tokens_out": 12,
    "cost": 0.00021,
    "error": None,
    "keys": {"prompt_version": "refund-v3", "intent": "shipping", "customer_tier": "consumer"},
    "extra": {"session_id": "s-77"},
    "feedback": "down",
}


def _write(tmp_path, *lines, name="traces.jsonl"):
    path = tmp_path / name
    path.write_text(
        "\n".join(line if isinstance(line, str) else orjson.dumps(line).decode() for line in lines)
        + "\n"
    )
    return path


def test_the_design_example_line(tmp_path):
    loaded = read_trace_file(_write(tmp_path, DESIGN_LINE))

    [trace] = loaded.traces
    assert trace.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert trace.timestamp == datetime(2026, 10, 4, 9, 12, 44, tzinfo=UTC)
    assert (trace.input, trace.output, trace.latency_ms) == (
        "When will order #R1041 ship?",
        "It ships within 2 business days.",
        812.0,
    )
    assert (trace.tokens_in, trace.tokens_out, trace.cost, trace.error) == (31, 12, 0.00021, None)
    assert trace.keys == {
        "prompt_version": "refund-v3",
        "intent": "shipping",
        "customer_tier": "consumer",
        "session_id": "s-77",
    }
    assert trace.source == "import"
    [rating] = loaded.feedback
    assert (rating.trace_id, rating.rating, rating.score, rating.source) == (
        trace.trace_id,
        "down",
        0.0,
        "import",
    )
    assert (
        read_trace_file(_write(tmp_path, DESIGN_LINE)).feedback[0].feedback_id == rating.feedback_id
    )


def test_minimal_lines_message_inputs_and_offsets(tmp_path):
    lines = [
        {"trace_id": "A" * 32, "timestamp": "2026-10-04T11:12:44+02:00"},
        {
            "trace_id": "b" * 32,
            "timestamp": 1_767_225_600,
            "input": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hi"},
            ],
            "keys": {"language": "de", "turn": 3, "beta": True},
        },
    ]
    first, second = read_trace_file(_write(tmp_path, *lines, "")).traces
    assert first.trace_id == "a" * 32
    assert first.timestamp == datetime(2026, 10, 4, 9, 12, 44, tzinfo=UTC)
    assert (first.input, first.keys, first.messages) == (None, {}, None)
    assert second.timestamp == datetime(2026, 1, 1, tzinfo=UTC)
    assert second.input == "Hi"
    assert second.messages[0] == {"role": "system", "content": "Be brief."}
    assert second.keys == {"language": "de", "turn": "3", "beta": "true"}


def test_otlp_export_lines_with_one_trace_split_over_two_lines(tmp_path):
    llm = span(
        parent=ROOT,
        start_ms=100,
        end_ms=900,
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.input.messages": '[{"role":"user","parts":[{"type":"text","content":"Q"}]}]',
        },
    )
    root = span(span_id=ROOT, start_ms=0, end_ms=1000, attributes={"evallock.intent": "billing"})
    path = _write(
        tmp_path, request(llm), request(root, resource={"service.version": "9"}), DESIGN_LINE
    )

    loaded = read_trace_file(path)

    assert [t.trace_id for t in loaded.traces] == [DESIGN_LINE["trace_id"], TRACE]
    exported = loaded.traces[1]
    assert (exported.input, exported.latency_ms, exported.source) == ("Q", 1000.0, "import")
    assert exported.keys == {"intent": "billing", "service_version": "9"}


def test_every_bad_line_is_reported_and_nothing_is_loaded(tmp_path):
    bad_otlp = request(span(trace_id="0" * 32))
    path = _write(
        tmp_path,
        DESIGN_LINE,
        "{not json",
        "[1, 2]",
        {"trace_id": "nothex", "timestamp": "2026-10-04T09:12:44Z"},
        {"trace_id": "c" * 32, "timestamp": "2026-10-04T09:12:44"},
        {
            "trace_id": "d" * 32,
            "timestamp": "2026-10-04T09:12:44Z",
            "tokens_in": -1,
            "colour": "red",
        },
        DESIGN_LINE,
        bad_otlp,
        {"resourceSpans": 5},
        {"trace_id": "e" * 32, "timestamp": "2026-10-04T09:12:44Z", "feedback": "meh"},
    )
    with pytest.raises(CaseFileError) as caught:
        read_trace_file(path)

    problems = caught.value.problems
    assert [p.split(": ", 1)[0] for p in problems] == [f"{path}:{n}" for n in range(2, 11)]
    assert "invalid JSON" in problems[0]
    assert "expected a JSON object, got list" in problems[1]
    assert "trace_id: 'nothex' is not a trace id" in problems[2]
    assert "timestamp: Input should have timezone info" in problems[3]
    assert "tokens_in: Input should be greater than or equal to 0" in problems[4]
    assert "colour: unknown field" in problems[4]
    assert f"duplicate trace_id {DESIGN_LINE['trace_id']} (first at line 1)" in problems[5]
    assert "spans[0].traceId is all zero" in problems[6]
    assert "resourceSpans is not a list" in problems[7]
    assert "feedback" in problems[8]


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(UsageError, match="no such file"):
        read_trace_file(tmp_path / "absent.jsonl")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    with pytest.raises(CaseFileError, match="no traces"):
        read_trace_file(empty)


def test_hostile_text_is_kept_as_written(tmp_path):
    hostile = "<script>alert('x')</script> '; DROP TABLE traces; -- 返金 🧾"
    line = {**DESIGN_LINE, "input": hostile, "output": hostile, "keys": {"intent": hostile}}
    [trace] = read_trace_file(_write(tmp_path, line)).traces
    assert (trace.input, trace.output, trace.keys["intent"]) == (hostile, hostile, hostile)


def test_an_llm_span_alone_in_a_file(tmp_path):
    [trace] = read_trace_file(_write(tmp_path, request(span(span_id=LLM)))).traces
    assert trace.trace_id == TRACE


def test_otlp_logs_lines_and_gzip_as_the_collector_file_exporter_writes_them(
    tmp_path, evaluation_export
) -> None:
    plain = _write(tmp_path, DESIGN_LINE, orjson.dumps(evaluation_export).decode())
    loaded = read_trace_file(plain)
    assert [t.trace_id for t in loaded.traces] == [DESIGN_LINE["trace_id"]]
    ratings = {f.trace_id: f for f in loaded.feedback}
    judged = ratings["89d60bc7acef1141d97392b18134d84b"]  # the evaluation event's trace
    assert judged.name == "policy_groundedness" and judged.score == 0.25
    packed = tmp_path / "traces.jsonl.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    again = read_trace_file(packed)
    assert again.traces == loaded.traces and len(again.feedback) == len(loaded.feedback)


def test_bad_logs_lines_and_broken_gzip_name_the_file(tmp_path, evaluation_export) -> None:
    record = evaluation_export["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]
    del record["traceId"]
    path = _write(tmp_path, DESIGN_LINE, orjson.dumps(evaluation_export).decode())
    with pytest.raises(CaseFileError) as caught:
        read_trace_file(path)
    assert f"{path}:2:" in str(caught.value) and "traceId is missing" in str(caught.value)
    broken = tmp_path / "cut.jsonl.gz"
    broken.write_bytes(gzip.compress(b'{"trace_id": "x"}\n')[:-6])
    with pytest.raises(UsageError, match=r"cut\.jsonl\.gz: cannot read"):
        read_trace_file(broken)
