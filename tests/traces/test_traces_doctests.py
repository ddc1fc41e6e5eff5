"""The examples in the trace modules' docstrings run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "evallock.times",  # owned with the traces: the times OTLP and the trace queries read
    "evallock.traces._batch",
    "evallock.traces._feedback",
    "evallock.traces._ids",
    "evallock.traces._messages",
    "evallock.traces._langfuse",
    "evallock.traces._openinference",
    "evallock.traces._responses",
    "evallock.traces._spans",
    "evallock.traces._summary",
    "evallock.traces._tools",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


def test_library_modules_import_no_cli_or_web_toolkit() -> None:
    from pathlib import Path

    import evallock.traces

    for path in Path(evallock.traces.__file__).parent.glob("*.py"):
        text = path.read_text()
        for toolkit in ("typer", "rich", "fastapi", "starlette"):
            assert f"import {toolkit}" not in text and f"from {toolkit}" not in text, (
                path,
                toolkit,
            )
