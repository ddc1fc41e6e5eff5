"""Shared fixtures: the bundled fake service, and stores on SQLite and PostgreSQL.

PostgreSQL is the server at 127.0.0.1:5432 (database ``test``, trust auth) or
``EVALLOCK_TEST_POSTGRES_URL``; each test gets a fresh schema, dropped after.
Unreachable, its tests skip locally and fail in CI (``CI=true``). On SQLite, a
test that opens the store (``store``) starts from a copy of a migrated, empty
file, made once per session: the same new store, without migrating it again.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import psycopg
import pytest

from evallock.cli.main import main
from evallock.demo import FakeService, start_fake_service
from evallock.store import Store, open_store

_CANDIDATE_URLS = (
    "postgresql://root@127.0.0.1:5432/test",
    "postgresql://postgres@127.0.0.1:5432/test",
)
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


def _find_postgres() -> tuple[str | None, str]:
    configured = os.environ.get("EVALLOCK_TEST_POSTGRES_URL")
    problems = []
    for url in (configured,) if configured else _CANDIDATE_URLS:
        try:
            with psycopg.connect(url, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
            return url, ""
        except psycopg.Error as exc:
            problems.append(f"{url}: {str(exc).strip().splitlines()[0]}")
    return None, "; ".join(problems)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A reachable PostgreSQL database; skips (locally) or fails (CI) without one."""
    url, problem = _find_postgres()
    if url is None:
        message = f"PostgreSQL not reachable ({problem})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " and CI=true: the PostgreSQL suite must run in CI")
        pytest.skip(message)
    return url


@pytest.fixture
def postgres_schema_url(postgres_url: str) -> Iterator[str]:
    """A URL whose search_path is a fresh schema, dropped with CASCADE afterwards."""
    schema = f"evl_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{postgres_url}?options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """A migrated, empty SQLite store file (None if closing it left a journal behind)."""
    path = tmp_path_factory.mktemp("store-template") / "evallock.db"
    open_store(f"sqlite:///{path}").close()
    leftovers = [p for p in path.parent.iterdir() if p != path]
    return None if leftovers else path


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store URL on each backend: unopened, except that on SQLite, when the test opens
    it with ``store``, the file is already a migrated, empty store."""
    path = tmp_path / "store" / "evallock.db"
    if request.param == "sqlite":
        if "store" in request.fixturenames:
            template = request.getfixturevalue("_sqlite_template")
            if template is not None:
                path.parent.mkdir()
                shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    return str(request.getfixturevalue("postgres_schema_url"))


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An open, migrated store on each backend; closed afterwards."""
    opened = open_store(store_url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """An open SQLite store, for tests whose subject is not the store."""
    opened = open_store(f"sqlite:///{tmp_path}/evallock.db")
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture(scope="session")
def fake_service() -> Iterator[FakeService]:
    """The bundled OpenAI-compatible service (models support-bot and judge) on loopback."""
    with start_fake_service() as service:
        yield service


@pytest.fixture
def service_stats(fake_service: FakeService) -> FakeStats:
    """Request counters of the fake service, reset for this test."""
    stats = FakeStats(fake_service)
    stats.reset()
    return stats


class FakeStats:
    """Reads ``/_stats`` of the fake service: what really reached it."""

    def __init__(self, service: FakeService) -> None:
        self._root = service.base_url.rsplit("/v1", 1)[0]

    def reset(self) -> None:
        httpx.post(f"{self._root}/_stats/reset").raise_for_status()

    def get(self) -> dict:  # type: ignore[type-arg]
        response = httpx.get(f"{self._root}/_stats")
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    def model(self, name: str) -> dict:  # type: ignore[type-arg]
        return self.get()["by_model"].get(name, {"requests": 0, "answered": 0, "faults": 0})  # type: ignore[no-any-return]


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Callable[..., Result]:
    """Run ``evallock ARGS`` in-process in ``tmp_path``; returns exit code and output."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)

    def invoke(*args: str) -> Result:
        capsys.readouterr()
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0
        else:  # pragma: no cover - main always exits
            code = 0
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return invoke
