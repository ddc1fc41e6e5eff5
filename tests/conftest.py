"""Shared fixtures: the bundled fake service, and stores on SQLite and PostgreSQL.

PostgreSQL is the server at 127.0.0.1:5432 (database ``test``, trust auth) or
``EVALLOCK_TEST_POSTGRES_URL``; each test gets a schema of its own. Unreachable,
its tests skip locally and fail in CI (``CI=true``). A test that opens the store
(``store``) starts from a migrated, empty store without migrating it again: on
SQLite a copy of a file migrated once per session, on PostgreSQL a schema migrated
once per test process and emptied after each test (:class:`PostgresSchemas`).
Other tests get a new, empty file or schema, dropped after.

Safe under pytest-xdist (``make unit`` runs one worker per core): temporary paths come
from ``tmp_path``, ports are picked by the OS, schemas are named per process.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from graphlib import TopologicalSorter
from pathlib import Path
from urllib.parse import quote

import httpx
import psycopg
import pytest
from hypothesis import settings

from evallock.cli.main import main
from evallock.demo import FakeService, start_fake_service
from evallock.store import Store, open_store

# One BLAS/OpenMP thread per test process: the suite runs as pytest-xdist workers,
# one per core, and a multithreaded OpenBLAS competing with them for the cores runs
# the drift tests' small solves several times slower. Set before anything imports
# numpy (nothing imported above does); subprocesses inherit it.
for _threads in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_threads, "1")

_CANDIDATE_URLS = (
    "postgresql://root@127.0.0.1:5432/test",
    "postgresql://postgres@127.0.0.1:5432/test",
)
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


# Speed belongs to bench/, never to unit tests: Hypothesis's default 200 ms deadline per
# example is a timing assertion, and on 2 loaded cores it failed a correct test
# (tests/ab/test_analysis.py, 253 ms once, 164 ms on the retry). No deadline, anywhere.
settings.register_profile("evallock", deadline=None)
settings.load_profile("evallock")


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


_OWNER_LOCK = 0x65766C74
"""First key of the advisory lock a test process holds while its schemas live ("evlt")."""
_SCHEMA_NAME = re.compile(r"evl_([0-9a-f]{8})_[0-9a-f]{8}")
_BIG_DELETE = 1000
"""A table that lost more rows than this is vacuumed before its schema is reused."""
_DEFINITION = """
SELECT md5(coalesce(string_agg(item, E'\\n' ORDER BY item), '')) FROM (
  SELECT format('class %%s %%s', relname, relkind) AS item
    FROM pg_class WHERE relnamespace = %(ns)s::regnamespace
  UNION ALL
  SELECT format('column %%s.%%s %%s %%s %%s', c.relname, a.attname,
                format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid))
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE c.relnamespace = %(ns)s::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT format('constraint %%s %%s', conname, pg_get_constraintdef(oid))
    FROM pg_constraint WHERE connamespace = %(ns)s::regnamespace
  UNION ALL
  SELECT format('index %%s', pg_get_indexdef(i.indexrelid))
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
    WHERE c.relnamespace = %(ns)s::regnamespace
  UNION ALL
  SELECT format('trigger %%s', t.tgname) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    WHERE c.relnamespace = %(ns)s::regnamespace AND NOT t.tgisinternal
  UNION ALL
  SELECT format('type %%s %%s', typname, typtype)
    FROM pg_type WHERE typnamespace = %(ns)s::regnamespace
  UNION ALL
  SELECT format('function %%s', oid::regprocedure)
    FROM pg_proc WHERE pronamespace = %(ns)s::regnamespace
) AS items
"""
"""One hash of a schema's definition: what a test could change besides the rows."""
_REFERENCES = """
SELECT c.relname, r.relname FROM pg_constraint k
  JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class r ON r.oid = k.confrelid
  WHERE k.contype = 'f' AND k.connamespace = %(ns)s::regnamespace
"""


@dataclass(frozen=True)
class _Migrated:
    """A migrated schema as migration left it, to check it against before reusing it."""

    definition: str
    versions: tuple[str, ...]
    tables: tuple[str, ...]
    """Every table but ``alembic_version``, each before the tables it references."""
    sequences: tuple[str, ...]


