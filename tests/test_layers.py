"""The import contract: evallock's layers, enforced over every module of the package.

From the ground up (the README's architecture section draws the same picture)::

    errors, keys, records, times, limits    the ground floor: imports nothing of evallock above it
    stats                                   statistics
    cases, graders, providers, traces       what a run and an ingest are made of
    store                                   persistence: imports only the ground floor
    runner                                  async orchestration of a run
    gate, evaluation, session, ab, drift,   the use cases
    feedback, analysis, config, scaffold,
    promptfoo, expect, online, calibration, labels
    report                                  terminal, Markdown, JUnit, JSON, HTML
    cli, server, demo, pytest_plugin        the faces

A module may import its own package, anything on a lower layer and other
packages of its own layer, never a layer above; and never another package's
private (``_x``) module, function-local imports included. No exceptions are listed.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import evallock

PACKAGE = Path(evallock.__file__).parent
LAYERS: dict[str, int] = {
    **dict.fromkeys(("errors", "keys", "records", "times", "limits", "_lazy"), 0),
    "stats": 1,
    **dict.fromkeys(("cases", "graders", "providers", "traces"), 2),
    "store": 3,
    "runner": 4,
    **dict.fromkeys(
        (
            "gate",
            "evaluation",
            "session",
            "ab",
            "drift",
            "feedback",
            "analysis",
            "config",
            "scaffold",
            "promptfoo",
            "expect",
            "online",
            "calibration",
            "labels",
        ),
        5,
    ),
    "report": 6,
    **dict.fromkeys(("cli", "server", "demo", "pytest_plugin"), 7),
    "__init__": 8,
}
STORE_MAY_IMPORT = frozenset({"errors", "keys", "records", "times", "limits", "_lazy", "store"})


@functools.cache
def _modules() -> list[tuple[str, str, ast.Module]]:
    """(module name, its top-level package, its syntax tree) for every module."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        name = ".".join(("evallock", *parts)).removesuffix(".__init__")
        top = parts[0] if len(parts) > 1 or parts[0] != "__init__" else "__init__"
        found.append((name, top, ast.parse(path.read_text(encoding="utf-8"))))
    return found


def _imports(tree: ast.Module) -> list[str]:
    """Every evallock module named by an import anywhere in the tree."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
            # ``from evallock.x import _y`` imports a module when _y is one.
            names.extend(
                f"{node.module}.{alias.name}"
                for alias in node.names
                if _is_module(f"{node.module}.{alias.name}")
            )
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return [name for name in names if name.startswith("evallock.")]


def _is_module(name: str) -> bool:
    path = PACKAGE.joinpath(*name.split(".")[1:])
    return path.is_dir() or path.with_suffix(".py").is_file()


def _violations(modules: list[tuple[str, str, ast.Module]]) -> list[str]:
    problems = []
    for module, top, tree in modules:
        for imported in _imports(tree):
            parts = imported.split(".")
            other = parts[1]
            if other == top:
                continue
            if other not in LAYERS:
                continue  # ``from evallock.x import name``: checked as evallock.x itself
            if LAYERS[other] > LAYERS[top]:
                problems.append(f"{module} imports {imported}: a layer above it")
            if top == "store" and other not in STORE_MAY_IMPORT:
                problems.append(f"{module} imports {imported}: the store is the bottom layer")
            if any(part.startswith("_") and part != "__init__" for part in parts[2:]):
                problems.append(f"{module} imports {imported}: another package's private module")
    return sorted(set(problems))


def test_every_package_has_a_layer() -> None:
    tops = {top for _, top, _ in _modules()}
    assert tops <= set(LAYERS), f"give these a layer: {sorted(tops - set(LAYERS))}"


def test_imports_point_down_and_never_into_private_modules() -> None:
    problems = _violations(_modules())
    assert not problems, "\n".join(problems)


def test_the_contract_finds_what_it_forbids() -> None:
    # The checker itself, on a made-up store module that breaks every rule once.
    source = (
        "def f():\n"
        "    from evallock.report.drift import x\n"  # a layer above, hidden in a function
        "from evallock.runner._writer import y\n"  # private, and above the store
        "from evallock.stats import z\n"  # below the store, but not the ground floor
        "from evallock.records import Run\n"  # allowed
    )
    problems = _violations([("evallock.store._made_up", "store", ast.parse(source))])
    assert any("report.drift: a layer above" in p for p in problems)
    assert any("runner._writer: another package's private module" in p for p in problems)
    assert any("evallock.stats: the store is the bottom layer" in p for p in problems)
    assert not any("records" in p for p in problems)
