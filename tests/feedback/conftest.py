"""Feedback fixtures: the loop's commands on the ``evallock`` app, and seeded complaints."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from evallock.records import Feedback, Trace

T0 = datetime(2026, 10, 4, 9, 0, tzinfo=UTC)
HOSTILE = (
    "\x1b[2J\x1b[31mRED[/] [bold]markup[/bold] <script>alert(1)</script> \x07 '; DROP TABLE x; --"
)
KEYS = {"prompt_version": "refund-v4", "intent": "refund", "customer_tier": "enterprise"}


def register_loop_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    """Put ``candidates``, ``compare`` and ``coverage`` on the app, unless the lead already has."""
    from evallock.cli import main as cli_main
    from evallock.cli._candidates import candidates_app
    from evallock.cli._compare import compare
    from evallock.cli._coverage import coverage

    app = cli_main.app
    commands = list(app.registered_commands)
    groups = list(app.registered_groups)
    names = {c.name for c in commands}
    if "candidates" not in {g.name for g in groups}:
        scratch = type(app)()
        scratch.add_typer(candidates_app, name="candidates")
        groups += scratch.registered_groups
    for name, command in (("compare", compare), ("coverage", coverage)):
        if name not in names:
            scratch = type(app)()
            scratch.command(name)(command)
            commands += scratch.registered_commands
    monkeypatch.setattr(app, "registered_commands", commands)
    monkeypatch.setattr(app, "registered_groups", groups)


@pytest.fixture
def loop_cli(cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """The ``cli`` fixture with the feedback-loop commands registered."""
    register_loop_commands(monkeypatch)
    return cli


def tid(n: int) -> str:
    """A trace id whose first 8 hex digits (a candidate's id) differ from n to n."""
    return f"{n:08x}" + "ab" * 12


def complaint(
    n: int,
    text: str,
    *,
    keys: dict[str, str] | None = None,
    minutes: int | None = None,
    output: str = "Enterprise contract refunds take 30 days.",
) -> tuple[Trace, Feedback]:
    """A trace and its thumbs-down."""
    at = T0 + timedelta(minutes=n if minutes is None else minutes)
    return (
        Trace(
            trace_id=tid(n),
            timestamp=at,
            input=text,
            output=output,
            keys=dict(KEYS if keys is None else keys),
            source="import",
        ),
        Feedback(
            feedback_id=f"fb-{n}",
            trace_id=tid(n),
            rating="down",
            score=0.0,
            comment="wrong",
            name="user_feedback",
            created_at=at,
        ),
    )


def seed(store: Any, items: list[tuple[Trace, Feedback]]) -> None:
    store.traces.add([t for t, _ in items])
    store.feedback.add([f for _, f in items])
