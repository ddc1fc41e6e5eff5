"""The ``evallock`` command: the typer app, its commands, and exit codes.

Exit codes everywhere: 0 ok · 1 the gate failed or an alert fired · 2 bad input
or usage · 3 infrastructure (target, judge or store unreachable after retries).
Command modules import the library lazily, inside the command, so ``--help``
and start-up stay fast.
"""

from __future__ import annotations

import sys

import typer

from evallock.cli import (
    _ab,
    _candidates,
    _compare,
    _coverage,
    _demo,
    _drift,
    _history,
    _init,
    _keys,
    _run,
    _serve,
    _traces,
)

__all__ = ["app", "main"]

app = typer.Typer(
    name="evallock",
    help=(
        "Tell an LLM team their service got worse before their users do.\n\n"
        "Example: evallock run evals/golden.jsonl --base-url http://localhost:8000/v1 --model bot"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.command("init")(_init.init)
app.command("run")(_run.run)
app.command("ab")(_ab.ab)
app.command("history")(_history.history)
app.command("drift")(_drift.drift)
app.command("serve")(_serve.serve)
app.add_typer(_keys.keys_app, name="keys")
app.add_typer(_traces.traces_app, name="traces")
app.add_typer(_candidates.candidates_app, name="candidates")
app.command("compare")(_compare.compare)
app.command("coverage")(_coverage.coverage)
app.command("demo")(_demo.demo)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script; turns errors into exit codes."""
    from evallock.errors import EvallockError

    try:
        code = app(args=argv, standalone_mode=False)
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
