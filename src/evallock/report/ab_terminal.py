"""The terminal view of an A/B comparison (rich): A, B, Δ with interval, p, test, verdict."""

from __future__ import annotations

import math

from rich.console import Console
from rich.table import Table
from rich.text import Text

from evallock.ab import ABOutcome
from evallock.report.terminal import safe_text

__all__ = ["print_comparison"]

_STYLE = {"B wins": "bold green", "A wins": "bold red"}


def _mean(arm: object) -> str:
    mean = getattr(arm, "mean", None)
    ci = getattr(arm, "ci", None)
    if mean is None:
        return "—"
    return f"{mean:.3f}" + (f" [{ci.lo:.3f}, {ci.hi:.3f}]" if ci is not None else "")


def print_comparison(outcome: ABOutcome, console: Console) -> None:
    """Print the table (overall, then slices), the power note and the verdict."""
    o = outcome.overall
    a, b = outcome.run_a, outcome.run_b
    for name, run in (("A", a), ("B", b)):
        spec = str(run.settings.get("spec", ""))
        console.print(Text(f"{name}: ") + safe_text(f"{run.run_id}  {spec}", 400))
    title = safe_text(outcome.dataset.dataset_id, 80) + Text(f" · metric {o.metric}")
    table = Table(title=title, title_justify="left")
    for column in ("slice", "n", "A [95% CI]", "B [95% CI]", "Δ = B − A [CI]", "p", "verdict"):
        table.add_column(column)
    table.add_row(
        "all",
        str(o.n_pairs),
        _mean(o.a),
        _mean(o.b),
        f"{o.delta:+.3f} [{o.ci.lo:+.3f}, {o.ci.hi:+.3f}]",
        f"{o.p_value:.3g}",
        Text(o.verdict, style=_STYLE.get(o.verdict, "")),
    )
    for s in outcome.slices:
        an = s.analysis
        if an is None:
            table.add_row(safe_text(s.label, 50), str(s.n_pairs), "", "", "", "", Text(s.verdict))
            continue
        p = (
            f"holm {s.p_holm:.3g} · bh {s.p_bh:.3g}"
            if s.p_holm is not None and s.p_bh is not None
            else ""
        )
        table.add_row(
            safe_text(s.label, 50),
            str(s.n_pairs),
            _mean(an.a),
            _mean(an.b),
            f"{an.delta:+.3f} [{an.ci.lo:+.3f}, {an.ci.hi:+.3f}]",
            p,
            Text(s.verdict, style=_STYLE.get(s.verdict, "")),
        )
    console.print(table)
    console.print(Text(f"test: {o.test}"))
    detail = ", ".join(f"{k} {v}" for k, v in o.details.items() if not isinstance(v, float))
    if detail:
        console.print(Text(f"counts: {detail}"))
    if o.power is not None:
        power = o.power
        mde = (
            f"minimum detectable effect {power.mde:.3f} at {o.n_pairs} pairs"
            f" (80 % power to clear the floor {outcome.min_effect:g})"
            if math.isfinite(power.mde)
            else f"no effect clears the floor with 80 % power at {o.n_pairs} pairs"
        )
        plan = (
            f"; {power.n_needed} pairs for 80 % power if B is better by {power.planning_effect:g}"
            if power.n_needed and power.planning_effect
            else ""
        )
        console.print(Text(f"power: {mde}{plan} — {power.basis}"))
    if o.noise is not None:
        console.print(
            Text(
                f"trials: K={o.noise.trials}; variance between cases "
                f"{o.noise.between_var:.4f}, within cases {o.noise.within_var:.4f} "
                f"({o.noise.within_share:.0%} of it is sampling noise)"
            )
        )
    if outcome.flaky:
        console.print(Text("flaky: ") + safe_text(", ".join(outcome.flaky), 200))
    if outcome.consistency is not None:
        console.print(
            Text(
                f"pairwise judge: {outcome.consistency:.0%} of verdicts held when the order flipped"
            )
        )
    if outcome.judge_errors:
        console.print(Text(f"judge errors: {outcome.judge_errors}", style="yellow"))
    for warning in outcome.warnings:
        console.print(Text("warning: ", style="yellow") + safe_text(warning, 300))
    verdict = Text(o.verdict.upper(), style=_STYLE.get(o.verdict, "bold"))
    if o.note:
        verdict.append(f" ({o.note})")
    console.print(verdict)
