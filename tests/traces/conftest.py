"""Fixtures for the trace tests: the example payloads of interop.md, as files under data/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture
def genai_export() -> dict[str, Any]:
    """interop §3.7: an OTLP/JSON export of one inference span, newest GenAI conventions."""
    return orjson.loads((DATA / "genai_new_span.json").read_bytes())


@pytest.fixture
def evaluation_export() -> dict[str, Any]:
    """interop §1.9: a gen_ai.evaluation.result event as an OTLP/JSON log export."""
    return orjson.loads((DATA / "evaluation_event.json").read_bytes())


@pytest.fixture
def openinference_attributes() -> dict[str, Any]:
    """interop §2.5: the span attributes of the same call, OpenInference flavour."""
    return orjson.loads((DATA / "openinference_attributes.json").read_bytes())
