"""The terminal view of a run (rich): verdict, figures with intervals, failing cases.

Outputs are hostile text: they are shown as plain ``Text`` (never parsed as
markup) with control characters removed, so an answer cannot restyle or
rewrite the terminal.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from evallock.evaluation import EvalOutcome
from evallock.report._sanitize import terminal_safe

__all__ = ["plain_text", "print_locks_failed", "print_run", "safe_text", "terminal_safe"]


def safe_text(value: str | None, limit: int = 120) -> Text:
    """One line of plain ``Text``: escape sequences and controls removed, length bound."""
    if not value:
        return Text("")
    flat = " ".join(terminal_safe(value, newlines=False).split())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return Text(flat)


def plain_text(value: str, style: str = "") -> Text:
    """Plain ``Text`` keeping its lines: escape sequences and controls removed, never markup."""
    return Text(terminal_safe(value), style=style)


def print_run(outcome: EvalOutcome, console: Console, *, max_rows: int = 30) -> None:
    """Print the run: failing cases, then the figures, then the verdict and why."""
    gate = outcome.gate
    failing = [r for r in outcome.notable if not r.passed or r.flaky]
    total = outcome.not_passing_or_flaky
    if failing:
        table = Table(title=f"{total} case(s) not passing or flaky", title_justify="left")
        table.add_column("case", no_wrap=True)
        table.add_column("", no_wrap=True)
        table.add_column("reason")
        table.add_column("output")
        for result in failing[:max_rows]:
            flags = []
            if result.lock:
                flags.append("LOCK")
            if result.errored:
                flags.append("error")
            if result.flaky:
                flags.append(f"flaky {result.trials_passed}/{result.trials}")
            if result.case_id in gate.new_failures:
                flags.append("new")
            table.add_row(
                safe_text(result.case_id, 40),
                Text(" ".join(flags), style="bold red" if result.lock else "yellow"),
                safe_text(result.error or result.reason, 90),
                safe_text(result.output, 70),
            )
        console.print(table)
        shown = min(len(failing), max_rows)
        if total > shown:
            console.print(f"… and {total - shown} more (see --json)")
    ci = gate.pass_rate_ci
    summary = Text()
    summary.append_text(safe_text(outcome.dataset.dataset_id, 200))
    summary.append("  run ").append_text(safe_text(outcome.run.run_id, 200))
    summary.append("\n")
    summary.append(
        f"pass rate {gate.pass_rate:.1%} ({gate.passed}/{gate.n}), "
        f"95% CI [{ci.lo:.1%}, {ci.hi:.1%}]  ·  failed {gate.failed}  ·  errored {gate.errored}"
        f"  ·  flaky {len(gate.flaky)}\n"
    )
    baseline = gate.baseline_run_id or "none"
    summary.append("baseline ").append_text(safe_text(baseline, 200))
    summary.append(f"  ·  new failures {len(gate.new_failures)}")
    summary.append(f"  ·  locks failed {len(gate.locks_failed)}")
    if gate.locks_errored:
        summary.append(f"  ·  locks errored {len(gate.locks_errored)}")
    stats = outcome.stats
    if stats.judge_errors:
        summary.append(f"  ·  judge errors {stats.judge_errors}", style="yellow")
    summary.append(f"\n{stats.asked} answers in {stats.seconds:.2f}s, {stats.retries} retries")
    if stats.cache_hits:
        summary.append(f", {stats.cache_hits} from the target cache")
    console.print(summary)
    for warning in gate.warnings:
        console.print(Text("note: ", style="yellow") + safe_text(warning, 400))
    if gate.verdict == "pass":
        console.print(Text("GATE PASSED", style="bold green"))
    else:
        console.print(Text("GATE FAILED", style="bold red"))
        for reason in gate.reasons:
            console.print(Text("  • ") + safe_text(reason, 300))
        print_locks_failed(outcome, console)


def print_locks_failed(outcome: EvalOutcome, console: Console) -> None:
    """A failed lock is a fixed bug that came back: name its trace and the bug it guards.

    A lock that errored was not checked: it is said so, with the error, never as a bug
    that came back.
    """
    notable = {r.case_id: r for r in outcome.notable if r.lock}
    for case_id in outcome.gate.locks_errored:
        line = Text("  lock not checked (it errored): ", style="bold yellow")
        line.append_text(safe_text(case_id, 60))
        result = notable.get(case_id)
        if result is not None and result.error:
            line.append(" · ").append_text(safe_text(result.error, 300))
        console.print(line)
    sources = {case_id: r.source for case_id, r in notable.items()}
    for case_id in outcome.gate.locks_failed:
        source = sources.get(case_id)
        line = Text("  a fixed bug came back: ", style="bold red")
        line.append_text(safe_text(case_id, 60))
        if source is not None and source.session_id:
            line.append(" · session ").append_text(safe_text(source.session_id, 64))
        if source is not None and source.trace_id:
            line.append(" · trace ").append_text(safe_text(source.trace_id, 64))
        if source is not None and source.note:
            line.append(" · ").append_text(safe_text(source.note, 300))
        result = notable.get(case_id)
        if result is not None and result.tool_calls:
            line.append(" · called ").append_text(safe_text(result.trajectory, 200))
        console.print(line)
