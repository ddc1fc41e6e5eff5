"""Request statistics of the fake service, served at ``GET /_stats``.

Tests read them to assert what actually reached the service: "every case was
answered exactly once", "the runner retried twice", "nothing was asked after
the cache hit". Counters live on the app's event loop; ASGI calls never run
in parallel threads, so plain integers need no lock.

The JSON shape::

    {"requests": 12,
     "by_path": {"/v1/chat/completions": 11, "/health": 1},
     "by_status": {"200": 9, "429": 2},
     "by_model": {"support-bot": {"requests": 11, "answered": 9, "faults": 2}}}

``requests`` per model counts every attempt that named a known model;
``answered`` the ones that got a completion; ``faults`` the injected failures.
The ``/_stats`` routes themselves are not counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ModelCounts", "Stats"]


@dataclass(kw_only=True, slots=True)
class ModelCounts:
    """Counters of one model."""

    requests: int = 0
    """Attempts that named this model."""
    answered: int = 0
    """Attempts answered with a completion."""
    faults: int = 0
    """Attempts failed on purpose by a ``[[fail:…]]`` marker."""


@dataclass(kw_only=True, slots=True)
class Stats:
    """Counters by path, status and model; ``reset`` zeroes them all."""

    requests: int = 0
    """Every counted request."""
    by_path: dict[str, int] = field(default_factory=dict)
    """Requests per URL path."""
    by_status: dict[int, int] = field(default_factory=dict)
    """Responses per HTTP status."""
    by_model: dict[str, ModelCounts] = field(default_factory=dict)
    """Chat completion attempts per model name."""

    def count_path(self, path: str) -> None:
        """Count one request to ``path``."""
        self.requests += 1
        self.by_path[path] = self.by_path.get(path, 0) + 1

    def count_status(self, status: int) -> None:
        """Count one response with ``status``."""
        self.by_status[status] = self.by_status.get(status, 0) + 1

    def _model(self, model: str) -> ModelCounts:
        counts = self.by_model.get(model)
        if counts is None:
            counts = self.by_model[model] = ModelCounts()
        return counts

    def count_model(self, model: str) -> None:
        """Count one chat completion attempt for ``model``."""
        self._model(model).requests += 1

    def count_answer(self, model: str) -> None:
        """Count one completion ``model`` answered."""
        self._model(model).answered += 1

    def count_fault(self, model: str) -> None:
        """Count one injected failure for ``model``."""
        self._model(model).faults += 1

    def reset(self) -> None:
        """Zero every counter."""
        self.requests = 0
        self.by_path.clear()
        self.by_status.clear()
        self.by_model.clear()

    def as_json(self) -> dict[str, Any]:
        """The counters as the JSON object ``GET /_stats`` returns."""
        return {
            "requests": self.requests,
            "by_path": dict(self.by_path),
            "by_status": {str(status): n for status, n in sorted(self.by_status.items())},
            "by_model": {
                name: {"requests": c.requests, "answered": c.answered, "faults": c.faults}
                for name, c in sorted(self.by_model.items())
            },
        }
