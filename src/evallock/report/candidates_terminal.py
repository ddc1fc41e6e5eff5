"""The terminal view of candidates (rich): the review queue, one candidate, a promotion.

Inputs, outputs, comments and keys come from production traffic: every one is
shown through :func:`~evallock.report.terminal.safe_text` (plain text, control
sequences removed, length bound), never parsed as markup.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from rich.console import Console
from rich.table import Table
from rich.text import Text

from evallock.feedback import Candidate, CandidateDetail, PromoteResult, ProposalPlan
from evallock.report.terminal import safe_text, terminal_safe

__all__ = ["print_candidate", "print_candidates", "print_promotion", "print_proposal"]

_STATE_STYLE = {
    "pending": "yellow",
    "accepted": "green",
    "rejected": "dim",
    "promoted": "bold green",
}


def _keys(keys: dict[str, str], limit: int = 160) -> Text:
    shown = ("intent", "customer_tier", "feature", "language", "prompt_version")
    return safe_text(" ".join(f"{k}={keys[k]}" for k in shown if keys.get(k)), limit)


def print_candidates(candidates: Sequence[Candidate], console: Console) -> None:
    """The review queue: one row per candidate, the most traces first."""
    if not candidates:
        console.print("no candidates (propose some: evallock candidates propose)")
        return
    table = Table(title=f"{len(candidates)} candidate(s)", title_justify="left")
    for column in ("id", "state", "traces", "keys", "input", "reason"):
        # keys fold rather than end in "…": each name=value is what tells candidates apart
        table.add_column(
            column,
            no_wrap=column in ("id", "state", "traces"),
            overflow="fold" if column == "keys" else "ellipsis",
        )
    for c in candidates:
        state = Text(terminal_safe(c.state), style=_STATE_STYLE.get(c.state, ""))
        if c.duplicate_of:
            state.append(" dup of ", style="dim")
            state.append_text(safe_text(c.duplicate_of, 40))
        table.add_row(
            safe_text(c.candidate_id, 40),
            state,
            str(c.trace_count),
            _keys(c.keys),
            safe_text(c.input, 70),
            safe_text(c.reason, 50),
        )
    console.print(table)


def _field(label: str, value: str | None, limit: int = 400) -> Text:
    line = Text(f"{label:<12}", style="bold")
    return line.append_text(safe_text(value, limit) if value else Text("—", style="dim"))


def print_candidate(detail: CandidateDetail, console: Console) -> None:
    """One candidate in full, with its audit trail."""
    c = detail.candidate
    console.print(_field("candidate", c.candidate_id))
    state = Text(terminal_safe(c.state), style=_STATE_STYLE.get(c.state, ""))
    console.print(Text(f"{'state':<12}", style="bold") + state)
    console.print(_field("trace", c.trace_id))
    if c.trace_count > 1:
        more = ", ".join(c.trace_ids[1:6]) + (" …" if c.trace_count > 6 else "")
        console.print(_field("merged", f"{c.trace_count - 1} more: {more}"))
    console.print(_field("keys", " ".join(f"{k}={v}" for k, v in c.keys.items())))
    console.print(_field("reason", c.reason))
    console.print(_field("input", c.input, 2000))
    if c.conversation is not None:
        session = c.conversation
        console.print(_field("session", f"{session.session_id} ({len(session.trace_ids)} traces)"))
        for turn in session.turns:
            console.print(_field("then asked", turn, 2000))
        for name, result in sorted(session.tool_results.items()):
            console.print(_field("tool", f"{name} → {result}", 400))
    console.print(_field("answered", c.output, 2000))
    if c.duplicate_of:
        console.print(_field("duplicate of", f"golden case {c.duplicate_of}"))
    console.print(_field("expected", c.expected))
    if c.asserts:
        console.print(_field("assert", orjson.dumps(list(c.asserts)).decode()))
    if c.vars:
        console.print(_field("vars", orjson.dumps(c.vars).decode()))
    console.print(_field("note", c.note))
    if c.case_id:
        console.print(_field("promoted", f"{c.promoted_to} as {c.case_id} ({c.dataset_id})"))
    console.print(Text("audit trail", style="bold"))
    for event in detail.events:
        line = Text(f"  {event.at:%Y-%m-%d %H:%M:%S}  ")
        line.append_text(safe_text(event.actor, 40))
        line.append("  ").append_text(safe_text(event.action, 40)).append("  ")
        line.append_text(safe_text(orjson.dumps(event.detail).decode(), 160))
        console.print(line)


def print_proposal(plan: ProposalPlan, console: Console) -> None:
    """What ``candidates propose`` did."""
    merged = sum(len(t) for t in plan.merges.values())
    console.print(
        f"{plan.signals} signalled trace(s): {len(plan.new)} new candidate(s), "
        f"{merged} trace(s) merged into {len(plan.merges)} existing"
    )
    if plan.new:
        print_candidates(plan.new, console)


def print_promotion(result: PromoteResult, console: Console) -> None:
    """What ``candidates promote`` wrote, and the new dataset id."""
    if not result.written and not result.linked:
        console.print("nothing to promote: no accepted candidates")
        return
    for candidate_id, case_id in result.written:
        line = Text("promoted ")
        line.append_text(safe_text(candidate_id, 40)).append(" as ")
        line.append_text(safe_text(case_id, 60)).append(" (lock)")
        console.print(line)
    for candidate_id, case_id in result.linked:
        line = Text("already in the file: ")
        line.append_text(safe_text(candidate_id, 40)).append(" is ")
        line.append_text(safe_text(case_id, 60))
        console.print(line)
    summary = Text(f"{len(result.written)} line(s) appended to ")
    summary.append_text(safe_text(result.path, 200))
    console.print(summary)
    console.print(Text("dataset_id ") + safe_text(result.dataset_id, 80))
