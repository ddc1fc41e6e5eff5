"""Store migrations: the static head constant, the migrated schema, unknown revisions."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from evallock.errors import StoreError
from evallock.store import HEAD_REVISION, open_store
from evallock.store._schema import metadata
from evallock.store._url import parse_store_url
from evallock.store.migrations import MIGRATIONS_DIR


def _scripts() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    return ScriptDirectory.from_config(config)


def test_head_revision_constant_is_alembics_head():
    assert _scripts().get_heads() == [HEAD_REVISION]


def test_every_script_is_named_after_its_revision():
    for script in _scripts().walk_revisions():
        assert Path(script.path).name.startswith(f"{script.revision}_")


@pytest.fixture
def engine(store_url):
    open_store(store_url).close()
    engine = create_engine(parse_store_url(store_url).url)
    yield engine
    engine.dispose()


def test_database_is_at_head_after_open(engine):
    with engine.connect() as conn:
        assert (
            conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD_REVISION
        )


def test_migrated_schema_matches_the_schema_the_queries_use(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, metadata)
    assert diffs == []


def test_a_database_from_a_newer_evallock_is_refused(store_url, engine):
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))

    with pytest.raises(StoreError, match=r"revision '9999'.*upgrade evallock"):
        open_store(store_url)


def test_0013_moves_session_ids_out_of_extra_and_back(store_url):
    """Traces stored before 0013 kept their session in ``extra``: the upgrade moves it to
    the indexed column (a session is one index range) and the downgrade moves it back."""
    import json
    from datetime import UTC, datetime

    import sqlalchemy as sa
    from alembic import command

    from evallock.store._types import UTCDateTime

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    parsed = parse_store_url(store_url)
    if parsed.sqlite_path is not None:
        parsed.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed.url)
    old = sa.table(
        "traces",
        sa.column("trace_id", sa.String()),
        sa.column("timestamp", UTCDateTime()),
        sa.column("source", sa.String()),
        sa.column("extra", sa.Text()),
        sa.column("received_at", UTCDateTime()),
    )
    at = datetime(2026, 12, 1, tzinfo=UTC)
    rows = [
        {"trace_id": f"{n:032x}", "timestamp": at, "source": "import", "received_at": at,
         "extra": json.dumps({"session_id": "s-1", "user_id": "u"} if n < 2 else {"user_id": "u"})}
        for n in range(3)
    ]  # fmt: skip
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0012")
            conn.execute(sa.insert(old), rows)
        store = open_store(store_url)
        try:
            session = store.traces.session("s-1")
            assert [t.trace_id for t in session] == [f"{0:032x}", f"{1:032x}"]
            assert session[0].keys == {"session_id": "s-1", "user_id": "u"}
            assert store.traces.get(f"{2:032x}").keys == {"user_id": "u"}
            assert len(store.traces.find(keys={"session_id": "s-1"})) == 2
        finally:
            store.close()
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0012")
            extras = [
                json.loads(e)
                for e in conn.execute(sa.select(old.c.extra).order_by(old.c.trace_id)).scalars()
            ]
        assert extras[0] == {"user_id": "u", "session_id": "s-1"} and extras[2] == {"user_id": "u"}
    finally:
        engine.dispose()
