"""``evallock init``: scaffold a project that ``evallock run`` accepts as it stands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["init"]


def init(
    directory: Annotated[Path, typer.Argument(help="Where to scaffold.")] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
) -> int:
    """Scaffold evallock.yaml, evals/golden.jsonl and a prompt file.

    Example: evallock init && evallock run evals/golden.jsonl
    """
    from evallock.scaffold import write_scaffold

    for path in write_scaffold(directory, force=force):
        print(f"wrote {path}")
    print("next: point target.base_url in evallock.yaml at your service, then")
    print("      evallock run evals/golden.jsonl")
    return 0
