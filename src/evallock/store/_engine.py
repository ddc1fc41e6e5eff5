"""Engines: one SQLAlchemy engine per store, with each backend's settings in one place.

SQLite gets WAL (readers never block the writer), a busy timeout (writers queue
instead of failing), foreign keys, and SQLAlchemy in charge of ``BEGIN`` so DDL is
transactional and writes can take the lock up front (``BEGIN IMMEDIATE``).
PostgreSQL gets psycopg 3 and a connect timeout. Everything else that differs
between the two (insert-or-ignore, the migration lock) is a function here too.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Table, event, text
from sqlalchemy.engine import Connection, Engine, create_engine
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.dml import Insert

from evallock.store._url import StoreURL

__all__ = ["connect_engine", "insert_or_ignore", "lock_for_migration", "write_connection"]

SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for another writer before giving up."""
POSTGRES_CONNECT_TIMEOUT_S = 10
"""How long to wait for a PostgreSQL server that does not answer."""
_WRITE = "evallock_write"
_MIGRATION_LOCK_ID = 0x6576_6C6C_6F63  # "evlloc": one advisory lock id for migrations


def connect_engine(store_url: StoreURL) -> Engine:
    """Create the engine for a store URL (no connection is made yet).

    For a file-backed SQLite URL the parent directory is created first.

    Raises:
        OSError: the SQLite file's directory cannot be created.
    """
    if store_url.backend == "postgresql":
        query = store_url.url.query
        args: dict[str, Any] = {}
        if "connect_timeout" not in query:
            args["connect_timeout"] = POSTGRES_CONNECT_TIMEOUT_S
        return create_engine(store_url.url, connect_args=args, pool_pre_ping=True)
    path = store_url.sqlite_path
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    if store_url.in_memory:
        # One shared connection: every pool connection would otherwise be its own empty database.
        engine = create_engine(
            store_url.url, poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    else:
        engine = create_engine(store_url.url)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Stop sqlite3 from issuing BEGIN itself (it skips it for DDL and SELECT);
    # _sqlite_on_begin issues it instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        # busy_timeout first: switching to WAL needs a lock another process may hold.
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS:d}")
        cursor.execute("PRAGMA foreign_keys = ON")
        _enable_wal(cursor)
    finally:
        cursor.close()


def _enable_wal(cursor: Any) -> None:
    # WAL is a property of the file, so this only changes anything on a new database.
    # The switch needs an exclusive lock and SQLite reports "database is locked" at
    # once instead of calling the busy handler, so concurrent first opens retry here.
    if cursor.execute("PRAGMA journal_mode").fetchone()[0] in ("wal", "memory"):
        return
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    delay = 0.005
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL").fetchone()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def _sqlite_on_begin(conn: Connection) -> None:
    # A write transaction takes the write lock at BEGIN; a deferred one that later
    # writes can fail with SQLITE_BUSY at once instead of waiting its turn.
    immediate = conn.get_execution_options().get(_WRITE, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def write_connection(engine: Engine) -> Iterator[Connection]:
    """A connection inside one write transaction: committed on success, rolled back on error."""
    with engine.connect() as conn:
        conn = conn.execution_options(**{_WRITE: True})
        with conn.begin():
            yield conn


def insert_or_ignore(dialect_name: str, table: Table) -> Insert:
    """An INSERT that skips rows whose primary key already exists (first write wins)."""
    if dialect_name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).on_conflict_do_nothing()


def lock_for_migration(conn: Connection) -> None:
    """Serialise migrations between processes for the rest of this transaction.

    On SQLite the write transaction's ``BEGIN IMMEDIATE`` already holds the lock.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
