"""``evallock coverage``: complaint slices ranked by volume, and the golden cases covering each."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from evallock.cli._options import ConfigOption, StoreOption

__all__ = ["coverage"]


def coverage(
    golden: Annotated[
        Path, typer.Option(help="The golden set to match the slices against.")
    ] = Path("evals/golden.jsonl"),
    by: Annotated[
        str, typer.Option(help="Slice keys, e.g. intent,customer_tier.")
    ] = "intent,customer_tier",
    since: Annotated[
        str | None,
        typer.Option(help="Traces from: ISO 8601 or a duration back from now (7d). Default all."),
    ] = None,
    until: Annotated[str | None, typer.Option(help="Traces until (default now).")] = None,
    max_judge_score: Annotated[
        int, typer.Option(min=1, max=5, help="A judge score at or below this is a complaint.")
    ] = 2,
    fail_on_blind_spot: Annotated[
        bool,
        typer.Option("--fail-on-blind-spot", help="Exit 1 when a complaint slice has no case."),
    ] = False,
    json_out: Annotated[
        str | None, typer.Option("--json", help="Write the report as JSON to FILE (- for stdout).")
    ] = None,
    store: StoreOption = None,
    config: ConfigOption = None,
) -> int:
    """Rank the slices with thumbs-downs or bad judge scores by volume, count the golden
    cases covering each (0 = a blind spot), and suggest a next case from the most
    frequent complaint.

    Example: evallock coverage --golden evals/golden.jsonl --by intent,customer_tier --since 14d
    """
    from datetime import UTC, datetime

    from evallock.analysis import coverage_report, coverage_to_dict
    from evallock.cases import open_cases
    from evallock.cli._common import load, open_store_for, out_console, write_json
    from evallock.drift import parse_instant
    from evallock.report.compare_terminal import print_coverage

    now = datetime.now(UTC)
    since_at = parse_instant(since, now=now, flag="--since") if since else None
    until_at = parse_instant(until, now=now, flag="--until") if until else None
    dataset = open_cases(golden)
    settings = load(config, store)
    opened = open_store_for(settings)
    try:
        report = coverage_report(
            opened,
            list(dataset),
            dataset_id=dataset.dataset_id,
            by=by.split(","),
            since=since_at,
            until=until_at,
            max_judge_score=max_judge_score,
        )
    finally:
        opened.close()
    if json_out is not None:
        write_json(json_out, coverage_to_dict(report))
    if json_out != "-":
        print_coverage(report, out_console())
    return 1 if fail_on_blind_spot and report.blind_spots else 0
