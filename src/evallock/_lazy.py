"""Imports paid on first use: lazy package names (PEP 562) and lazy modules.

A package lists where each name lives; importing the package then costs
nothing, and ``from package import name`` loads only that name's module. The
real imports stay visible to type checkers under ``TYPE_CHECKING``.
:func:`lazy_module` stands in for a heavy module (scipy.stats) until it is used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from types import ModuleType
from typing import Any

__all__ = ["lazy_module", "lazy_names"]


def lazy_names(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """The module ``__getattr__`` for ``package``: name → ``package.<home>``'s attribute.

    Example:
        >>> __getattr__ = lazy_names("evallock.stats", {"wilson_interval": "proportions"})
    """

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(f"{package}.{home}"), name)

    return __getattr__


class _LazyModule:
    """Stands in for a module and imports it on the first attribute access."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        if self._module is None:
            self._module = import_module(self._name)
        return getattr(self._module, attribute)


def lazy_module(name: str) -> Any:
    """A stand-in for ``import name`` that imports on first use.

    >>> json = lazy_module("json")
    >>> json.dumps([1])
    '[1]'
    """
    return _LazyModule(name)
