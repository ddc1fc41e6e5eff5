"""The ``evallock`` command: the typer app, its commands, and exit codes.

Exit codes everywhere: 0 ok · 1 the gate failed or an alert fired · 2 bad input
or usage · 3 infrastructure (target, judge or store unreachable after retries).
Command modules import the library lazily, inside the command, so ``--help``
and start-up stay fast.
"""

from __future__ import annotations

import sys
from typing import Any

import typer

from evallock.cli import (
    _ab,
    _candidates,
    _comment,
    _compare,
    _coverage,
    _demo,
    _drift,
    _evaluate,
    _experiment,
    _gc,
    _history,
    _import,
    _init,
    _keys,
    _labels,
    _run,
    _serve,
    _traces,
)

__all__ = ["app", "main"]

_SETTINGS: dict[str, Any] = {
    "name": "evallock",
    "help": (
        "Tell an LLM team their service got worse before their users do.\n\n"
        "Example: evallock run evals/golden.jsonl --base-url http://localhost:8000/v1 --model bot"
    ),
    "no_args_is_help": True,
    "add_completion": False,
    "pretty_exceptions_enable": False,
    "rich_markup_mode": None,
}
app = typer.Typer(**_SETTINGS)
app.command("init")(_init.init)
app.command("run")(_run.run)
app.command("ab")(_ab.ab)
app.command("history")(_history.history)
app.command("drift")(_drift.drift)
app.command("serve")(_serve.serve)
app.command("evaluate")(_evaluate.evaluate)
app.add_typer(_keys.keys_app, name="keys")
app.add_typer(_traces.traces_app, name="traces")
app.add_typer(_candidates.candidates_app, name="candidates")
app.command("compare")(_compare.compare)
app.command("coverage")(_coverage.coverage)
app.command("experiment")(_experiment.experiment)
app.command("demo")(_demo.demo)
app.command("comment")(_comment.comment)
app.add_typer(_import.import_app, name="import")
app.add_typer(_labels.labels_app, name="labels")
app.command("calibration")(_labels.calibration)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script; turns errors into exit codes.

    ``argv`` None means this is the program (the console script): then the
    process's garbage collection is tuned for a short life (see ``_gc``).
    """
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else None
    if argv is None and command in ("run", "ab"):
        _gc.pause()  # resumed as the cases start (``_run.execute``, ``_ab.ab``)
    try:
        _invoke(_app_for(command), argv)
    finally:
        if argv is None:
            _gc.exiting()


def _app_for(command: str | None) -> typer.Typer:
    """``app`` with only ``command`` on it, when that names one of its commands or groups.

    Typer builds every command's options before it parses; building one instead
    of all of them saves some 20 ms of each start-up. Anything else (``--help``,
    a typo) gets the whole app, so help and "no such command" read as before.
    """
    commands = [c for c in app.registered_commands if c.name == command]
    groups = [g for g in app.registered_groups if g.name == command]
    if command is None or not (commands or groups):
        return app
    only = typer.Typer(**_SETTINGS)
    only.registered_commands = commands
    only.registered_groups = groups
    # A Typer of one command and no callback would run it as the root command
    # (``evallock CASES``); the callback keeps ``evallock run CASES``.
    only.callback()(_no_options)
    return only


def _no_options() -> None:
    """The root's callback: ``evallock`` itself takes no options but ``--help``."""


def _invoke(cli: typer.Typer, argv: list[str] | None) -> None:
    """Run ``cli`` and exit with the command's code, or the error's."""
    from evallock.errors import EvallockError

    try:
        code = cli(args=argv, standalone_mode=False)
    except typer.Abort:
        print("evallock: aborted", file=sys.stderr)
        sys.exit(130)
    except KeyboardInterrupt:
        print("evallock: interrupted", file=sys.stderr)
        sys.exit(130)
    except EvallockError as exc:
        from evallock.report import terminal_safe

        # Messages quote case files, traces and answers: no escape sequence reaches the terminal.
        print(f"evallock: error: {terminal_safe(str(exc))}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except Exception as exc:
        # Click's usage errors (typer may vendor its own click): they know how to show themselves.
        show = getattr(exc, "show", None)
        if callable(show) and isinstance(getattr(exc, "exit_code", None), int):
            show()
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        raise
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
