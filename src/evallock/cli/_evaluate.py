"""``evallock evaluate``: run the online evaluators over stored traces (a backfill)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from evallock.cli._options import (
    ConfigOption,
    JudgeApiKeyEnv,
    JudgeBaseUrl,
    JudgeModel,
    StoreOption,
)

__all__ = ["evaluate"]


def evaluate(
    since: Annotated[
        str,
        typer.Option(help="Traces started since: ISO 8601 or a duration back from now (7d, 12h)."),
    ] = "7d",
    until: Annotated[str | None, typer.Option(help="…and before (default now).")] = None,
    evaluator: Annotated[
        list[str] | None,
        typer.Option(help="Only this evaluator (repeatable; default: every one)."),
    ] = None,
    judge_base_url: JudgeBaseUrl = None,
    judge_model: JudgeModel = None,
    judge_api_key_env: JudgeApiKeyEnv = None,
    concurrency: Annotated[
        int, typer.Option(min=1, max=1024, help="Judge requests in flight.")
    ] = 16,
    json_out: Annotated[
        Path | None,
        typer.Option("--json", help="Write each evaluator's status here (- for stdout)."),
    ] = None,
    store: StoreOption = None,
    config: ConfigOption = None,
) -> int:
    """Run evallock.yaml's online evaluators (evaluators:) over the stored traces of a
    window, as `evallock serve` runs them on traces as they arrive: the same sampling,
    checks, judge, budget and verdict cache. A trace an evaluator already has a verdict
    on is left alone, so a backfill can be run again, or beside the service.

    Prints per evaluator what was looked at, scored, errored and skipped over budget,
    then its mean score (0-1) with a 95% interval over the window's verdicts.
    Exit 2 when there is no evaluator, 3 when the judge is down.

    Example: evallock evaluate --since 7d --evaluator refund-quality
    """
    import anyio

    from evallock.cli._common import judge_from, load, open_store_for, out_console, write_json
    from evallock.drift import parse_window
    from evallock.errors import UsageError
    from evallock.online import backfill, evaluator_status

    settings = load(config, store)
    rules = [r for r in settings.evaluators if not evaluator or r.name in evaluator]
    if not settings.evaluators:
        raise UsageError("no evaluators: add an `evaluators:` list to evallock.yaml")
    unknown = sorted(set(evaluator or ()) - {r.name for r in settings.evaluators})
    if unknown:
        known = ", ".join(r.name for r in settings.evaluators)
        raise UsageError(f"--evaluator {unknown[0]!r}: no such evaluator (known: {known})")
    window = parse_window(since, until)
    judge = judge_from(
        settings, base_url=judge_base_url, model=judge_model, api_key_env=judge_api_key_env
    )
    console = out_console()
    with open_store_for(settings) as opened:
        counts = anyio.run(
            lambda: backfill(
                opened,
                rules,
                judge,
                since=window.start,
                until=window.end,
                concurrency=concurrency,
            )
        )
        statuses = [
            evaluator_status(
                opened.online,
                rule,
                since=window.start,
                labels=opened.labels,
                floor=settings.calibration,
            )
            for rule in rules
        ]
    for rule, status in zip(rules, statuses, strict=True):
        done = counts[rule.name]
        mean = "no score yet"
        if status.mean is not None:
            mean = f"mean {status.mean:.3f}"
            if status.ci is not None:
                mean += f", 95% CI [{status.ci[0]:.3f}, {status.ci[1]:.3f}]"
            mean += f", n={status.scored}"
        console.print(
            f"{rule.name}: looked at {done.looked_at} traces; scored {done.scores['scored']},"
            f" errors {done.scores['error']}, skipped over budget {done.scores['skipped']}"
            f" ({done.seconds:.1f} s)",
            markup=False,
        )
        if status.ppi is not None:
            lo, hi = status.ppi.interval.lo, status.ppi.interval.hi
            console.print(
                f"  corrected by {status.ppi.n} people's labels (PPI++): mean"
                f" {status.ppi.estimate:.3f}, 95% CI [{lo:.3f}, {hi:.3f}]",
                markup=False,
            )
        if status.calibration is not None:
            console.print("  " + status.calibration.line(), markup=False)
        calls, tokens, cost = status.spent
        console.print(
            f"  since {window.start:%Y-%m-%d %H:%M}Z: {mean}; errors {status.errors},"
            f" skipped {status.skipped}; spent today: {calls} calls, {tokens} tokens,"
            f" ${cost:.4f}",
            markup=False,
        )
    if json_out is not None:
        write_json(json_out, {"evaluators": [s.as_json() for s in statuses]})
    return 0
