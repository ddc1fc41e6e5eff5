"""Helpers shared by commands: settings merged with flags, the store, the console."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from evallock.config import Settings
    from evallock.evaluation import JudgeSpecSettings
    from evallock.store import Store

__all__ = [
    "err_console",
    "is_interactive",
    "load",
    "open_store_for",
    "out_console",
    "read_rubric",
    "remove_stale_reports",
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


def judge_from(
    settings: Settings,
    *,
    base_url: str | None,
    model: str | None,
    api_key_env: str | None,
    rubric: str | None = None,
) -> JudgeSpecSettings:
    """The judge the flags name, each flag over ``judge:`` in the config."""
    from evallock.config import resolve_secret
    from evallock.evaluation import JudgeSpecSettings

    j = settings.judge
    env = api_key_env or j.api_key_env
    return JudgeSpecSettings(
        base_url=base_url or j.base_url,
        model=model or j.model,
        api_key=resolve_secret(env),
        api_key_env=env,
        rubric=read_rubric(rubric) or j.rubric,
        params=j.params,
    )


def run_options(
    settings: Settings,
    *,
    concurrency: int | None,
    trials: int | None,
    timeout: float | None,
    retries: int | None,
    cache: bool = False,
) -> Any:
    """The runner's options: each flag given, else the config's ``run`` section."""
    from evallock.runner import RetryPolicy, RunOptions

    r = settings.run
    return RunOptions(
        concurrency=concurrency or r.concurrency,
        trials=trials or r.trials,
        timeout=timeout or r.timeout,
        retry=RetryPolicy(retries=r.retries if retries is None else retries),
        cache_target=cache,
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
