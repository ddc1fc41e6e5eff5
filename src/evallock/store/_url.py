"""Store URLs: which backend a URL picks, its driver, and how it is shown to people.

A user writes ``sqlite:///.evallock/evallock.db`` or ``postgresql://user@host/db``;
SQLAlchemy needs the driver spelled out (``postgresql+psycopg``), and messages must
never show a password. Both concerns live here so the rest of the store sees one
parsed, validated URL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

__all__ = ["StoreURL", "UnsupportedURLError", "mask_url", "parse_store_url"]

_POSTGRES_SCHEMES = frozenset({"postgresql", "postgres", "postgresql+psycopg"})
_SQLITE_SCHEMES = frozenset({"sqlite", "sqlite+pysqlite"})
_PASSWORD = re.compile(r"(://[^:/@]*:)[^@]*@")


class UnsupportedURLError(ValueError):
    """A URL that does not name a SQLite or PostgreSQL database."""


@dataclass(frozen=True, kw_only=True, slots=True)
class StoreURL:
    """A parsed store URL, ready for ``create_engine``."""

    url: URL
    """The SQLAlchemy URL with the driver made explicit."""
    shown: str
    """The URL as the user wrote it, password masked: safe for messages."""
    backend: str
    """``sqlite`` or ``postgresql``."""

    @property
    def sqlite_path(self) -> Path | None:
        """The database file of a file-backed SQLite URL; None for memory or PostgreSQL."""
        if self.backend != "sqlite":
            return None
        database = self.url.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            return None
        return Path(database)

    @property
    def in_memory(self) -> bool:
        """True for ``sqlite://`` and ``sqlite:///:memory:``."""
        return self.backend == "sqlite" and (self.url.database or ":memory:") == ":memory:"


def mask_url(raw: str) -> str:
    """The URL with its password replaced by ``***``, even when it does not parse.

    >>> mask_url("postgresql://bob:s3cret@db/evals")
    'postgresql://bob:***@db/evals'
    """
    try:
        return make_url(raw).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return _PASSWORD.sub(r"\1***@", raw)


def parse_store_url(raw: str) -> StoreURL:
    """Parse a store URL and pick its driver (psycopg 3 for PostgreSQL).

    Raises:
        UnsupportedURLError: not a URL, or a backend other than SQLite or PostgreSQL.
    """
    shown = mask_url(raw)
    try:
        url = make_url(raw)
    except (ArgumentError, ValueError) as exc:
        raise UnsupportedURLError(
            "not a database URL (expected sqlite:///… or postgresql://…)"
        ) from exc
    scheme = url.drivername
    if scheme in _POSTGRES_SCHEMES:
        return StoreURL(
            url=url.set(drivername="postgresql+psycopg"), shown=shown, backend="postgresql"
        )
    if scheme in _SQLITE_SCHEMES:
        return StoreURL(url=url, shown=shown, backend="sqlite")
    raise UnsupportedURLError(f"unsupported backend {scheme!r} (expected sqlite or postgresql)")
