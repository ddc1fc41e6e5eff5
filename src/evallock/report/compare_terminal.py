"""The terminal views of ``compare`` and ``coverage`` (rich): slices, intervals, flags.

Slice values and complaint texts come from production traffic and are shown
through :func:`~evallock.report.terminal.safe_text`, never parsed as markup.
"""

from __future__ import annotations

import orjson
from rich.console import Console
from rich.table import Table
from rich.text import Text

from evallock.analysis import CoverageReport, OfflineOnline, OfflineOnlineSlice, SliceChange
from evallock.report.terminal import plain_text, safe_text
from evallock.stats import Interval

__all__ = ["print_coverage", "print_offline_online"]

_FLAG_STYLE = {
    "offline win, online loss": "bold red",
    "no offline coverage": "yellow",
    "no online traffic": "dim",
}


def _rate(value: float | None, ci: Interval | None, n: int | None = None) -> str:
    if value is None:
        return "—"
    text = f"{value:.1%}"
    if ci is not None:
        text += f" [{ci.lo:.1%}, {ci.hi:.1%}]"
    return text + (f" n={n}" if n is not None else "")


def _mean(value: float | None, ci: Interval | None, n: int) -> str:
    if value is None:
        return "—"
    text = f"{value:.2f}"
    if ci is not None:
        text += f" [{ci.lo:.2f}, {ci.hi:.2f}]"
    return f"{text} n={n}"


def _delta(value: float | None, ci: Interval | None, *, percent: bool) -> str:
    if value is None:
        return ""
    if percent:
        text = f"{value:+.1%}"
        return text + (f" [{ci.lo:+.1%}, {ci.hi:+.1%}]" if ci is not None else "")
    text = f"{value:+.2f}"
    return text + (f" [{ci.lo:+.2f}, {ci.hi:+.2f}]" if ci is not None else "")


def _slice(row: OfflineOnlineSlice) -> Text:
    return safe_text(" ".join(f"{k}={v or '∅'}" for k, v in row.slice.as_dict().items()), 60)


def _change(change: SliceChange | None) -> Text:
    if change is None:
        return Text("")
    versus = " ".join(f"{v or '∅'}" for v in change.versus.values())
    text = Text("vs ") + safe_text(versus, 30)
    if change.offline_delta is not None:
        basis = "" if change.offline_basis == "slice" else " (run)"
        text.append(
            f"\noffline {_delta(change.offline_delta, change.offline_ci, percent=True)}{basis}"
        )
    if change.thumbs_down_delta is not None:
        text.append(f"\n👎 {_delta(change.thumbs_down_delta, change.thumbs_down_ci, percent=True)}")
    if change.judge_delta is not None:
        text.append(f"\njudge {_delta(change.judge_delta, change.judge_ci, percent=False)}")
    return text


def _flags(row: OfflineOnlineSlice) -> Text:
    text = Text()
    for i, flag in enumerate(row.flags):
        if i:
            text.append("\n")
        text.append(flag, style=_FLAG_STYLE.get(flag, ""))
    if not row.flags and row.change is not None and row.change.verdict == "inconclusive":
        text.append("inconclusive", style="dim")
    return text


def print_offline_online(joined: OfflineOnline, console: Console) -> None:
    """One row per slice: offline score, online outcome, change since the last version, flags."""
    if not joined.slices:
        console.print("nothing to compare: no complete runs and no traces in the window")
        return
    if joined.runs:
        head = Text("offline side: ", style="bold")
        head.append_text(safe_text(joined.offline_rule, 200))
        if joined.dataset_name:
            head.append(" · case file ").append_text(safe_text(joined.dataset_name, 80))
        console.print(head)
    for run in joined.runs:
        line = Text("  run ")
        line.append_text(safe_text(run.run.run_id, 40))
        versions = " ".join(
            f"{k}={v}" for k, v in run.run.keys.items() if k in ("prompt_version", "model_version")
        )
        line.append("  ").append_text(safe_text(versions, 80))
        rate = sum(run.passes.values()) / len(run.passes) if run.passes else None
        line.append(
            f"  {run.run.kind} run, {run.run.verdict or run.run.status}"
            + (f", pass rate {rate:.1%} of {len(run.passes)}" if rate is not None else "")
            + f", started {run.run.started_at:%Y-%m-%d %H:%M}Z, "
        )
        line.append_text(safe_text(run.run.dataset_id, 60))
        console.print(line)
    title = Text("offline ⋈ online by ") + safe_text(",".join(joined.by), 80)
    table = Table(title=title, title_justify="left")
    for column in (
        "slice",
        "offline pass [95% CI]",
        "offline judge",
        "online 👎 rate [95% CI]",
        "online errors",
        "online judge",
        "change",
        "flags",
    ):
        table.add_column(column)
    for row in joined.slices:
        off, on = row.offline, row.online
        table.add_row(
            _slice(row),
            "—" if off is None else _rate(off.pass_rate, off.pass_rate_ci, off.n),
            "—" if off is None else _mean(off.judge_mean, off.judge_ci, off.judge_n),
            "—" if on is None else _rate(on.thumbs_down_rate, on.thumbs_down_ci, on.n),
            "—" if on is None else _rate(on.error_rate, on.error_ci),
            "—" if on is None else _mean(on.judge_mean, on.judge_ci, on.judge_n),
            _change(row.change),
            _flags(row),
        )
    console.print(table)
    flagged = joined.flagged
    if flagged:
        for row in flagged:
            console.print(Text("offline win, online loss: ", style="bold red") + _slice(row))
    else:
        console.print("no slice is an offline win and an online loss")


def print_coverage(report: CoverageReport, console: Console) -> None:
    """Complaint slices by volume, their golden cases, and a next case for each."""
    if not report.slices:
        console.print("no complaints in the window (no thumbs-downs, no bad judge scores)")
        return
    title = Text("complaints by ") + safe_text(",".join(report.by), 60)
    title.append(" vs ").append_text(safe_text(report.dataset_id, 60))
    table = Table(title=title, title_justify="left")
    for column in ("slice", "complaints", "rate [95% CI]", "golden cases", "most frequent"):
        table.add_column(column)
    for s in report.slices:
        label = safe_text(" ".join(f"{k}={v or '∅'}" for k, v in s.slice.as_dict().items()), 50)
        cases = (
            Text("0 — blind spot", style="bold red")
            if s.blind_spot
            else Text(f"{len(s.golden_cases)}: ") + safe_text(", ".join(s.golden_cases), 40)
        )
        top = Text(f"{s.top_count}× ") + safe_text(s.top_complaint, 60)
        table.add_row(
            label,
            f"{s.complaints} (👎 {s.thumbs_down}, judge ≤2 {s.bad_judge})",
            _rate(s.complaint_rate, s.complaint_ci, s.traces),
            cases,
            top,
        )
    console.print(table)
    for s in report.blind_spots:
        where = " ".join(f"{k}={v or '∅'}" for k, v in s.slice.as_dict().items())
        console.print(Text("blind spot: ", style="bold red") + safe_text(where, 60))
        console.print("  suggested case (edit expected and note, then append to the golden set):")
        # JSON escapes C0 controls but not C1 or bidi ones; Text is never parsed as markup.
        console.print(plain_text(orjson.dumps(s.suggestion).decode()), soft_wrap=True)