class PostgresSchemas:
    """The PostgreSQL schemas of this test process (one per pytest-xdist worker).

    Each is named ``evl_<owner>_<random>``; ``owner`` keys a session advisory lock
    held by this process's admin connection, so a later session drops the schemas a
    killed run left behind (lock free) and never those of a live one (lock held).

    A migrated schema (``store`` on PostgreSQL) is migrated by ``open_store`` as a new
    database is, then reused, like the SQLite template: after the test its rows are
    deleted and its sequences restarted, unless the test changed its definition or
    its ``alembic_version``; then it is dropped. Creating tables costs far more than
    deleting a test's rows, and leaves the catalog more dead rows to wade through.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._admin = psycopg.connect(url, autocommit=True)
        owner = secrets.randbits(31)
        self._owner = f"{owner:08x}"
        self._admin.execute("SELECT pg_advisory_lock(%s, %s)", (_OWNER_LOCK, owner))
        self._migrated: dict[str, _Migrated] = {}
        self._clean: list[str] = []
        self._drop_abandoned()

    def _drop_abandoned(self) -> None:
        rows = self._admin.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'evl%'")
        for (name,) in rows.fetchall():
            found = _SCHEMA_NAME.fullmatch(name)
            if found is None:
                continue
            key = (_OWNER_LOCK, int(found.group(1), 16))
            locked = self._admin.execute("SELECT pg_try_advisory_lock(%s, %s)", key).fetchone()
            if locked != (True,):
                continue  # its run is still going
            try:
                self._admin.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
            finally:
                self._admin.execute("SELECT pg_advisory_unlock(%s, %s)", key)

    def url_of(self, schema: str) -> str:
        """The database URL with ``schema`` as its search_path."""
        return f"{self.url}?options={quote(f'-csearch_path={schema}')}"

    def create(self) -> str:
        """A new, empty schema."""
        schema = f"evl_{self._owner}_{secrets.token_hex(4)}"
        self._admin.execute(f'CREATE SCHEMA "{schema}"')
        return schema

    def drop(self, schema: str) -> None:
        self._migrated.pop(schema, None)
        self._admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    def take_migrated(self) -> str:
        """A migrated schema without rows: a reused one, else a new one migrated now."""
        if self._clean:
            return self._clean.pop()
        schema = self.create()
        open_store(self.url_of(schema)).close()
        self._migrated[schema] = self._describe(schema)
        return schema

    def give_back(self, schema: str) -> None:
        """Empty ``schema`` for another test, or drop it if the test changed its definition."""
        known = self._migrated[schema]
        big = []
        try:
            with self._admin.transaction():
                self._admin.execute("SET LOCAL lock_timeout = '5s'")
                if self._signature(schema) != (known.definition, known.versions):
                    raise LookupError(f"schema {schema} changed")
                for table in known.tables:
                    deleted = self._admin.execute(f'DELETE FROM "{schema}"."{table}"').rowcount
                    if deleted > _BIG_DELETE:
                        big.append(table)
                for sequence in known.sequences:
                    self._admin.execute(
                        "SELECT setval(%s, 1, false)", (f'"{schema}"."{sequence}"',)
                    )
        except (LookupError, psycopg.Error):
            self.drop(schema)
            return
        for table in big:
            self._admin.execute(f'VACUUM "{schema}"."{table}"')
        self._clean.append(schema)

    def close(self) -> None:
        """Drop the schemas kept for reuse and release the owner lock."""
        try:
            for schema in list(self._migrated):
                self.drop(schema)
        finally:
            self._admin.close()

    def _signature(self, schema: str) -> tuple[str, tuple[str, ...]]:
        row = self._admin.execute(_DEFINITION, {"ns": f'"{schema}"'}).fetchone()
        versions = self._admin.execute(f'SELECT version_num FROM "{schema}".alembic_version')
        return str(row[0] if row else ""), tuple(sorted(v for (v,) in versions))

    def _describe(self, schema: str) -> _Migrated:
        ns = {"ns": f'"{schema}"'}
        kinds = self._admin.execute(
            "SELECT relname, relkind FROM pg_class WHERE relnamespace = %(ns)s::regnamespace", ns
        ).fetchall()
        tables = {name for name, kind in kinds if kind in ("r", "p")} - {"alembic_version"}
        referencing: dict[str, set[str]] = {table: set() for table in tables}
        for table, referenced in self._admin.execute(_REFERENCES, ns):
            if table != referenced:
                referencing[referenced].add(table)
        definition, versions = self._signature(schema)
        return _Migrated(
            definition=definition,
            versions=versions,
            tables=tuple(TopologicalSorter(referencing).static_order()),
            sequences=tuple(sorted(name for name, kind in kinds if kind == "S")),
        )


@pytest.fixture(scope="session")
def _postgres_schemas(postgres_url: str) -> Iterator[PostgresSchemas]:
    schemas = PostgresSchemas(postgres_url)
    try:
        yield schemas
    finally:
        schemas.close()


@pytest.fixture
def postgres_schema_url(_postgres_schemas: PostgresSchemas) -> Iterator[str]:
    """A URL whose search_path is a fresh, empty schema, dropped with CASCADE afterwards."""
    schema = _postgres_schemas.create()
    try:
        yield _postgres_schemas.url_of(schema)
    finally:
        _postgres_schemas.drop(schema)


@pytest.fixture
def postgres_migrated_url(_postgres_schemas: PostgresSchemas) -> Iterator[str]:
    """A URL whose search_path is a migrated schema without rows (emptied afterwards)."""
    schema = _postgres_schemas.take_migrated()
    try:
        yield _postgres_schemas.url_of(schema)
    finally:
        _postgres_schemas.give_back(schema)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """A migrated, empty SQLite store file (None if closing it left a journal behind)."""
    path = tmp_path_factory.mktemp("store-template") / "evallock.db"
    open_store(f"sqlite:///{path}").close()
    leftovers = [p for p in path.parent.iterdir() if p != path]
    return None if leftovers else path


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store URL on each backend: unopened, except that when the test opens it with
    ``store``, the database is already a migrated, empty store."""
    path = tmp_path / "store" / "evallock.db"
    if request.param == "sqlite":
        if "store" in request.fixturenames:
            template = request.getfixturevalue("_sqlite_template")
            if template is not None:
                path.parent.mkdir()
                shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    if "store" in request.fixturenames:
        return str(request.getfixturevalue("postgres_migrated_url"))
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
def sqlite_store(tmp_path: Path, _sqlite_template: Path | None) -> Iterator[Store]:
    """An open SQLite store, for tests whose subject is not the store (a template copy)."""
    path = tmp_path / "evallock.db"
    if _sqlite_template is not None:
        shutil.copyfile(_sqlite_template, path)
    opened = open_store(f"sqlite:///{path}")
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
