"""``evallock run``: run the cases against the target, grade, store, gate."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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
from evallock.errors import UsageError

if TYPE_CHECKING:
    from evallock.config import Settings
    from evallock.evaluation import EvalRequest
    from evallock.promptfoo import PromptfooImport
    from evallock.store import Store

__all__ = ["run"]

_T = "Target"
_J = "Judge"
_G = "Gate"
_O = "Output"


def run(
    cases: Annotated[Path, typer.Argument(help="Case file: JSONL, CSV or YAML.")],
    base_url: Annotated[
        str | None,
        typer.Option(help="OpenAI-compatible base URL of the service.", rich_help_panel=_T),
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Model name sent to the service.", rich_help_panel=_T)
    ] = None,
    prompt: Annotated[
        Path | None,
        typer.Option(help="Jinja2 prompt template (the system message).", rich_help_panel=_T),
    ] = None,
    api_key_env: Annotated[
        str | None, typer.Option(help="Env var holding the service's API key.", rich_help_panel=_T)
    ] = None,
    python: Annotated[
        str | None,
        typer.Option(help="Python target module:function instead of HTTP.", rich_help_panel=_T),
    ] = None,
    target_name: Annotated[
        str | None,
        typer.Option(
            help="The service's name for baselines (default: its base URL or callable).",
            rich_help_panel=_T,
        ),
    ] = None,
    api: Annotated[
        str | None,
        typer.Option(
            help="OpenAI API to ask the service through: chat (POST /chat/completions, the default) or responses (POST /responses).",
            rich_help_panel=_T,
        ),
    ] = None,
    key: Annotated[
        list[str] | None,
        typer.Option(
            "--key",
            help="Shared key k=v (repeatable), e.g. prompt_version=refund-v4.",
            rich_help_panel=_T,
        ),
    ] = None,
    judge_base_url: JudgeBaseUrl = None,
    judge_model: JudgeModel = None,
    judge_api_key_env: JudgeApiKeyEnv = None,
    rubric: Annotated[
        str | None, typer.Option(help="Default judge rubric: TEXT or @FILE.", rich_help_panel=_J)
    ] = None,
    concurrency: Concurrency = None,
    trials: Trials = None,
    timeout: Timeout = None,
    retries: Retries = None,
    cache: Annotated[
        bool,
        typer.Option("--cache", help="Reuse stored target answers (off: test the live service)."),
    ] = False,
    resume: Annotated[
        str | None, typer.Option(help="Continue an interrupted run by its id.")
    ] = None,
    experiment: Annotated[
        bool,
        typer.Option(
            "--experiment",
            help="An ad-hoc run: gated and stored, but kept out of the history timeline and"
            " never a baseline.",
        ),
    ] = False,
    require_calibrated: RequireCalibrated = False,
    min_pass_rate: Annotated[
        float | None,
        typer.Option(
            min=0.0, max=1.0, help="Fail below this pass rate (default 0.9).", rich_help_panel=_G
        ),
    ] = None,
    max_new_failures: Annotated[
        int | None,
        typer.Option(
            min=0, help="Fail above this many new failures (default 0).", rich_help_panel=_G
        ),
    ] = None,
    gate_on: Annotated[
        str | None,
        typer.Option(
            help="Hold the pass rate to min_pass_rate by its 'point' estimate (default) or"
            " by the 'lower-bound' of its one-sided 95% Wilson interval.",
            rich_help_panel=_G,
        ),
    ] = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            help="RUN_ID, last-pass (default), last-pass:KEY=VALUE (the last pass carrying"
            " that key, e.g. branch=main: the base branch's) or none.",
            rich_help_panel=_G,
        ),
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the JSON report here.", rich_help_panel=_O)
    ] = None,
    junit: Annotated[
        Path | None, typer.Option(help="Write JUnit XML here.", rich_help_panel=_O)
    ] = None,
    markdown: Annotated[
        Path | None,
        typer.Option(
            help="Write a Markdown summary here (also appended to $GITHUB_STEP_SUMMARY); with EVALLOCK_DASHBOARD_URL set, the run and each failed lock's trace link to its page there.",
            rich_help_panel=_O,
        ),
    ] = None,
    store: StoreOption = None,
    config: ConfigOption = None,
) -> int:
    """Run the cases against the target, grade, store and gate; exit 1 when the gate fails.

    Example: evallock run evals/golden.jsonl --base-url http://localhost:8000/v1 --model bot --prompt prompts/v4.txt --key prompt_version=v4 --junit junit.xml
    """
    from evallock.cli._common import (
        gate_from,
        judge_from,
        load,
        open_store_for,
        remove_stale_reports,
        run_options,
        target_from,
    )
    from evallock.errors import ConfigError
    from evallock.evaluation import EvalRequest

    remove_stale_reports(json_out, junit, markdown)
    settings = load(config, store)
    cases, imported = _promptfoo_cases(cases)
    if imported is not None:
        settings = _with_promptfoo(settings, imported)
    chosen_baseline = settings.baseline if baseline is None else baseline
    if chosen_baseline == "":
        raise ConfigError("--baseline: give a run id, last-pass or none")
    request = EvalRequest(
        cases=str(cases),
        target=target_from(
            settings,
            base_url=base_url,
            model=model,
            prompt=prompt,
            api_key_env=api_key_env,
            python=python,
            keys=key,
            name=target_name,
            api=api,
        ),
        judge=judge_from(
            settings,
            base_url=judge_base_url,
            model=judge_model,
            api_key_env=judge_api_key_env,
            rubric=rubric,
        ),
        options=run_options(
            settings,
            concurrency=concurrency,
            trials=trials,
            timeout=timeout,
            retries=retries,
            cache=cache,
        ),
        thresholds=gate_from(
            settings,
            min_pass_rate=min_pass_rate,
            max_new_failures=max_new_failures,
            gate_on=gate_on,
        ),
        baseline=chosen_baseline,
        resume=resume,
        kind="experiment" if experiment else "gate",
        calibration=settings.calibration,
        require_calibrated=require_calibrated,
    )
    if resume:
        request = _resumed(request, open_store_for(settings), resume)
    return execute(
        request, settings_store=settings, json_out=json_out, junit=junit, markdown=markdown
    )


def _resumed(request: EvalRequest, store: Store, run_id: str) -> EvalRequest:
    """Rebuild a request from the interrupted run's stored settings (flags for speed stay)."""
    from dataclasses import replace

    from evallock.config import resolve_secret
    from evallock.errors import UsageError
    from evallock.gate import GateThresholds
    from evallock.session import JudgeSpec, TargetSpec

    run = store.runs.get(run_id)
    store.close()
    if run is None:
        raise UsageError(f"--resume {run_id}: no such run")
    saved = run.settings
    target = TargetSpec(**saved["target"])
    target = replace(target, api_key=resolve_secret(target.api_key_env))
    judge = JudgeSpec(**saved["judge"])
    judge = replace(judge, api_key=resolve_secret(judge.api_key_env))
    options = replace(request.options, trials=saved["trials"], cache_target=saved["cache"])
    return replace(
        request,
        cases=saved["cases"],
        target=target,
        judge=judge,
        options=options,
        thresholds=GateThresholds(**saved["thresholds"]),
        baseline=saved["baseline"],
    )


