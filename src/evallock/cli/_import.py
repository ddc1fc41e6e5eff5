"""``evallock import promptfoo``: a promptfoo config written as an evallock case file and config."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from evallock.promptfoo import PromptfooImport

__all__ = ["import_app", "settings_text"]

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
    """Write a promptfoo config's tests (inline, files, scenarios) as evallock cases, each
    prompt rendered with its vars; its OpenAI-compatible provider as the target, its
    grader as the judge and its evaluateOptions as run options in evallock.yaml; and
    list what has no evallock equal with its file and line: nothing is dropped silently.
    The written file is loaded back as `evallock run` would.

    Example: evallock import promptfoo promptfooconfig.yaml --out evals/golden.jsonl
    """
    import json

    from evallock.errors import UsageError
    from evallock.promptfoo import import_promptfoo

    found = import_promptfoo(config)
    if not found.cases:
        raise UsageError(f"{config}: no test became a case")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(case) + "\n" for case in found.cases), encoding="utf-8")
    _check(out)
    print(f"wrote {len(found.cases)} cases to {out}")
    if found.target and not settings.exists():
        settings.write_text(settings_text(found, out), encoding="utf-8")
        print(f"wrote the target ({found.target['model']}) to {settings}")
    elif found.target:
        print(f"{settings} exists: left as it is (the config's target: {found.target})")
    for line in found.unmapped:
        print(f"not imported: {line}")
    return 0


def _check(out: Path) -> None:
    """Load the written file as `evallock run` will (a problem is file:line, exit 2); only
    `similar` checks without the embeddings extra are let through, with a note."""
    from evallock.cases import open_cases
    from evallock.errors import UsageError
    from evallock.graders import EMBEDDINGS_MISSING

    try:
        open_cases(out)
    except UsageError as exc:
        problems = [line for line in str(exc).splitlines() if line.strip()]
        if not problems or not all(line.endswith(EMBEDDINGS_MISSING) for line in problems):
            raise
        print(
            f"note: {len(problems)} case(s) use `similar`; to run them:"
            " pip install 'evallock[embeddings]'"
        )


def settings_text(found: PromptfooImport, cases: Path) -> str:
    """evallock.yaml for an imported config: its target, its grader as the judge (else the
    target grades, as promptfoo's default grader is an OpenAI model) and its run options."""
    import yaml

    sections: dict[str, object] = {
        "target": found.target,
        "judge": {k: v for k, v in (found.judge or found.target).items() if k != "params"},
    }
    if found.run:
        sections["run"] = found.run
    body = yaml.safe_dump(sections, sort_keys=False, allow_unicode=True)
    return f"# Written by `evallock import promptfoo` (cases: {cases}).\n{body}"
