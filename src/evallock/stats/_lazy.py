"""Lazy imports of scipy: loaded on first use, so importing evallock.stats stays cheap.

The deploy gate needs only a Wilson interval; loading scipy.stats for it would
add about half a second and 30 MB to every ``evallock run``.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

__all__ = ["lazy_module"]


class _LazyModule:
    """Stands in for a module and imports it on the first attribute access."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attribute)


def lazy_module(name: str) -> Any:
    """A stand-in for ``import name`` that imports on first use."""
    return _LazyModule(name)
