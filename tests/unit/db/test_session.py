"""The library internals ``qinling_lite.db.session`` and ``db.sqlite`` patch are patched.

Each check pairs what oslo.db does on its own (so that a renamed or dropped internal
fails here instead of silently making a patch a no-op) with what our setup leaves.
"""

import os
import sqlite3
import sys
import threading
import time

import pytest
import sqlalchemy as sa
from oslo_db.sqlalchemy import engines as oslo_engines

from qinling_lite import drivers
from qinling_lite.db import session as db_session
from qinling_lite.db import sqlite as db_sqlite
from tests import db_backends


@pytest.fixture
def url(tmp_path):
    return f"sqlite:///{tmp_path / 'session.sqlite'}"


@pytest.fixture
def oslo_engine(url):
    """An engine as oslo.db makes it, without our setup."""
    engine = oslo_engines.create_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(url):
    """The engine of the enginefacade after ``db_session.setup()``."""
    with db_backends.use_database(url):
        yield db_session.get_engine()


def _begin_listeners(engine):
    return {listener.__name__ for listener in engine.dispatch.begin}


def test_the_thread_yield_on_checkin_is_removed(oslo_engine, engine):
    assert sa.event.contains(oslo_engine, "checkin", oslo_engines._thread_yield)
    assert not sa.event.contains(engine, "checkin", oslo_engines._thread_yield)


def test_oslo_dbs_deferred_begin_is_replaced_by_begin_immediate(oslo_engine, engine, url):
    assert "_sqlite_emit_begin" in _begin_listeners(oslo_engine)
    assert "_sqlite_emit_begin" not in _begin_listeners(engine)
    path = sa.make_url(url).database
    with engine.begin():  # no statement yet: only BEGIN IMMEDIATE can hold the write lock
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            with pytest.raises(sqlite3.OperationalError, match="database is locked"):
                other.execute("BEGIN IMMEDIATE")
        finally:
            other.close()


def test_pragmas_and_a_kept_pool_are_applied(oslo_engine, engine):
    assert isinstance(oslo_engine.pool, sa.pool.NullPool)
    assert isinstance(engine.pool, sa.pool.QueuePool)
    assert engine.pool.size() == db_sqlite.POOL_SIZE
    with engine.connect() as connection:
        pragmas = {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in (
                "journal_mode",
                "synchronous",
                "busy_timeout",
                "foreign_keys",
                "wal_autocheckpoint",
            )
        }
    assert pragmas == {
        "journal_mode": "wal",
        "synchronous": 1,  # NORMAL
        "busy_timeout": db_sqlite.BUSY_TIMEOUT_MS,
        "foreign_keys": 1,
        "wal_autocheckpoint": db_sqlite.BACKSTOP_PAGES,
    }


def test_transactions_in_one_process_queue_on_the_lock_and_release_it(engine):
    """The commit and rollback wrappers of the dialect release the transaction lock."""
    for end in ("commit", "rollback"):
        connection = engine.connect()
        transaction = connection.begin()
        connection.exec_driver_sql("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
        getattr(transaction, end)()
        connection.close()
    with engine.begin() as connection:  # would wait forever on a lock left held
        connection.exec_driver_sql("CREATE TABLE IF NOT EXISTS t (x INTEGER)")


def test_reads_neither_take_nor_wait_for_the_write_lock(engine):
    """A read transaction runs while another thread holds a write transaction open,
    and sees what was committed before it (WAL), not the writer's uncommitted row."""
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        connection.exec_driver_sql("INSERT INTO t VALUES (1)")
    writing, done = threading.Event(), threading.Event()

    def writer():
        with db_session.write_connection() as connection:
            connection.exec_driver_sql("INSERT INTO t VALUES (2)")
            writing.set()
            done.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert writing.wait(10)
        with db_session.read_connection() as connection:
            assert connection.exec_driver_sql("SELECT x FROM t").scalars().all() == [1]
        with db_session.reader() as session:
            assert session.execute(sa.text("SELECT count(*) FROM t")).scalar() == 1
    finally:
        done.set()
        thread.join(10)
    with db_session.read_connection() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM t").scalar() == 2


@pytest.mark.parametrize(
    ("url", "module", "extra"),
    [
        ("mysql+pymysql://qinling:secret@127.0.0.1/qinling", "pymysql", "mysql"),
        ("postgresql+psycopg2://qinling:secret@127.0.0.1/qinling", "psycopg2", "postgresql"),
    ],
)
def test_a_driver_not_installed_names_the_extra_that_installs_it(monkeypatch, url, module, extra):
    monkeypatch.setitem(sys.modules, module, None)  # what ``import module`` then refuses
    expected = (
        f"[database] connection needs the Python module '{module}', which is not installed: "
        f"install qinling-lite[{extra}]."
    )
    with pytest.raises(drivers.DriverError) as error:
        with db_backends.use_database(url):
            pass
    assert str(error.value) == expected


def _checkpointers():
    return sum(thread.name == "sqlite-checkpoint" for thread in threading.enumerate())


def _write_blob(engine, size):
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE IF NOT EXISTS blobs (data BLOB)")
        connection.exec_driver_sql("INSERT INTO blobs VALUES (?)", (b"x" * size,))


def test_a_commit_leaves_a_long_wal_to_the_checkpoint_thread(url):
    """Over SQLite's default threshold of 1,000 pages, the committing request does not
    copy the WAL into the database file (nor fsync it): ``checkpointing``'s thread does."""
    path = sa.make_url(url).database
    with db_backends.use_database(url):
        _write_blob(db_session.get_engine(), 6 * 1024 * 1024)  # 1,500 pages of 4 KiB
        assert os.path.getsize(path) < 1024 * 1024


def test_checkpointing_copies_the_wal_in_a_thread_that_ends_with_it(monkeypatch, url):
    monkeypatch.setattr(db_sqlite, "CHECKPOINT_INTERVAL", 0.05)
    path = sa.make_url(url).database
    before = _checkpointers()
    with db_backends.use_database(url), db_session.checkpointing():
        assert _checkpointers() == before + 1
        _write_blob(db_session.get_engine(), 512 * 1024)
        deadline = time.monotonic() + 10
        while os.path.getsize(path) < 512 * 1024 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert os.path.getsize(path) >= 512 * 1024
    assert _checkpointers() == before
