"""Lazy imports of scipy: loaded on first use, so importing evallock.stats stays cheap.

The deploy gate needs only a Wilson interval; loading scipy.stats for it would
add about half a second and 30 MB to every ``evallock run``. The stand-in itself
is the project's (:func:`evallock._lazy.lazy_module`).
"""

from __future__ import annotations

from evallock._lazy import lazy_module

__all__ = ["lazy_module"]
