"""``evallock import promptfoo``: a promptfoo config written as an evallock case file and config."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["import_app"]

import_app = typer.Typer(
    help="Bring other tools' eval suites over as evallock cases.", no_args_is_help=True
)


@import_app.command("promptfoo")
def promptfoo(
    config: Annotated[Path, typer.Argument(help="promptfooconfig.yaml (or .json).")],
    out: Annotated[Path, typer.Option(help="Write the case file here (JSONL).")] = Path(
        "golden.jsonl"
    ),
    settings: Annotated[
        Path, typer.Option(help="Write the target and judge here, unless it exists.")
    ] = Path("evallock.yaml"),
) -> int:
    """Write a promptfoo config's tests as evallock cases (each prompt rendered with its
    vars; list vars expanded), its OpenAI-compatible provider as the target in
    evallock.yaml, and list what has no evallock equal with its line: nothing is
    dropped silently. The written file is loaded back as `evallock run` would.

    Example: evallock import promptfoo promptfooconfig.yaml --out evals/golden.jsonl
    """
    import json

    from evallock.cases import open_cases
    from evallock.errors import UsageError
    from evallock.promptfoo import import_promptfoo

    found = import_promptfoo(config)
    if not found.cases:
        raise UsageError(f"{config}: no test became a case")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(case) + "\n" for case in found.cases), encoding="utf-8")
    open_cases(out)  # the file loads as `evallock run` reads it (else file:line, exit 2)
    print(f"wrote {len(found.cases)} cases to {out}")
    if found.target and not settings.exists():
        settings.write_text(_settings_text(found.target, out), encoding="utf-8")
        print(f"wrote the target ({found.target['model']}) to {settings}")
    elif found.target:
        print(f"{settings} exists: left as it is (the config's target: {found.target})")
    for line in found.unmapped:
        print(f"not imported: {line}")
    return 0


def _settings_text(target: dict[str, object], cases: Path) -> str:
    lines = [
        f"# Written by `evallock import promptfoo` (cases: {cases}).",
        "target:",
        f"  base_url: {target['base_url']}",
        f"  model: {target['model']}",
        f"  api_key_env: {target['api_key_env']}",
        "judge:",
        f"  base_url: {target['base_url']}",
        f"  model: {target['model']}",
        f"  api_key_env: {target['api_key_env']}",
    ]
    params = target.get("params")
    if isinstance(params, dict) and params:
        lines.insert(5, "  params: {" + ", ".join(f"{k}: {v}" for k, v in params.items()) + "}")
    return "\n".join(lines) + "\n"
