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
