"""``evallock ab``: paired comparison of two variants on the same cases."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from evallock.cli import _gc
from evallock.cli._options import (
    Concurrency,
    ConfigOption,
    JudgeApiKeyEnv,
    JudgeBaseUrl,
    JudgeModel,
    RequireCalibrated,
    Retries,
    StoreOption,
    Timeout,
    Trials,
)

if TYPE_CHECKING:
    from evallock.ab import ABOutcome
    from evallock.store import Store

__all__ = ["ab"]

_T = "Target"
_J = "Judge"
_S = "Statistics"
_O = "Output"


def ab(
    cases: Annotated[Path, typer.Argument(help="Case file both variants run on.")],
    a: Annotated[
        str | None,
        typer.Option(
            "--a",
            help="Variant A: k=v,… over the target (model=, prompt=, base_url=, python=, key.<name>=, param.<name>=).",
        ),
    ] = None,
    b: Annotated[str | None, typer.Option("--b", help="Variant B, as --a.")] = None,
    a_run: Annotated[
        str | None, typer.Option(help="Compare this stored run as A (calls nothing).")
    ] = None,
    b_run: Annotated[str | None, typer.Option(help="… and this stored run as B.")] = None,
    base_url: Annotated[
        str | None, typer.Option(help="Base URL both variants share.", rich_help_panel=_T)
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Model both variants share.", rich_help_panel=_T)
    ] = None,
    prompt: Annotated[
        Path | None, typer.Option(help="Prompt both variants share.", rich_help_panel=_T)
    ] = None,
    api_key_env: Annotated[
        str | None, typer.Option(help="Env var holding the service's API key.", rich_help_panel=_T)
    ] = None,
    key: Annotated[
        list[str] | None,
        typer.Option("--key", help="Shared key k=v for both (repeatable).", rich_help_panel=_T),
    ] = None,
    judge_base_url: JudgeBaseUrl = None,
    judge_model: JudgeModel = None,
    judge_api_key_env: JudgeApiKeyEnv = None,
    rubric: Annotated[
        str | None, typer.Option(help="Default judge rubric: TEXT or @FILE.", rich_help_panel=_J)
    ] = None,
    judge_mode: Annotated[
        str,
        typer.Option(
            help="score (each answer alone) or pairwise (both, in both orders).", rich_help_panel=_J
        ),
    ] = "score",
    alpha: Annotated[
        float,
        typer.Option(
            help="One-sided level of the verdict's bounds, above 0 and below 0.5.",
            rich_help_panel=_S,
        ),
    ] = 0.05,
    min_effect: Annotated[
        float,
        typer.Option(
            help="Effect floor on the 0–1 score scale, from 0 to below 1.", rich_help_panel=_S
        ),
    ] = 0.05,
    metric: Annotated[
        str, typer.Option(help="auto, pass, judge or score.", rich_help_panel=_S)
    ] = "auto",
    by: Annotated[
        str | None,
        typer.Option(
            help="Slice keys, e.g. intent,customer_tier: each key alone, then crossed (Holm and"
            " BH adjusted over all).",
            rich_help_panel=_S,
        ),
    ] = None,
    min_slice_pairs: Annotated[
        int,
        typer.Option(
            min=2, help="Slices with fewer pairs get 'insufficient data'.", rich_help_panel=_S
        ),
    ] = 5,
    seed: Annotated[
        int, typer.Option(help="Seed of the bootstrap and permutation paths.", rich_help_panel=_S)
    ] = 0,
    trials: Trials = None,
    concurrency: Concurrency = None,
    timeout: Timeout = None,
    retries: Retries = None,
    fail_if_worse: Annotated[
        bool, typer.Option("--fail-if-worse", help="Exit 1 when A wins (B is worse), for CI.")
    ] = False,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the JSON report here.", rich_help_panel=_O)
    ] = None,
    markdown: Annotated[
        Path | None,
        typer.Option(help="Write a Markdown summary (for a PR comment).", rich_help_panel=_O),
    ] = None,
    require_calibrated: RequireCalibrated = False,
    store: StoreOption = None,
    config: ConfigOption = None,
) -> int:
    """Compare two variants on the same cases: paired test, interval, effect floor, verdict.

    Requests of A and B are interleaved so a drifting service affects both alike;
    pairs are joined on case id. "B wins" needs the one-sided lower bound of
    Δ = B − A above --min-effect.

    Example: evallock ab evals/golden.jsonl --a prompt=prompts/v3.txt,key.prompt_version=v3 --b prompt=prompts/v4.txt,key.prompt_version=v4 --by customer_tier
    """
    from evallock.ab import (
        ABRequest,
        apply_spec,
        check_ab_settings,
        compare_runs,
        compare_variants,
    )
    from evallock.cli._common import (
        judge_from,
        load,
        open_store_for,
        out_console,
        remove_stale_reports,
        run_options,
        target_from,
        write_json,
    )
    from evallock.errors import UsageError
    from evallock.report.ab import ab_markdown, ab_report
    from evallock.report.ab_terminal import print_comparison

    remove_stale_reports(json_out, markdown)
    # Every statistical flag is checked before anything runs (exit 2 with the reason).
    check_ab_settings(
        alpha=alpha,
        min_effect=min_effect,
        metric=metric,
        judge_mode=judge_mode,
        min_slice_pairs=min_slice_pairs,
    )
    stored = a_run is not None or b_run is not None
    if stored and (a_run is None or b_run is None or a or b):
        raise UsageError("give --a-run and --b-run together, without --a/--b")
    if not stored and (a is None or b is None):
        raise UsageError("give --a SPEC and --b SPEC (or --a-run and --b-run)")
    settings = load(config, store)
    base = target_from(
        settings, base_url=base_url, model=model, prompt=prompt, api_key_env=api_key_env, keys=key
    )
    request = ABRequest(
        cases=str(cases),
        a=None if stored else apply_spec("A", base, a or "", flag="--a"),
        b=None if stored else apply_spec("B", base, b or "", flag="--b"),
        a_run=a_run,
        b_run=b_run,
        judge=judge_from(
            settings,
            base_url=judge_base_url,
            model=judge_model,
            api_key_env=judge_api_key_env,
            rubric=rubric,
        ),
        options=run_options(
            settings, concurrency=concurrency, trials=trials, timeout=timeout, retries=retries
        ),
        alpha=alpha,
        min_effect=min_effect,
        metric=metric,  # type: ignore[arg-type]
        by=tuple(k.strip() for k in (by or "").split(",") if k.strip()),
        min_slice_pairs=min_slice_pairs,
        judge_mode=judge_mode,  # type: ignore[arg-type]
        seed=seed,
        calibration=settings.calibration,
        require_calibrated=require_calibrated,
    )
    opened = open_store_for(settings)
    _gc.resume()  # start-up is over: the cases start (see _gc)
    try:
        outcome = compare_runs(request, opened) if stored else compare_variants(request, opened)
        _save(opened, outcome)
    finally:
        opened.close()
    print_comparison(outcome, out_console())
    if json_out is not None:
        write_json(json_out, ab_report(outcome))
    if markdown is not None:
        markdown.write_text(ab_markdown(outcome), encoding="utf-8")
    return 1 if fail_if_worse and outcome.overall.verdict == "A wins" else 0


def _save(store: Store, outcome: ABOutcome) -> None:
    """Store the comparison (the dashboard and ``/api/comparisons`` list it)."""
    from evallock.records import StoredComparison
    from evallock.report.ab import ab_report

    store.reports.add_comparison(
        StoredComparison(
            comparison_id=outcome.comparison_id,
            dataset_id=outcome.dataset.dataset_id,
            run_a=outcome.run_a.run_id,
            run_b=outcome.run_b.run_id,
            verdict=outcome.overall.verdict,
            body=ab_report(outcome),
        )
    )
