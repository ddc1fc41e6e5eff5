"""The store: runs, records, caches, traces, feedback and API keys in SQLite or PostgreSQL.

::

    from evallock.store import open_store

    with open_store("sqlite:///.evallock/evallock.db") as store:
        store.runs.create(run)
        store.runs.add_records(records)       # one transaction, all or nothing
        for record in store.runs.iter_records(run.run_id):
            ...
        store.traces.add(batch.traces)        # merged by trace id, never overwritten
        store.feedback.add(batch.feedback)    # once per feedback_id

The :class:`Store` holds one repository per aggregate (``runs``, ``cache``,
``traces``, ``feedback``, ``candidates``, ``reports``, ``api_keys``) over one
engine. It is the bottom layer: it imports only the ground floor of evallock
(``records``, ``keys``, ``errors``, ``limits``, ``times``); the use cases reach
it through Protocols of their own.

``sqlite:///…`` (the default) is a file with WAL; ``postgresql://user@host/db``
uses psycopg 3. Everything that differs between the two stays in this package
(``_engine.py``, ``_types.py``), and ``tests/store`` runs the same suite on both.

Adding a table (or a column, or an index)
-----------------------------------------
Migrations are Alembic scripts in ``migrations/versions``, applied in order by
:func:`open_store` (programmatically: no ``alembic.ini``). A released script is
never edited; every change is a new one.

1. Copy the newest script to ``migrations/versions/NNNN_<what>.py`` (e.g.
   ``0002_traces.py``); set ``revision = "NNNN"`` and ``down_revision`` to the
   previous revision, and write ``upgrade()`` with ``op.create_table`` /
   ``op.add_column`` / ``op.create_index``. Spell the columns out; do not import
   ``_schema`` (it describes the newest schema, not that script's). Name
   constraints and indexes as ``_schema.NAMING_CONVENTION`` does.
2. Set :data:`HEAD_REVISION` (in ``migrations/__init__.py``) to ``"NNNN"``.
3. Describe the table in ``_schema.py`` for queries, put its statements in a
   module of their own (``_traces.py`` …) and its transactions in the repository
   of its aggregate (``_traces_repo.py`` …), one attribute of :class:`Store`.

``tests/store/test_store_migrations.py`` fails until the constant, the scripts and
``_schema.py`` agree, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from evallock.store._apikeys import ApiKey
from evallock.store._apikeys_repo import ApiKeyRepository
from evallock.store._cache_repo import CacheRepository
from evallock.store._candidates import CandidatePosition
from evallock.store._candidates_repo import CandidateRepository
from evallock.store._feedback_repo import FeedbackRepository
from evallock.store._open import DEFAULT_STORE_URL, open_store
from evallock.store._reports_repo import ReportRepository
from evallock.store._runs_repo import RunRepository
from evallock.store._slices import Complaint, SliceCounts
from evallock.store._store import Store
from evallock.store._traces import TracePosition, TraceSearch
from evallock.store._traces_repo import TraceRepository
from evallock.store.migrations import HEAD_REVISION

__all__ = [
    "DEFAULT_STORE_URL",
    "HEAD_REVISION",
    "ApiKey",
    "ApiKeyRepository",
    "CacheRepository",
    "CandidatePosition",
    "CandidateRepository",
    "Complaint",
    "FeedbackRepository",
    "ReportRepository",
    "RunRepository",
    "SliceCounts",
    "Store",
    "TracePosition",
    "TraceRepository",
    "TraceSearch",
    "open_store",
]
