"""``evallock traces``: import trace files, list traces by time and key, show one trace."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from evallock.cli._options import ConfigOption, StoreOption

__all__ = ["traces_app"]

traces_app = typer.Typer(
    name="traces",
    help=(
        "Trace summaries: backfill from files, list by time and key, show one with its "
        "feedback.\n\nExample: evallock traces list --since 1d --key prompt_version=refund-v4"
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

_JsonOpt = Annotated[
    Path | None, typer.Option("--json", help="Also write JSON here ('-' for stdout only).")
]


@traces_app.command("import")
def import_traces(
    file: Annotated[
        Path,
        typer.Argument(
            help="JSONL trace summaries, or OTLP JSON trace or log exports one a line"
            " (the collector's file exporter); .gz is read through gzip."
        ),
    ],
    store: StoreOption = None,
    config: ConfigOption = None,
) -> int:
    """Backfill traces (and their feedback) from a file; a bad line stops it before any write.

    A line is a trace summary, an OTLP ExportTraceServiceRequest or an OTLP
    ExportLogsServiceRequest in JSON (evaluation events become feedback).

    Lines are reported as file:line: what is wrong. A trace already stored is merged,
    not duplicated, so importing a file twice is harmless.

    Example: evallock traces import exported/traces.jsonl --store sqlite:///.evallock/evallock.db
    """
    from evallock.cli._common import load, open_store_for, out_console
    from evallock.traces import read_trace_file

    loaded = read_trace_file(file)
    opened = open_store_for(load(config, store))
    try:
        new = opened.traces.add(loaded.traces, spans=loaded.span_traces) if loaded.traces else 0
        rated = opened.feedback.add(loaded.feedback) if loaded.feedback else 0
    finally:
        opened.close()
    from evallock.report import terminal_safe

    out_console().print(
        terminal_safe(
            f"imported {len(loaded.traces)} traces ({new} new) and {len(loaded.feedback)} "
            f"feedback items ({rated} new) from {file}"
        ),
        markup=False,
        highlight=False,
    )
    return 0


@traces_app.command("list")
def list_traces(
    since: Annotated[
        str | None, typer.Option(help="ISO 8601 time or a duration back from now (30m, 12h, 7d).")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="ISO 8601 time or a duration back from now.")
    ] = None,
    key: Annotated[
        list[str] | None,
        typer.Option("--key", help="Only traces with this key k=v (repeatable; all must match)."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many traces.")] = 50,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many first.")] = 0,
    oldest_first: Annotated[bool, typer.Option("--oldest-first", help="Oldest first.")] = False,
    json_out: _JsonOpt = None,
    store: StoreOption = None,
    config: ConfigOption = None,
) -> int:
    """List trace summaries, newest first, with their keys.

    Example: evallock traces list --since 1d --key prompt_version=refund-v4 --key customer_tier=enterprise
    """
    from rich.table import Table

    from evallock.cli._common import load, open_store_for, out_console
    from evallock.keys import parse_key_flags
    from evallock.report.terminal import safe_text
    from evallock.server import TraceQuery

    query = TraceQuery(
        since=_time("--since", since),
        until=_time("--until", until),
        keys=parse_key_flags(key or []),
        limit=limit,
        offset=offset,
        newest_first=not oldest_first,
    )
    opened = open_store_for(load(config, store))
    try:
        found = query.run(opened)
        total = query.count(opened)
    finally:
        opened.close()
    if json_out is not None and _write_json(json_out, {"traces": found, "total": total}):
        return 0
    console = out_console()
    if not found:
        console.print(f"no traces match ({total} in total with these filters)", markup=False)
        return 0
    table = Table("started (UTC)", "trace id", "source", "keys", "input", "output", "ms", "tokens")
    for trace in found:
        tokens = "" if trace.tokens_in is None else f"{trace.tokens_in}/{trace.tokens_out or 0}"
        table.add_row(
            trace.timestamp.strftime("%Y-%m-%d %H:%M:%S"),
            safe_text(trace.trace_id, 64),
            safe_text(trace.source, 10),
            safe_text(_keys_text(trace.keys), 400),
            safe_text(trace.input, 50),
            safe_text((trace.error and f"ERROR {trace.error}") or trace.output, 50),
            "" if trace.latency_ms is None else f"{trace.latency_ms:.0f}",
            tokens,
        )
    console.print(table)
    shown_to = offset + len(found)
    console.print(f"{offset + 1}–{shown_to} of {total}", markup=False, highlight=False)
    return 0


@traces_app.command("show")
def show(
    trace_id: Annotated[str, typer.Argument(help="The trace id (32 hex digits).")],
    json_out: _JsonOpt = None,
    store: StoreOption = None,
    config: ConfigOption = None,
) -> int:
    """Show one trace: input messages, output, tool calls, timing, usage, keys, template
    vars, its feedback and its drift judge scores with the judge's reasons.

    Example: evallock traces show 4bf92f3577b34da6a3ce929d0e0e4736
    """
    from rich.table import Table

    from evallock.cli._common import load, open_store_for, out_console
    from evallock.errors import UsageError
    from evallock.report.terminal import plain_text
    from evallock.traces import normalise_trace_id

    try:
        wanted = normalise_trace_id(trace_id)
    except ValueError as exc:
        raise UsageError(f"TRACE_ID: {exc}") from None
    opened = open_store_for(load(config, store))
    try:
        trace = opened.traces.get(wanted)
        feedback = opened.feedback.find(trace_id=wanted)
        judged = opened.reports.judgements(wanted)
    finally:
        opened.close()
    if trace is None:
        raise UsageError(
            f"no trace {wanted}"
            + (f" ({len(feedback)} feedback waiting for it)" if feedback else "")
        )
    payload = {"trace": trace, "feedback": feedback, "judge": judged}
    if json_out is not None and _write_json(json_out, payload):
        return 0
    console = out_console()
    fields = Table(show_header=False, box=None, pad_edge=False)
    fields.add_column(style="bold")
    fields.add_column()
    rows: list[tuple[str, Any]] = [
        ("trace id", trace.trace_id),
        ("started", trace.timestamp.isoformat()),
        ("source", trace.source),
        ("model", trace.model),
        ("latency ms", None if trace.latency_ms is None else f"{trace.latency_ms:.1f}"),
        ("ttft ms", None if trace.ttft_ms is None else f"{trace.ttft_ms:.1f}"),
        (
            "tokens in/out",
            None
            if trace.tokens_in is None and trace.tokens_out is None
            else f"{trace.tokens_in}/{trace.tokens_out}",
        ),
        ("cost", None if trace.cost is None else f"{trace.cost:.6g}"),
        ("error", trace.error),
    ]
    rows += [(f"key {name}", value) for name, value in sorted(trace.keys.items())]
    rows += [(f"var {name}", _var(value)) for name, value in sorted(trace.vars.items())]
    # Every label and value is plain Text: a key named "[link=…]" or holding ESC is
    # shown as the characters it is, never as markup or a terminal sequence.
    for label, value in rows:
        if value is not None and value != "":
            fields.add_row(plain_text(label), plain_text(str(value)))
    console.print(fields)
    for message in trace.messages or []:
        role = str(message.get("role", "?")) if isinstance(message, dict) else "?"
        content = message.get("content") if isinstance(message, dict) else message
        console.print(plain_text(f"\n[{role}]", style="bold"))
        console.print(plain_text(content if isinstance(content, str) else _dump(content)))
    if not trace.messages and trace.input:
        console.print(plain_text("\n[input]", style="bold"))
        console.print(plain_text(trace.input))
    if trace.output:
        console.print(plain_text("\n[output]", style="bold"))
        console.print(plain_text(trace.output))
    for call in trace.tool_calls:
        console.print(
            plain_text(
                f"\n[tool call] {call.name}" + (f" ({call.id})" if call.id else ""), style="bold"
            )
        )
        console.print(plain_text(f"arguments: {call.arguments}"))
        if call.result is not None:
            console.print(plain_text(f"result: {call.result}"))
    console.print(plain_text(f"\nfeedback: {len(feedback)}", style="bold"))
    for item in feedback:
        line = f"- {item.rating} ({item.source}{', ' + item.name if item.name else ''}) id={item.feedback_id}"
        console.print(plain_text(line + (f": {item.comment}" if item.comment else "")))
    console.print(plain_text(f"\njudge scores: {len(judged)}", style="bold"))
    for verdict in judged:
        score = "error" if verdict.score is None else f"{verdict.score}/5"
        line = (
            f"- {score} by {verdict.judge_version} (drift report {verdict.report_id},"
            f" {verdict.judged_at:%Y-%m-%d %H:%M}Z): {verdict.reason}"
        )
        console.print(plain_text(line))
    return 0


def _var(value: Any) -> str:
    return value if isinstance(value, str) else _dump(value)


def _time(flag: str, value: str | None) -> Any:
    from evallock.errors import UsageError
    from evallock.server import parse_time

    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueError as exc:
        raise UsageError(f"{flag} {exc}") from None


def _keys_text(keys: dict[str, str]) -> str:
    return " ".join(f"{name}={value}" for name, value in sorted(keys.items()))


def _dump(value: Any) -> str:
    import orjson

    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()


def _write_json(path: Path, payload: Any) -> bool:
    """Write ``payload`` as JSON to ``path`` (``-``: stdout); True when stdout took it."""
    import sys

    import orjson

    data = orjson.dumps(payload, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)
    if str(path) == "-":
        sys.stdout.write(data.decode() + "\n")
        return True
    path.write_bytes(data + b"\n")
    return False
