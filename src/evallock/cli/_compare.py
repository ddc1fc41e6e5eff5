"""``evallock compare``: the offline score beside the online outcome, slice by slice."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from evallock.cli._options import ConfigOption, StoreOption

__all__ = ["compare"]


def compare(
    by: Annotated[
        str, typer.Option(help="Slice keys, e.g. prompt_version,customer_tier.")
    ] = "prompt_version,customer_tier",
    since: Annotated[
        str | None,
        typer.Option(help="Traces from: ISO 8601 or a duration back from now (7d). Default all."),
    ] = None,
    until: Annotated[str | None, typer.Option(help="Traces until (default now).")] = None,
    cases: Annotated[
        Path | None,
        typer.Option(
            help="Offline side: runs of this case file (default: that of the newest passing"
            " gate run)."
        ),
    ] = None,
    run: Annotated[
        list[str] | None,
        typer.Option(
            "--run",
            help="Offline side: this run (repeatable, one per version) instead of the default"
            " rule.",
        ),
    ] = None,
    offline_since: Annotated[
        str | None,
        typer.Option(help="Offline side: only runs started from (ISO 8601 or a duration)."),
    ] = None,
    offline_until: Annotated[
        str | None, typer.Option(help="Offline side: only runs started before.")
    ] = None,
    fail_on_loss: Annotated[
        bool,
        typer.Option("--fail-on-loss", help="Exit 1 when a slice is an offline win, online loss."),
    ] = False,
    json_out: Annotated[
        str | None,
        typer.Option("--json", help="Write the joined as JSON to FILE (- for stdout)."),
    ] = None,
    store: StoreOption = None,
    config: ConfigOption = None,
) -> int:
    """Put each slice's offline pass rate and judge score beside its online thumbs-down rate,
    error rate and judge score, each with its interval and n; flag offline win, online loss.

    The offline side is, per version, the newest passing gate run (the run its
    deploy was decided on), else its newest gate run; A/B arms and experiments
    never count, and a later re-run on a grown case file (after locks were
    promoted) does not replace the run that let the version ship. --run names the
    runs instead; --offline-since/--offline-until keep runs started in a window.
    The output says which runs it joined and why.

    With a version key in --by (prompt_version, model_version …) each version is
    compared with the one deployed before it on the same other keys. A slice whose
    offline score rose while its online thumbs-down rate rose (or judge score fell)
    beyond its 95% interval is flagged; slices with traffic but no eval case are
    flagged "no offline coverage".

    Example: evallock compare --by prompt_version,customer_tier --since 14d
    """
    from datetime import UTC, datetime

    from evallock.analysis import OfflinePick, join_offline_online, offline_online_to_dict
    from evallock.cli._common import load, open_store_for, out_console, write_json
    from evallock.drift import parse_instant
    from evallock.report.compare_terminal import print_offline_online

    now = datetime.now(UTC)
    since_at = parse_instant(since, now=now, flag="--since") if since else None
    until_at = parse_instant(until, now=now, flag="--until") if until else None
    pick = OfflinePick(
        run_ids=tuple(run or ()),
        dataset_name=cases.stem if cases is not None else None,
        since=parse_instant(offline_since, now=now, flag="--offline-since")
        if offline_since
        else None,
        until=parse_instant(offline_until, now=now, flag="--offline-until")
        if offline_until
        else None,
    )
    settings = load(config, store)
    opened = open_store_for(settings)
    try:
        joined = join_offline_online(
            opened,
            by=by.split(","),
            since=since_at,
            until=until_at,
            pick=pick,
        )
    finally:
        opened.close()
    if json_out is not None:
        write_json(json_out, offline_online_to_dict(joined))
    if json_out != "-":
        print_offline_online(joined, out_console())
    return 1 if fail_on_loss and joined.flagged else 0
