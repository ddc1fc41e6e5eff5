"""``evallock history``: pass rate per run over time, deltas between runs, deploy marks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from evallock.cli._options import ConfigOption, StoreOption

__all__ = ["history"]


def history(
    cases: Annotated[Path, typer.Argument(help="The case file (runs are matched by its name).")],
    limit: Annotated[int, typer.Option(min=1, help="How many of the newest runs.")] = 20,
    all_kinds: Annotated[
        bool,
        typer.Option(
            "--all-kinds",
            help="Also show A/B arms and experiment runs (default: the deploys' gate runs).",
        ),
    ] = False,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the history as JSON.")
    ] = None,
    store: StoreOption = None,
    config: ConfigOption = None,
) -> int:
    """Show the pass rate of each run of a case file, with intervals and regression deltas.

    A delta between two runs that share cases is tested paired (McNemar mid-p);
    a change of prompt_version or model_version between runs is marked as a deploy.

    Example: evallock history evals/golden.jsonl --limit 10
    """
    from rich.table import Table
    from rich.text import Text

    from evallock.analysis.history import history_rows, run_history
    from evallock.cli._common import load, open_store_for, out_console
    from evallock.report.terminal import safe_text, terminal_safe

    settings = load(config, store)
    opened = open_store_for(settings)
    try:
        kinds = ("gate", "ab", "experiment") if all_kinds else ("gate",)
        points = run_history(opened, cases.stem, limit=limit, kinds=kinds)
    finally:
        opened.close()
    if json_out is not None:
        import orjson

        json_out.write_bytes(orjson.dumps(history_rows(points), option=orjson.OPT_INDENT_2))
    console = out_console()
    if not points:
        console.print(safe_text(f"no complete runs of {cases.stem} in {settings.store}", 400))
        return 0
    table = Table(title=Text("history of ") + safe_text(cases.stem, 80), title_justify="left")
    for column in (
        "run",
        "started",
        "keys",
        "verdict",
        "pass rate [95% CI]",
        "Δ [95% CI]",
        "p",
        "newly failing",
    ):
        table.add_column(column)
    for point in points:
        keys = " ".join(
            f"{k}={v}"
            for k, v in point.run.keys.items()
            if k in {"prompt_version", "model_version"}
        )
        if point.changed_keys:
            keys += " (deploy)"
        if point.judge_changed:
            keys += " (judge changed: scores not comparable)"
        delta = point.delta
        delta_text = p_text = failing = ""
        if delta is not None:
            delta_text = f"{delta.delta:+.1%} [{delta.interval.lo:+.1%}, {delta.interval.hi:+.1%}]"
            p_text = "—" if delta.p_value is None else f"{delta.p_value:.3g}"
            failing = ", ".join(delta.newly_failing[:5]) + (
                " …" if len(delta.newly_failing) > 5 else ""
            )
        verdict = point.run.verdict or ""
        table.add_row(
            safe_text(point.run.run_id, 60),
            f"{point.run.started_at:%Y-%m-%d %H:%M}",
            safe_text(keys, 60),
            Text(terminal_safe(verdict), style="green" if verdict == "pass" else "red"),
            f"{point.pass_rate:.1%} ({point.passed}/{point.n}) "
            f"[{point.interval.lo:.1%}, {point.interval.hi:.1%}]",
            delta_text,
            p_text,
            safe_text(failing, 60),
        )
    console.print(table)
    return 0
