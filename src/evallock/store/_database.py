"""The database: one engine shared by every repository, and the transactions they run in.

A repository asks for :meth:`Database.write` (one write transaction, committed on
success) or :meth:`Database.read`; either turns a database failure into
:class:`evallock.errors.StoreError` with the masked URL and one line of reason,
and refuses once the store is closed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from evallock.errors import StoreError
from evallock.store._engine import write_connection

__all__ = ["Database", "check_aware", "check_page", "check_window", "describe_error"]

_MAX_PAGE = 2**31 - 1


class Database:
    """An engine whose database is migrated, with the URL it is shown by."""

    url: str
    """The store's URL with any password masked."""

    def __init__(self, engine: Engine, *, url: str) -> None:
        """Wrap an engine whose database is already migrated (see ``open_store``)."""
        self.url = url
        self._engine: Engine | None = engine

    @property
    def engine(self) -> Engine:
        """The engine.

        Raises:
            StoreError: the store is closed.
        """
        if self._engine is None:
            raise StoreError(f"store {self.url} is closed")
        return self._engine

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def close(self) -> None:
        """Release every connection; the database cannot be used afterwards."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def failure(self, action: str, reason: str) -> StoreError:
        """``<action> in store <url>: <reason>``, the one line every store error has."""
        return StoreError(f"{action} in store {self.url}: {reason}")

    @contextmanager
    def write(self, action: str) -> Iterator[Connection]:
        """A connection in one write transaction; ``action`` names it in an error."""
        engine = self.engine
        try:
            with write_connection(engine) as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise self.failure(action, describe_error(exc)) from exc

    @contextmanager
    def read(self, action: str) -> Iterator[Connection]:
        """A connection for reading; ``action`` names it in an error."""
        engine = self.engine
        try:
            with engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise self.failure(action, describe_error(exc)) from exc


def describe_error(exc: BaseException) -> str:
    """One line saying what the database objected to."""
    if isinstance(exc, IntegrityError):
        text = str(exc.orig).lower()
        if "unique" in text or "duplicate" in text:
            return "already stored (records and runs are append-only)"
        if "foreign key" in text:
            return "it refers to a run that does not exist"
    cause = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    return lines[0] if lines else type(cause).__name__


def check_window(since: datetime | None, until: datetime | None) -> None:
    """Refuse a naive ``since`` or ``until``.

    Raises:
        ValueError: naming the argument.
    """
    check_aware("since", since)
    check_aware("until", until)


def check_page(limit: int, offset: int) -> None:
    """Refuse a negative limit or offset, or one past ``2**31 - 1``.

    Raises:
        ValueError: saying which rule.
    """
    if limit < 0 or offset < 0:
        raise ValueError("limit and offset must not be negative")
    # PostgreSQL takes LIMIT and OFFSET as 32-bit parameters; SQLite is refused alike.
    if max(limit, offset) > _MAX_PAGE:
        raise ValueError(f"limit and offset must be at most {_MAX_PAGE:,}")


def check_aware(name: str, value: datetime | None) -> None:
    """Refuse a naive datetime.

    Raises:
        ValueError: naming the argument.
    """
    if value is not None and value.utcoffset() is None:
        raise ValueError(f"{name} is a naive datetime; pass a timezone-aware (UTC) time")
