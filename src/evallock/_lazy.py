"""Packages whose public names load their module on first use (PEP 562).

A package lists where each name lives; importing the package then costs
nothing, and ``from package import name`` loads only that name's module. The
real imports stay visible to type checkers under ``TYPE_CHECKING``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

__all__ = ["lazy_names"]


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
