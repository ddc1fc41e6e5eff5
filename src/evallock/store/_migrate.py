"""Schema upgrades: bring a database to the newest migration, importing Alembic only then.

Opening a store that is already current costs one ``SELECT`` on ``alembic_version``.
Otherwise the upgrade runs inside one write transaction that first takes the
migration lock (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: an advisory lock) and
re-reads the version, so two processes opening a new store at once do not both
create the tables.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from evallock.store._engine import lock_for_migration, write_connection
from evallock.store.migrations import HEAD_REVISION, MIGRATIONS_DIR

__all__ = ["current_revision", "is_current", "upgrade_to_head"]

_VERSION_QUERY = text("SELECT version_num FROM alembic_version")


def current_revision(conn: Connection) -> str | None:
    """The revision the database is at, or None for a database with no migrations yet."""
    try:
        with conn.begin_nested() if conn.in_transaction() else conn.begin():
            rows = conn.execute(_VERSION_QUERY).scalars().all()
    except DBAPIError:
        # No alembic_version table: a new, empty database.
        return None
    if len(rows) != 1:
        return None if not rows else ",".join(sorted(rows))
    return str(rows[0])


def is_current(engine: Engine) -> bool:
    """True when the database is at :data:`HEAD_REVISION` (connecting if needed)."""
    with engine.connect() as conn:
        return current_revision(conn) == HEAD_REVISION


def upgrade_to_head(engine: Engine) -> None:
    """Apply every pending migration in one transaction.

    Raises:
        RuntimeError: the database is at a revision this version of evallock does
            not know (written by a newer evallock).
        sqlalchemy.exc.SQLAlchemyError: the database refused a statement.
    """
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    with write_connection(engine) as conn:
        lock_for_migration(conn)
        current = current_revision(conn)
        if current == HEAD_REVISION:
            return  # another process migrated while we waited for the lock
        known = {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}
        if current is not None and current not in known:
            raise RuntimeError(
                f"the database is at schema revision {current!r}, which this evallock "
                "does not know; upgrade evallock"
            )
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
