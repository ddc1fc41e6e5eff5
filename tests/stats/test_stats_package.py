"""The package surface: sorted exports, and no CLI, web or terminal frameworks imported."""

from __future__ import annotations

import ast
from pathlib import Path

import evallock.stats as stats

FORBIDDEN = {"typer", "rich", "fastapi", "uvicorn", "starlette"}
PACKAGE = Path(stats.__file__).parent


def test_all_is_complete() -> None:
    assert len(set(stats.__all__)) == len(stats.__all__)
    for name in stats.__all__:
        assert hasattr(stats, name), name


def test_library_imports_no_frameworks() -> None:
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                roots = {node.module.split(".")[0]}
            else:
                continue
            assert not roots & FORBIDDEN, f"{path.name} imports {roots & FORBIDDEN}"


def test_modules_stay_small() -> None:
    for path in PACKAGE.glob("*.py"):
        assert len(path.read_text(encoding="utf-8").splitlines()) <= 800, path.name
