"""``evallock experiment``: an online A/B between traffic buckets, with always-valid inference."""

from __future__ import annotations

from typing import Annotated

import typer

from evallock.cli._options import ConfigOption, StoreOption

__all__ = ["experiment"]


def experiment(
    a: Annotated[str, typer.Option("--a", help="Bucket A: the key's value, e.g. control.")] = "A",
    b: Annotated[str, typer.Option("--b", help="Bucket B: the key's value.")] = "B",
    key: Annotated[
        str, typer.Option(help="The shared key that splits the traffic.")
    ] = "experiment",
    metric: Annotated[
        str,
        typer.Option(
            help="thumbs-down (share rated down), errors (share that failed) or judge (mean"
            " judge score of sampled traces)."
        ),
    ] = "thumbs-down",
    since: Annotated[
        str | None,
        typer.Option(help="Traffic from: ISO 8601 or a duration back from now (14d). Default all."),
    ] = None,
    until: Annotated[str | None, typer.Option(help="Traffic until (default now).")] = None,
    alpha: Annotated[
        float, typer.Option(help="Level of the test and of the confidence sequence.")
    ] = 0.05,
    effect: Annotated[
        float | None,
        typer.Option(
            help="The smallest difference that matters (default 0.02 for thumbs-down, 0.01 for"
            " errors, 0.2 for judge)."
        ),
    ] = None,
    fail_if_worse: Annotated[
        bool, typer.Option("--fail-if-worse", help="Exit 1 when B is significantly worse.")
    ] = False,
    json_out: Annotated[
        str | None, typer.Option("--json", help="Write the result as JSON to FILE (- for stdout).")
    ] = None,
    store: StoreOption = None,
    config: ConfigOption = None,
) -> int:
    """Compare two buckets of live traffic on an online outcome, with a confidence sequence and
    an always-valid p-value: it may be run every day and the experiment stopped the first time
    it says "B better" or "B worse", and the chance of a false winner stays below --alpha.

    Example: evallock experiment --key experiment --a control --b refund-v4 --since 14d
    """
    from datetime import UTC, datetime

    from evallock.analysis import experiment_to_dict, monitor_experiment
    from evallock.cli._common import load, open_store_for, out_console, write_json
    from evallock.drift import parse_instant
    from evallock.report.experiment_terminal import print_experiment

    now = datetime.now(UTC)
    since_at = parse_instant(since, now=now, flag="--since") if since else None
    until_at = parse_instant(until, now=now, flag="--until") if until else None
    settings = load(config, store)
    opened = open_store_for(settings)
    try:
        found = monitor_experiment(
            opened.traces,
            key=key,
            a=a,
            b=b,
            metric=metric,  # type: ignore[arg-type]
            since=since_at,
            until=until_at,
            alpha=alpha,
            effect=effect,
        )
    finally:
        opened.close()
    if json_out is not None:
        write_json(json_out, experiment_to_dict(found))
    if json_out != "-":
        print_experiment(found, out_console())
    return 1 if fail_if_worse and found.verdict == "B worse" else 0
