"""The examples in the demo modules' docstrings run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "evallock.demo._bot",
    "evallock.demo._completion",
    "evallock.demo._faults",
    "evallock.demo._judge",
    "evallock.demo._knowledge",
    "evallock.demo._policy",
    "evallock.demo._tools",
    "evallock.demo._traffic",
    "evallock.demo._user",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