def execute(
    request: EvalRequest,
    *,
    settings_store: Settings,
    json_out: Path | None = None,
    junit: Path | None = None,
    markdown: Path | None = None,
) -> int:
    """Run a request, print and write its reports, and return the exit code."""
    from evallock.cli._common import (
        err_console,
        is_interactive,
        open_store_for,
        out_console,
        remove_stale_reports,
    )
    from evallock.evaluation import run_eval
    from evallock.report import markdown_summary
    from evallock.report.terminal import print_run

    remove_stale_reports(json_out, junit, markdown)
    store = open_store_for(settings_store)
    _gc.resume()  # start-up is over: the cases start (see _gc)
    try:
        if is_interactive():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

            with Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=err_console(),
                transient=True,
            ) as bar:
                task = bar.add_task("running", total=None)

                def progress(done: int, total: int) -> None:
                    bar.update(task, completed=done, total=total)

                outcome = run_eval(request, store, progress=progress)
        else:
            outcome = run_eval(request, store)
        print_run(outcome, out_console())
        _write_reports(outcome, json_out=json_out, junit=junit)
        summary = (
            markdown_summary(outcome, dashboard_url=os.environ.get("EVALLOCK_DASHBOARD_URL"))
            if markdown is not None or _step_summary()
            else None
        )
        if markdown is not None and summary is not None:
            markdown.write_text(summary, encoding="utf-8")
        step_summary = _step_summary()
        if step_summary and summary is not None:
            with open(step_summary, "a", encoding="utf-8") as handle:
                handle.write(summary + "\n")
    finally:
        store.close()
    return outcome.gate.exit_code


