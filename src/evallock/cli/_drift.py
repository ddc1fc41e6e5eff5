"""``evallock drift``: judge a sample of live traces against a baseline; alert on a drop."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from evallock.cli._options import (
    ConfigOption,
    JudgeApiKeyEnv,
    JudgeBaseUrl,
    JudgeModel,
    RequireCalibrated,
    StoreOption,
)

__all__ = ["drift"]

_W = "Window and sample"
_B = "Baseline and alert"
_J = "Judge"


def drift(
    since: Annotated[
        str | None,
        typer.Option(
            help="Window start: ISO 8601 or a duration back from now (1d, 12h). Default 1d.",
            rich_help_panel=_W,
        ),
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Window end (default now).", rich_help_panel=_W)
    ] = None,
    sample: Annotated[
        int,
        typer.Option(min=1, help="Traces to judge (deterministic by --seed).", rich_help_panel=_W),
    ] = 200,
    seed: Annotated[
        int,
        typer.Option(help="Picks the sample; a re-run picks the same traces.", rich_help_panel=_W),
    ] = 0,
    stratify_by: Annotated[
        str | None, typer.Option(help="Sample per value of this key.", rich_help_panel=_W)
    ] = None,
    unit: Annotated[
        str,
        typer.Option(
            help="What a sample is: a trace, or a session (its whole conversation is judged,"
            " on its newest trace in the window).",
            rich_help_panel=_W,
        ),
    ] = "trace",
    min_per_slice: Annotated[
        int, typer.Option(min=1, help="Floor per stratum.", rich_help_panel=_W)
    ] = 20,
    by: Annotated[
        str | None,
        typer.Option(
            help="Per-slice reports, e.g. customer_tier,intent (Holm-adjusted).", rich_help_panel=_W
        ),
    ] = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            help="A mean (e.g. 4.1) or run:RUN_ID (a golden-set run, re-judged).",
            rich_help_panel=_B,
        ),
    ] = None,
    baseline_window: Annotated[
        str | None,
        typer.Option(help="START..END: judge that window as the baseline.", rich_help_panel=_B),
    ] = None,
    alert_drop: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="Alert when the mean drops more than this (and significantly).",
            rich_help_panel=_B,
        ),
    ] = 0.2,
    batch: Annotated[
        str, typer.Option(help="Detector batch length (1d, 6h …).", rich_help_panel=_B)
    ] = "1d",
    alpha: Annotated[
        float,
        typer.Option(
            min=0.0001,
            max=0.5,
            help="The report's false-alarm rate: with nothing drifting, it alerts at most this"
            " often (split among the mean test, the slices and the detectors).",
            rich_help_panel=_B,
        ),
    ] = 0.05,
    arl0: Annotated[
        float,
        typer.Option(
            min=10,
            help="Least expected batches between false alarms of the detectors (raised to"
            " keep them within their share of --alpha).",
            rich_help_panel=_B,
        ),
    ] = 370.0,
    webhook: Annotated[
        str | None,
        typer.Option(help="POST a Slack-compatible alert here when it fires.", rich_help_panel=_B),
    ] = None,
    history: Annotated[
        bool, typer.Option("--history", help="Show the batch series and where each detector fired.")
    ] = False,
    input_embeddings: Annotated[
        bool,
        typer.Option(
            "--input-embeddings",
            help="Also test the input texts against the baseline window (MMD on embeddings; the embeddings extra).",
            rich_help_panel=_B,
        ),
    ] = False,
    judge_base_url: JudgeBaseUrl = None,
    judge_model: JudgeModel = None,
    judge_api_key_env: JudgeApiKeyEnv = None,
    rubric: Annotated[
        str | None,
        typer.Option(
            help="Rubric TEXT or @FILE (default: the 1–5 drift rubric).", rich_help_panel=_J
        ),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            min=1, max=1024, help="Judge requests in flight (default: the config's run, 16)."
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(min=0.001, help="Seconds per judge attempt (default: the config's run, 60)."),
    ] = None,
    retries: Annotated[
        int | None,
        typer.Option(min=0, max=20, help="Judge retries (default: the config's run, 5)."),
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the JSON report here.")
    ] = None,
    require_calibrated: RequireCalibrated = False,
    store: StoreOption = None,
    config: ConfigOption = None,
) -> int:
    """Judge a sample of a window's traces, compare with the baseline, alert on a drop (exit 1).

    Exit 2 on an empty window, 3 when the judge is down or more than a quarter
    of the sample errs at the judge (the result is not trustworthy).

    Example: evallock drift --since 1d --baseline 4.1 --by customer_tier --webhook https://hooks.example/T0
    """
    from evallock.cli._common import (
        judge_from,
        load,
        open_store_for,
        out_console,
        read_rubric,
        run_options,
        write_json,
    )
    from evallock.drift import DriftRequest, parse_duration, post_webhook, run_drift
    from evallock.errors import JudgeError, UsageError
    from evallock.report.drift import drift_report
    from evallock.report.drift_terminal import print_drift

    settings = load(config, store)
    # Flags win; unset ones come from the config's run section, as for run and ab.
    options = run_options(
        settings, concurrency=concurrency, trials=None, timeout=timeout, retries=retries
    )
    batch_length = parse_duration(batch)
    if batch_length is None:
        raise UsageError(f"--batch {batch!r}: expected a duration like 1d or 6h")
    number, run_id = None, None
    if baseline is not None:
        if baseline.startswith("run:"):
            run_id = baseline[4:]
        else:
            try:
                number = float(baseline)
            except ValueError:
                raise UsageError(f"--baseline {baseline!r}: a mean score or run:RUN_ID") from None
    if unit not in ("trace", "session"):
        raise UsageError(f"--unit {unit!r}: expected trace or session")
    request = DriftRequest(
        unit="session" if unit == "session" else "trace",
        since=since,
        until=until,
        sample=sample,
        seed=seed,
        stratify_by=stratify_by,
        min_per_slice=min_per_slice,
        by=tuple(k.strip() for k in (by or "").split(",") if k.strip()),
        baseline=number,
        baseline_window=baseline_window,
        baseline_run=run_id,
        alert_drop=alert_drop,
        alpha=alpha,
        batch=batch_length,
        arl0=arl0,
        rubric=read_rubric(rubric),
        judge=judge_from(
            settings,
            base_url=judge_base_url,
            model=judge_model,
            api_key_env=judge_api_key_env,
        ),
        input_embeddings=input_embeddings,
        calibration=settings.calibration,
        require_calibrated=require_calibrated,
        concurrency=options.concurrency,
        timeout=options.timeout,
        retry=options.retry,
    )
    opened = open_store_for(settings)
    try:
        outcome = run_drift(request, opened)
    finally:
        opened.close()
    report = outcome.report
    print_drift(report, outcome.inputs, out_console(), history=history, embedding=outcome.embedding)
    if json_out is not None:
        write_json(json_out, drift_report(report, outcome.inputs, outcome.embedding))
    if not report.trustworthy:
        raise JudgeError(
            f"{report.judge_errors} of {report.judge_errors + report.n_samples} judge replies could"
            " not be used: the result is not trustworthy"
        )
    if webhook and report.alert:
        post_webhook(webhook, report)
    return 1 if report.alert else 0
