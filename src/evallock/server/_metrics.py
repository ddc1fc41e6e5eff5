"""Counters of the running service, shown at ``/healthz`` and ``/api/stats``.

The service runs on one event loop, and the writer's thread hands its results
back to that loop before counting, so plain integers suffice: every increment
happens on the loop's thread.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Metrics"]


@dataclass(kw_only=True, slots=True)
class Metrics:
    """What the service has done since it started."""

    started_at: float = field(default_factory=time.time)
    """Unix time the service started."""
    spans_received: int = 0
    """OTLP spans (and log records) decoded from accepted requests."""
    spans_rejected: int = 0
    """Of those, how many were unusable (reported as OTLP partial success)."""
    metric_points_dropped: int = 0
    """OTLP metric data points received on ``/v1/metrics`` and dropped (not stored)."""
    traces_written: int = 0
    """Trace summaries committed to the store."""
    feedback_written: int = 0
    """Feedback items committed to the store."""
    batches_committed: int = 0
    """Writer transactions committed."""
    commit_failures: int = 0
    """Writer transactions that failed (their requests were answered 503)."""
    decode_busy: int = 0
    """Ingest and feedback requests answered 429: the decode budget was spent."""
    proxy_requests: int = 0
    """Requests through the recording proxy."""
    proxy_upstream_errors: int = 0
    """Proxy requests the upstream answered with 4xx/5xx or did not answer at all."""
    recording_failures: int = 0
    """Proxy traces that could not be stored (the answer still went out)."""
    recording_dropped: int = 0
    """Proxy traces dropped because the writer's queue was full."""
    drift_checks: int = 0
    """Scheduled drift checks that ran (``serve --drift-every``)."""
    drift_alerts: int = 0
    """Of those, how many alerted."""
    drift_failures: int = 0
    """Scheduled drift checks that failed (logged; the service goes on)."""

    def snapshot(self) -> dict[str, Any]:
        """The counters as a JSON object, with the uptime in seconds."""
        values = asdict(self)
        values["uptime_s"] = round(time.time() - self.started_at, 3)
        return values
