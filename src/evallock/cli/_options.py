"""Options shared by several commands, declared once (typer reads them from ``Annotated``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["ConfigOption", "JudgeApiKeyEnv", "JudgeBaseUrl", "JudgeModel", "StoreOption"]

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
