"""Trace files: JSONL trace summaries and OTLP JSON exports, read all-or-nothing.

``evallock traces import FILE`` backfills history from two kinds of line, which
may even be mixed in one file:

* a trace summary as DESIGN §6 writes it (``trace_id``, ``timestamp``, ``input``,
  ``output`` …, ``keys``, ``extra``, and an optional ``"feedback": "up"|"down"``), with
  its ``tool_calls``, the ``tools`` the request offered and its ``session_id`` (the same
  as a ``session_id`` key);
* an OTLP ``ExportTraceServiceRequest`` in JSON (what the collector's file
  exporter writes, one request a line). Spans of one trace may sit on several
  lines; they are summarised together once the whole file is read;
* an OTLP ``ExportLogsServiceRequest`` in JSON (the file exporter's logs): GenAI
  evaluation events become feedback, message events fill their trace, as
  ``POST /v1/logs`` reads them.

A file ending in ``.gz`` (the file exporter's compression) is read through gzip,
up to :data:`MAX_FILE_BYTES` decompressed.

Like case files, a file with any bad line is refused whole, each problem reported
as ``file:line: reason``: malformed lines and values past their limits
(:mod:`evallock.limits`) alike, whatever the bytes.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    ValidationError,
    field_validator,
)

from evallock.errors import CaseFileError, UsageError
from evallock.limits import FieldLimitError, check_depth, check_feedback, check_trace
from evallock.records import Feedback, Message, Trace
from evallock.traces._batch import FeedbackError, OtlpDecodeError, TraceFile
from evallock.traces._feedback import feedback_id_of, rating_of
from evallock.traces._ids import normalise_trace_id
from evallock.traces._logs import summarise_logs
from evallock.traces._messages import MAX_COUNT, last_user_text
from evallock.traces._otlp_json import logs_from_json, spans_from_mapping
from evallock.traces._span_keys import key_text
from evallock.traces._spans import LogEvent, Rejections, Span
from evallock.traces._summary import summarise_spans
from evallock.traces._tools import tool_call

__all__ = ["read_trace_file"]

_KeyValue = str | int | float | bool | None


class _TraceLine(BaseModel):
    """One JSONL trace summary (DESIGN §6)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    trace_id: str
    timestamp: AwareDatetime
    input: str | list[dict[str, Any]] | None = None
    output: str | None = None
    latency_ms: NonNegativeFloat | None = None
    ttft_ms: NonNegativeFloat | None = None
    tokens_in: Annotated[int, Field(ge=0, le=MAX_COUNT)] | None = None
    tokens_out: Annotated[int, Field(ge=0, le=MAX_COUNT)] | None = None
    cost: NonNegativeFloat | None = None
    error: str | None = None
    model: str | None = None
    keys: dict[str, _KeyValue] = {}
    extra: dict[str, Any] = {}
    messages: list[dict[str, Any]] | None = None
    vars: dict[str, Any] = {}
    tool_calls: list[dict[str, Any]] = []
    tools: list[dict[str, Any]] = []
    session_id: str | None = None
    feedback: Literal["up", "down"] | float | None = None

    @field_validator("trace_id")
    @classmethod
    def _hex(cls, value: str) -> str:
        return normalise_trace_id(value)

    @field_validator("tool_calls")
    @classmethod
    def _calls(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for index, item in enumerate(value):
            if tool_call(item) is None:
                raise ValueError(f"item {index} names no tool (expected a `name`)")
        return value


def _problem(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p)[:64] for p in item["loc"]) or "line"
        message = "unknown field" if item["type"] == "extra_forbidden" else item["msg"]
        parts.append(f"{where}: {message.removeprefix('Value error, ')}")
    return "; ".join(parts)


def _trace(line: _TraceLine) -> Trace:
    check_depth("extra", line.extra)  # before its values are written as JSON text
    check_depth("tool_calls", line.tool_calls)
    check_depth("tools", line.tools)
    messages: list[Message] | None = line.messages
    text = line.input
    if isinstance(line.input, list):
        messages = line.input
        text = last_user_text(messages)
    keys: dict[str, str] = {}
    for name, value in (*line.extra.items(), *line.keys.items()):
        value_text = key_text(value)
        if value_text is not None:
            keys[name] = value_text
    if line.session_id:
        keys["session_id"] = line.session_id
    return Trace(
        trace_id=line.trace_id,
        timestamp=line.timestamp,
        input=text if isinstance(text, str) else None,
        output=line.output,
        latency_ms=line.latency_ms,
        ttft_ms=line.ttft_ms,
        tokens_in=line.tokens_in,
        tokens_out=line.tokens_out,
        cost=line.cost,
        model=line.model,
        error=line.error,
        keys=keys,
        source="import",
        messages=messages,
        vars=dict(line.vars),
        tool_calls=[call for call in map(tool_call, line.tool_calls) if call is not None],
        tools=list(line.tools),
    )


