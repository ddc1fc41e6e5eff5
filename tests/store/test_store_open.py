"""Opening stores: URLs, migrations on first open, errors that name the store, concurrency."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime

import pytest

from evallock.errors import StoreError
from evallock.records import Run
from evallock.store import open_store
from evallock.store._url import mask_url, parse_store_url


def test_opening_twice_keeps_the_data(store_url, make_run):
    with open_store(store_url) as first:
        first.runs.create(make_run("r1"))
    with open_store(store_url) as second:
        assert second.runs.get("r1") == make_run("r1")


def test_store_url_is_masked():
    assert mask_url("postgresql://bob:s3cret@db:5432/evals") == "postgresql://bob:***@db:5432/evals"
    assert mask_url("postgresql://bob:s3cret@:not-a-port/x") == "postgresql://bob:***@:not-a-port/x"
    assert mask_url("sqlite:///.evallock/evallock.db") == "sqlite:///.evallock/evallock.db"


def test_postgres_urls_get_the_psycopg3_driver():
    for raw in ("postgresql://u@h/db", "postgres://u@h/db", "postgresql+psycopg://u@h/db"):
        assert parse_store_url(raw).url.drivername == "postgresql+psycopg"
    assert parse_store_url("sqlite:///x.db").url.drivername == "sqlite"


def test_a_path_under_a_file_cannot_be_opened(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    url = f"sqlite:///{blocker}/sub/evallock.db"

    with pytest.raises(
        StoreError, match=r"^cannot open store sqlite:///.*/file/sub/evallock\.db: "
    ):
        open_store(url)


def test_closed_postgres_port_fails_without_leaking_the_password():
    url = "postgresql://bob:hunter2-secret@127.0.0.1:1/test"

    with pytest.raises(StoreError) as caught:
        open_store(url)

    message = str(caught.value)
    assert message.startswith("cannot open store postgresql://bob:***@127.0.0.1:1/test: ")
    assert "hunter2" not in message
    assert caught.value.exit_code == 3


@pytest.mark.parametrize("url", ["mysql://u@h/db", "not a url", ""])
def test_unsupported_urls_are_refused(url):
    with pytest.raises(StoreError, match="cannot open store"):
        open_store(url)


def test_a_closed_store_refuses_work(store):
    store.close()
    store.close()  # closing twice is fine
    with pytest.raises(StoreError, match="is closed"):
        store.runs.find()


def test_in_memory_sqlite_store_works(make_run):
    with open_store("sqlite://") as store:
        store.runs.create(make_run("r1"))
        assert store.runs.get("r1") == make_run("r1")


def test_concurrent_first_opens_migrate_once(store_url):
    # Eight openers race to create the schema of one new database, then each writes.
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def open_and_write(i: int) -> None:
        try:
            barrier.wait()
            with open_store(store_url) as store:
                store.runs.create(
                    Run(
                        run_id=f"r{i}",
                        dataset_id="d@1",
                        dataset_name="d",
                        target_id="t",
                        started_at=datetime(2026, 1, 1, tzinfo=UTC),
                    )
                )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_and_write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    with open_store(store_url) as store:
        assert len(store.runs.find()) == 8


def test_concurrent_processes_share_one_sqlite_file(tmp_path):
    url = f"sqlite:///{tmp_path}/shared.db"
    script = (
        "import sys\n"
        "from datetime import UTC, datetime\n"
        "from evallock.records import Run\n"
        "from evallock.store import open_store\n"
        "with open_store(sys.argv[1]) as s:\n"
        "    for i in range(20):\n"
        "        s.runs.create(Run(run_id=f'{sys.argv[2]}-{i}', dataset_id='d@1', dataset_name='d',"
        " target_id='t', started_at=datetime.now(UTC)))\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, url, f"p{n}"]) for n in range(4)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]

    with open_store(url) as store:
        assert len(store.runs.find()) == 80


def test_opening_a_current_store_imports_neither_alembic_nor_psycopg(tmp_path):
    url = f"sqlite:///{tmp_path}/current.db"
    open_store(url).close()
    script = (
        "import sys\n"
        "from evallock.store import open_store\n"
        "open_store(sys.argv[1]).close()\n"
        "print(sorted(m for m in ('alembic', 'psycopg', 'numpy') if m in sys.modules))\n"
    )

    done = subprocess.run(
        [sys.executable, "-c", script, url], capture_output=True, text=True, check=True
    )

    assert done.stdout.strip() == "[]"
