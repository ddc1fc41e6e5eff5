"""The demo: a bundled OpenAI-compatible fake service and the example project it serves.

:func:`start_fake_service` runs the fake service (models ``support-bot`` and
``judge``) in a background thread; ``python -m evallock.demo.fake_service``
runs it as a process. :func:`example_dir` is the bundled refund-bot project;
:func:`send_traffic` plays its customers through a recording proxy, and
:func:`send_agent_sessions` the order assistant's two-turn, tool-calling conversations.
"""

from __future__ import annotations

from evallock.demo._asgi import MODELS, FakeServiceApp
from evallock.demo._example import example_dir
from evallock.demo._server import FakeService, start_fake_service
from evallock.demo._traffic import (
    AGENT_TOOLS,
    Customer,
    TrafficResult,
    customers,
    send_agent_sessions,
    send_traffic,
)

__all__ = [
    "AGENT_TOOLS",
    "MODELS",
    "Customer",
    "FakeService",
    "FakeServiceApp",
    "TrafficResult",
    "customers",
    "example_dir",
    "send_agent_sessions",
    "send_traffic",
    "start_fake_service",
]