def _feedback(line: _TraceLine) -> Feedback | None:
    if line.feedback is None:
        return None
    label = line.feedback if isinstance(line.feedback, str) else None
    score = line.feedback if not isinstance(line.feedback, str) else None
    rating, number = rating_of(label, score, "feedback")
    return Feedback(
        feedback_id=feedback_id_of("import", line.trace_id, rating),
        trace_id=line.trace_id,
        rating=rating,
        score=number,
        source="import",
        name="user_feedback",
    )


MAX_FILE_BYTES = 2 * 1024**3
"""The most a trace file may hold once decompressed (2 GiB)."""


def _read(file: Path) -> str:
    import gzip
    import zlib

    try:
        if file.suffix.lower() != ".gz":
            return file.read_text(encoding="utf-8")
        with gzip.open(file, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise UsageError(f"{file}: decompresses past {MAX_FILE_BYTES:,} bytes; split it")
        return data.decode("utf-8")
    except FileNotFoundError:
        raise UsageError(f"{file}: no such file") from None
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        raise UsageError(f"{file}: cannot read: {exc}") from None


def _summary_line(line: _TraceLine, traces: list[Trace], feedback: list[Feedback]) -> None:
    """Add a JSONL line's trace (and rating), checked against the field limits.

    Raises:
        FieldLimitError: a value past its limit.
        FeedbackError: an unusable ``feedback``.
    """
    trace = _trace(line)
    check_trace(trace)
    rating = _feedback(line)
    if rating is not None:
        check_feedback(rating, field="feedback.")
        feedback.append(rating)
    traces.append(trace)


def _lines(text: str) -> list[str]:
    # Only newlines end a line: U+2028 or U+0085 (which splitlines() splits on) may sit in a string.
    return text.split("\n")


def read_trace_file(path: str | Path) -> TraceFile:
    """Read a trace file (DESIGN §6 JSONL, or an OTLP JSON export, one request a line).

    JSONL summaries come first, in file order, then the traces of OTLP lines in
    order of first appearance; every trace has ``source="import"``.

    Raises:
        CaseFileError: one ``file:line: reason`` per bad line (malformed, or a value
            past its limit); nothing is returned.
        UsageError: the file is missing or unreadable.
    """
    file = Path(path)
    problems: list[str] = []
    traces: list[Trace] = []
    feedback: list[Feedback] = []
    spans: list[Span] = []
    logs: list[LogEvent] = []
    log_rejections = Rejections()
    first_line: dict[str, int] = {}
    for number, raw_line in enumerate(_lines(_read(file)), start=1):
        stripped = raw_line.strip()
        if not stripped:
            continue
        where = f"{file}:{number}"
        try:
            raw = orjson.loads(stripped)
        except orjson.JSONDecodeError as exc:
            problems.append(f"{where}: invalid JSON: {exc}")
            continue
        if not isinstance(raw, dict):
            problems.append(f"{where}: expected a JSON object, got {type(raw).__name__}")
        elif "resourceSpans" in raw or "resource_spans" in raw:
            try:
                decoded = spans_from_mapping(raw)
            except (OtlpDecodeError, FieldLimitError) as exc:
                problems.append(f"{where}: {exc}")
                continue
            if decoded.rejections.count:
                problems.append(f"{where}: {decoded.rejections.message('span')}")
            for span in decoded.spans:
                span.where = f"{where}: {span.where}"
            spans.extend(decoded.spans)
        elif "resourceLogs" in raw or "resource_logs" in raw:
            try:
                decoded = logs_from_json(stripped.encode())
            except (OtlpDecodeError, FieldLimitError) as exc:
                problems.append(f"{where}: {exc}")
                continue
            if decoded.rejections.count:
                problems.append(f"{where}: {decoded.rejections.message('log record')}")
            for event in decoded.logs:
                event.where = f"{where}: {event.where}"
            logs.extend(decoded.logs)
        else:
            try:
                line = _TraceLine.model_validate(raw)
            except ValidationError as exc:
                problems.append(f"{where}: {_problem(exc)}")
                continue
            if line.trace_id in first_line:
                first = first_line[line.trace_id]
                problems.append(
                    f"{where}: duplicate trace_id {line.trace_id} (first at line {first})"
                )
                continue
            first_line[line.trace_id] = number
            try:
                _summary_line(line, traces, feedback)
            except (FieldLimitError, FeedbackError) as exc:
                problems.append(f"{where}: {exc}")
    if problems:
        raise CaseFileError(problems)
    try:
        summaries = summarise_spans(spans)
        summaries.check()  # the fields are named from "file:line: resourceSpans[…]…" on
        from_logs = summarise_logs(logs, log_rejections)
        from_logs.check()
    except FieldLimitError as exc:
        raise CaseFileError([str(exc)]) from None
    if log_rejections.count:
        raise CaseFileError([log_rejections.message("log record")])
    traces.extend(dataclasses.replace(trace, source="import") for trace in summaries.traces)
    traces.extend(dataclasses.replace(trace, source="import") for trace in from_logs.traces)
    feedback.extend(summaries.feedback)
    feedback.extend(from_logs.feedback)
    if not traces and not feedback:
        raise CaseFileError([f"{file}: no traces"])
    return TraceFile(
        traces=traces, feedback=feedback, span_traces={**from_logs.spans, **summaries.spans}
    )
