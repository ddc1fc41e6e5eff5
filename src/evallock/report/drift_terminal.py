"""The terminal view of a drift check (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from evallock.drift import DriftReport, EmbeddingDrift, KeyShift
from evallock.report.terminal import safe_text

__all__ = ["print_drift"]


def print_drift(
    report: DriftReport,
    inputs: list[KeyShift],
    console: Console,
    *,
    history: bool = False,
    embedding: EmbeddingDrift | None = None,
) -> None:
    """Figures with intervals, slices, detectors (and the batch series with ``history``)."""
    console.print(
        safe_text(
            f"window {report.window}: {report.available} traces, {report.n_samples} judged"
            f" ({report.judge_errors} judge errors), judge {report.judge_version}",
            400,
        )
    )
    console.print(
        Text(
            f"mean {report.mean:.2f} [{report.mean_ci.lo:.2f}, {report.mean_ci.hi:.2f}] · p10 "
            f"{report.p10:.0f} · bad share {report.bad_share:.1%} [{report.bad_share_ci.lo:.1%}, "
            f"{report.bad_share_ci.hi:.1%}]"
        )
    )
    delta = f"Δ {report.delta:+.2f}"
    if report.delta_ci is not None:
        delta += f" [{report.delta_ci.lo:+.2f}, {report.delta_ci.hi:+.2f}]"
    console.print(
        safe_text(f"baseline {report.baseline.mean:.2f} ({report.baseline.source}) · {delta}", 400)
    )
    shares = ", ".join(f"{name} {value:.3g}" for name, value in report.rule_alpha.items())
    stratified = (
        f" · post-stratified, design effect {report.design_effect:.2f}"
        if report.design_effect is not None
        else ""
    )
    console.print(
        Text(
            f"false-alarm rate of this report ≤ {report.alpha:g} ({shares}){stratified}",
            style="dim",
        )
    )
    found = report.score_distribution
    if found is not None:
        console.print(
            Text(
                f"score distribution vs baseline: {found.method} χ² {found.statistic or 0:.2f},"
                f" df {found.details.get('df')}, p {found.p_value:.3g} (shown, not part of the"
                " alert)",
                style="dim",
            )
        )
    if report.slices:
        table = Table(title="slices (Holm-adjusted)", title_justify="left")
        # a slice label is never cut to "customer_tier=c…": it folds onto the next line
        table.add_column("slice", overflow="fold")
        for column in ("n", "mean [95% CI]", "baseline", "Δ", "p adj", "alert"):
            table.add_column(column)
        for s in report.slices:
            ci = f" [{s.mean_ci.lo:.2f}, {s.mean_ci.hi:.2f}]" if s.mean_ci else ""
            table.add_row(
                safe_text(s.label, 50),
                str(s.n_samples),
                "insufficient data" if s.mean is None else f"{s.mean:.2f}{ci}",
                f"{s.baseline_mean:.2f}",
                "" if s.delta is None else f"{s.delta:+.2f}",
                "" if s.p_adjusted is None else f"{s.p_adjusted:.3g}",
                Text("ALERT", style="bold red") if s.alert else "",
            )
        console.print(table)
    for d in report.detectors:
        fired = ", ".join(d.fired_at) if d.fired_at else "quiet"
        real = (
            f"; on a baseline of ~{d.warmup} batches the median chart's ARL0 is"
            f" {d.arl0_median:.0f} and one in ten is below {d.arl0_low:.0f}"
            if d.arl0_median is not None and d.arl0_low is not None
            else ""
        )
        console.print(
            safe_text(
                f"{d.name} (signal, not in the alert): limit {d.limit:.2f}, ARL0 {d.arl0:.0f}"
                f" with a known baseline{real} — {fired}",
                400,
            )
        )
    if history and report.batches:
        table = Table(title="batches", title_justify="left")
        for column in ("batch", "n", "mean", "bad share", "z", "fired"):
            table.add_column(column)
        for b in report.batches:
            table.add_row(
                f"{b.start:%Y-%m-%d %H:%M}",
                str(b.n),
                f"{b.mean:.2f}",
                f"{b.bad_share:.0%}",
                f"{b.z:+.2f}",
                Text(", ".join(b.fired), style="red") if b.fired else "",
            )
        console.print(table)
    for k in inputs:
        # Key names and values come from traffic.
        console.print(
            safe_text(
                f"input mix {k.key}: PSI {k.psi:.3f} ({k.level}), chi² p {k.p_value:.3g};"
                f" {k.biggest_change}",
                400,
            )
        )
    if embedding is not None:
        console.print(
            Text(
                f"input texts: MMD² {embedding.mmd2:.4f}, permutation p {embedding.p_value:.3g} "
                f"({embedding.n_current} vs {embedding.n_baseline} inputs); "
                "least like the baseline:"
            )
        )
        for example in embedding.examples:
            console.print(Text("  • ") + safe_text(example, 160))
    for note in report.notes:
        console.print(Text("note: ", style="yellow") + safe_text(note, 300))
    if not report.trustworthy:
        console.print(
            Text(
                "NOT TRUSTWORTHY: more than a quarter of the sample errs at the judge",
                style="bold red",
            )
        )
    if report.alert:
        console.print(Text("DRIFT ALERT", style="bold red"))
        for reason in report.reasons:
            console.print(Text("  • ") + safe_text(reason, 300))
    else:
        console.print(Text("no drift", style="bold green"))
