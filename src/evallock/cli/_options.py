"""Options shared by several commands, declared once (typer reads them from ``Annotated``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = [
    "Concurrency",
    "ConfigOption",
    "JudgeApiKeyEnv",
    "JudgeBaseUrl",
    "JudgeModel",
    "Retries",
    "StoreOption",
    "Timeout",
    "Trials",
]

StoreOption = Annotated[
    str | None, typer.Option("--store", help="Store URL (sqlite:///… or postgresql://…).")
]
ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="Config file (default ./evallock.yaml).")
]
JudgeBaseUrl = Annotated[
    str | None,
    typer.Option(
        "--judge-base-url",
        help="Judge's OpenAI-compatible base URL (default: judge.base_url of the config).",
        rich_help_panel="Judge",
    ),
]
JudgeModel = Annotated[
    str | None, typer.Option("--judge-model", help="Judge model.", rich_help_panel="Judge")
]
JudgeApiKeyEnv = Annotated[
    str | None,
    typer.Option(
        "--judge-api-key-env", help="Env var holding the judge's API key.", rich_help_panel="Judge"
    ),
]

# How the target is asked (``run`` and ``ab``); unset means the config's ``run`` section.
Concurrency = Annotated[
    int | None, typer.Option(min=1, max=1024, help="Requests in flight (default 16).")
]
Trials = Annotated[
    int | None,
    typer.Option(min=1, max=100, help="Times each case is asked, per variant (default 1)."),
]
Timeout = Annotated[
    float | None, typer.Option(min=0.001, help="Seconds per request attempt (default 60).")
]
Retries = Annotated[
    int | None, typer.Option(min=0, max=20, help="Retries on 429/5xx/timeouts (default 5).")
]

RequireCalibrated = Annotated[
    bool,
    typer.Option(
        "--require-calibrated",
        help="Refuse (exit 2) unless the judge agrees with people's labels"
        " (calibration: in evallock.yaml; see evallock calibration).",
    ),
]