def _write_reports(outcome: Any, *, json_out: Path | None, junit: Path | None) -> None:
    """``--json`` and ``--junit`` from one read of the results (a file and the store)."""
    from evallock.report import JunitWriter, RunReportWriter

    if json_out is None and junit is None:
        return
    with ExitStack() as files:
        writers: list[Any] = []
        if json_out is not None:
            writers.append(
                RunReportWriter(outcome, files.enter_context(_replacing(json_out, "wb")))
            )
        if junit is not None:
            writers.append(JunitWriter(outcome, files.enter_context(_replacing(junit, "w"))))
        for result, records in outcome.iter_trials():
            for writer in writers:
                writer.add(result, records)
        for writer in writers:
            writer.close()


@contextmanager
def _replacing(path: Path, mode: str) -> Iterator[Any]:
    """A report file written whole or not at all: into a temporary file, then renamed."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        with open(partial, mode, encoding=None if "b" in mode else "utf-8") as handle:
            yield handle
        os.replace(partial, path)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write the report: {exc.strerror or exc}") from None
    finally:
        partial.unlink(missing_ok=True)


def _step_summary() -> str | None:
    return os.environ.get("GITHUB_STEP_SUMMARY") or None


def _promptfoo_cases(cases: Path) -> tuple[Path, PromptfooImport | None]:
    """A promptfoo config run directly: its cases written under ``.evallock/promptfoo/``
    (a stable path, so its runs share a dataset and a baseline) and what else it said;
    any other case file as it is."""
    import json

    from evallock.promptfoo import import_promptfoo

    if cases.suffix not in (".yaml", ".yml", ".json") or not _is_promptfoo(cases):
        return cases, None
    found = import_promptfoo(cases)
    for line in found.unmapped:
        print(f"not imported: {line}", file=sys.stderr)
    written = Path(".evallock") / "promptfoo" / f"{cases.stem}.jsonl"
    written.parent.mkdir(parents=True, exist_ok=True)
    written.write_text("".join(json.dumps(c) + "\n" for c in found.cases), encoding="utf-8")
    return written, found


def _with_promptfoo(settings: Settings, found: PromptfooImport) -> Settings:
    """The settings with the promptfoo config's target, grader and run options wherever
    evallock.yaml names none (a flag still wins over both)."""
    from dataclasses import replace

    from evallock.runner import RunOptions

    update: dict[str, object] = {}
    if found.target and not (settings.target.base_url or settings.target.python):
        update["target"] = replace(settings.target, **found.target)
    if not settings.judge.configured and (found.judge or found.target):
        chosen = {k: v for k, v in (found.judge or found.target).items() if k != "params"}
        update["judge"] = replace(settings.judge, **{k: v for k, v in chosen.items() if k != "api"})
    if found.run and settings.run == RunOptions():
        update["run"] = replace(
            settings.run,
            concurrency=found.run.get("concurrency", settings.run.concurrency),
            trials=found.run.get("trials", settings.run.trials),
        )
    return settings.model_copy(update=update) if update else settings


def _is_promptfoo(path: Path) -> bool:
    """True for a YAML or JSON mapping with ``prompts:`` (what promptfoo reads)."""
    import yaml

    try:
        head = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return False
    return isinstance(head, dict) and "prompts" in head
