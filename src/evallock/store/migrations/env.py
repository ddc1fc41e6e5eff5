"""Alembic environment: runs the migrations on the connection the store hands over.

The store opens the connection and the transaction (holding the migration lock),
then passes the connection as ``config.attributes["connection"]``; nothing here
reads an ini file or a URL.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection


def _run() -> None:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError(
            "evallock migrations run through evallock.store.open_store, "
            "which passes config.attributes['connection']"
        )
    context.configure(
        connection=connection,
        # SQLite cannot ALTER most things; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


# Alembic executes this file during an upgrade; importing it otherwise (doctest
# collection, an import-walking test) must do nothing.
if getattr(context, "_proxy", None) is not None:
    _run()
