"""Migrations: the ordered, named Alembic scripts that build the store's schema.

``versions/NNNN_<what>.py`` are applied in order by :func:`evallock.store.open_store`;
:data:`HEAD_REVISION` names the last one so that opening a store that is already up
to date costs one query and never imports Alembic. A test asserts it equals the
head Alembic computes from the scripts.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["HEAD_REVISION", "MIGRATIONS_DIR"]

HEAD_REVISION = "0013"
"""The newest migration's revision id; bump it with every new script in ``versions/``."""

MIGRATIONS_DIR = Path(__file__).parent
"""Alembic's ``script_location``: this directory (``env.py`` and ``versions/``)."""
