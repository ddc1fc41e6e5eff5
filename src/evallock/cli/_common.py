"""Helpers shared by commands: settings merged with flags, the store, the console."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from evallock.config import Settings
    from evallock.gate import GateThresholds
    from evallock.runner import RunOptions
    from evallock.session import JudgeSpec, TargetSpec
    from evallock.store import Store

__all__ = [
    "err_console",
    "gate_from",
    "is_interactive",
    "load",
    "open_store_for",
    "out_console",
    "read_rubric",
    "remove_stale_reports",
    "run_options",
    "target_from",
]


def load(config: Path | None, store: str | None) -> Settings:
    """Settings from the config file, with ``--store`` applied."""
    from evallock.config import load_settings

    settings = load_settings(config)
    if store:
        settings = settings.model_copy(update={"store": store})
    return settings


def open_store_for(settings: Settings) -> Store:
    """Open the store the settings name (exit 3 when it cannot be opened)."""
    from evallock.store import open_store

    return open_store(settings.store)


def is_interactive() -> bool:
    """A progress bar only on a terminal, never in CI."""
    ci = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
    return sys.stderr.isatty() and not ci


def out_console() -> Console:
    """The console for results (stdout)."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def err_console() -> Console:
    """The console for progress and notes (stderr)."""
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def read_rubric(value: str | None) -> str | None:
    """``--rubric TEXT`` or ``--rubric @FILE``."""
    from evallock.errors import UsageError

    if value is None or not value.startswith("@"):
        return value
    path = Path(value[1:])
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--rubric {value}: cannot read: {exc}") from None


def target_from(
    settings: Settings,
    *,
    base_url: str | None = None,
    model: str | None = None,
    prompt: Path | None = None,
    api_key_env: str | None = None,
    python: str | None = None,
    keys: list[str] | None = None,
    name: str | None = None,
    api: str | None = None,
) -> TargetSpec:
    """The target the flags name, each flag over ``target:`` in the config.

    ``--key k=v`` flags are added to the config's keys (a flag wins on the same
    key); the API key is read from the environment variable named.
    """
    from evallock.config import target_of
    from evallock.keys import parse_key_flags

    return target_of(
        settings,
        base_url=base_url,
        model=model,
        api_key_env=api_key_env,
        python=python,
        name=name,
        api=api,
        prompt=prompt,
        keys=parse_key_flags(keys) if keys else None,
    )


def judge_from(
    settings: Settings,
    *,
    base_url: str | None,
    model: str | None,
    api_key_env: str | None,
    rubric: str | None = None,
) -> JudgeSpec:
    """The judge the flags name, each flag over ``judge:`` in the config."""
    from evallock.config import judge_of

    return judge_of(
        settings,
        base_url=base_url,
        model=model,
        api_key_env=api_key_env,
        rubric=read_rubric(rubric),
    )


def run_options(
    settings: Settings,
    *,
    concurrency: int | None,
    trials: int | None,
    timeout: float | None,
    retries: int | None,
    cache: bool = False,
) -> RunOptions:
    """The runner's options: each flag given, else the config's ``run`` section.

    Raises:
        ConfigError: a flag out of range (the same check as the file's).
    """
    from evallock.config import overlay

    r = settings.run
    return overlay(
        r,
        concurrency=concurrency,
        trials=trials,
        timeout=timeout,
        retry=overlay(r.retry, retries=retries),
        cache_target=True if cache else None,
    )


def gate_from(
    settings: Settings,
    *,
    min_pass_rate: float | None,
    max_new_failures: int | None,
    gate_on: str | None = None,
) -> GateThresholds:
    """The gate's thresholds: each flag given, else the config's ``gate`` section.

    Raises:
        ConfigError: an unknown ``--gate-on`` rule.
    """
    from evallock.config import overlay

    return overlay(
        settings.gate,
        min_pass_rate=min_pass_rate,
        max_new_failures=max_new_failures,
        gate_on=gate_on,
    )


def remove_stale_reports(*paths: Path | None) -> None:
    """Check the report paths, and remove what an earlier run left there.

    Called before anything runs: a run that stops early (exit 2 or 3) writes no
    report, and without this CI would read the previous run's verdict as this one's.

    Raises:
        UsageError: a report path in no directory, or one that cannot be removed.
    """
    from evallock.errors import UsageError

    for path in paths:
        if path is None or str(path) == "-":
            continue
        if not path.parent.is_dir():
            raise UsageError(f"{path}: no such directory for the report; nothing was run")
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise UsageError(
                f"{path}: cannot replace the report: {exc.strerror or exc}; nothing was run"
            ) from None


def write_json(target: str | Path, data: Any) -> None:
    """``data`` as indented JSON into a file, or onto stdout for ``-``."""
    import orjson

    payload = orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n"
    if str(target) == "-":
        sys.stdout.buffer.write(payload)
        sys.stdout.flush()
    else:
        Path(target).write_bytes(payload)
