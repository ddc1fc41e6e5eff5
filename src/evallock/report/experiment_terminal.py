"""``evallock experiment`` on the terminal: both buckets, the confidence sequence, the verdict."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from evallock.analysis import ArmOutcome, ExperimentMonitor
from evallock.report.terminal import safe_text

__all__ = ["print_experiment"]

_STYLE = {"B better": "bold green", "B worse": "bold red", "keep running": "bold"}


def _value(outcome: ArmOutcome, share: bool) -> str:
    if outcome.mean is None or outcome.ci is None:
        return "no data"
    if share:
        return f"{outcome.mean:.1%} [{outcome.ci.lo:.1%}, {outcome.ci.hi:.1%}]"
    return f"{outcome.mean:.2f} [{outcome.ci.lo:.2f}, {outcome.ci.hi:.2f}]"


def print_experiment(found: ExperimentMonitor, console: Console) -> None:
    """The table, the always-valid comparison and why it may be looked at daily."""
    share = found.metric != "judge"
    title = safe_text(f"{found.key}: {found.a.value} vs {found.b.value}", 120) + Text(
        f" · {found.metric}"
    )
    table = Table(title=title, title_justify="left")
    for column in ("bucket", "n", f"{found.metric} [95% CI at this n]"):
        table.add_column(column)
    for outcome in (found.a, found.b):
        table.add_row(safe_text(outcome.value, 60), str(outcome.n), _value(outcome, share))
    console.print(table)
    state = found.state
    if state is None or state.interval is None:
        console.print(Text("both buckets need traffic before they can be compared"))
    else:

        def unit(x: float) -> str:
            return f"{x:+.1%}" if share else f"{x:+.2f}"

        console.print(
            Text(
                f"Δ = B − A {unit(state.estimate)}; {1 - found.alpha:.0%} confidence sequence "
                f"[{unit(state.interval.lo)}, {unit(state.interval.hi)}]; always-valid p "
                f"{state.p_value:.3g} ({state.method}, effect {found.effect:g})"
            )
        )
    console.print(Text(found.verdict.upper(), style=_STYLE.get(found.verdict, "")))
    console.print(Text(found.explanation, style="dim"))
