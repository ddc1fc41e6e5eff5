"""Reports of a drift check: the JSON shape lives with the check itself (``evallock.drift``)."""

from __future__ import annotations

from evallock.drift import drift_report

__all__ = ["drift_report"]
