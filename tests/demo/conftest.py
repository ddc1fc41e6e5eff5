"""Fixtures for the demo tests: one fake service per module, reached over real HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from evallock.demo import FakeService, start_fake_service

Ask = Callable[..., httpx.Response]
"""``ask(user, *, system=None, model="support-bot", **fields) -> httpx.Response``."""


@pytest.fixture(scope="module")
def service() -> Iterator[FakeService]:
    """The bundled fake service on a free loopback port, for the whole module."""
    with start_fake_service() as running:
        yield running


@pytest.fixture(scope="module")
def client(service: FakeService) -> Iterator[httpx.Client]:
    """An httpx client whose base URL is the service's ``…/v1``."""
    with httpx.Client(base_url=service.base_url, timeout=10) as http:
        yield http


@pytest.fixture(scope="module")
def ask(client: httpx.Client) -> Ask:
    """POST one chat completion: a user message, an optional system prompt, extra fields."""

    def _ask(
        user: str, *, system: str | None = None, model: str = "support-bot", **fields: Any
    ) -> httpx.Response:
        messages = [] if system is None else [{"role": "system", "content": system}]
        messages.append({"role": "user", "content": user})
        body = {"model": model, "messages": messages, **fields}
        return client.post("/chat/completions", json=body)

    return _ask


def content_of(response: httpx.Response) -> str:
    """The first choice's content of a successful completion."""
    assert response.status_code == 200, response.text
    text: str = response.json()["choices"][0]["message"]["content"]
    return text


@pytest.fixture(scope="session")
def content() -> Callable[[httpx.Response], str]:
    """:func:`content_of`, as a fixture so test modules need not import conftest."""
    return content_of
