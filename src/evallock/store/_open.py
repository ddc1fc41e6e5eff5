"""Opening a store: URL to engine, schema brought up to date, errors made one line.

This is the only place a store comes from, so every command gets the same
behaviour: SQLite parent directories created, pending migrations applied, and a
:class:`evallock.errors.StoreError` naming the (masked) URL when any of it fails.
"""

from __future__ import annotations

from evallock.errors import StoreError
from evallock.store._database import describe_error
from evallock.store._engine import connect_engine
from evallock.store._migrate import is_current, upgrade_to_head
from evallock.store._store import Store
from evallock.store._url import UnsupportedURLError, mask_url, parse_store_url

__all__ = ["DEFAULT_STORE_URL", "open_store"]

DEFAULT_STORE_URL = "sqlite:///.evallock/evallock.db"
"""The store used when neither ``--store`` nor ``evallock.yaml`` names one."""


def open_store(url: str) -> Store:
    """Open the store at ``url``, applying any pending migrations.

    Args:
        url: ``sqlite:///path/to/file.db`` (relative to the working directory;
            ``sqlite:////abs/path.db`` for an absolute path; ``sqlite://`` in memory)
            or ``postgresql://user:password@host:port/database``.

    Raises:
        StoreError: ``cannot open store <url>: <reason>``, the password masked.

    >>> store = open_store("sqlite://")
    >>> store.runs.find()
    []
    >>> store.close()
    """
    try:
        parsed = parse_store_url(url)
    except UnsupportedURLError as exc:
        raise StoreError(f"cannot open store {mask_url(url)}: {exc}") from None
    password = parsed.url.password

    def fail(exc: BaseException) -> StoreError:
        reason = describe_error(exc)
        if password:
            reason = reason.replace(str(password), "***")
        return StoreError(f"cannot open store {parsed.shown}: {reason}")

    try:
        engine = connect_engine(parsed)
    except Exception as exc:  # e.g. a missing driver or a directory that cannot be made
        raise fail(exc) from exc
    try:
        if not is_current(engine):
            upgrade_to_head(engine)
    except Exception as exc:  # connect or migrate: the store is unusable either way
        engine.dispose()
        raise fail(exc) from exc
    return Store(engine, url=parsed.shown)
