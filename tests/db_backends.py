"""Test databases: the backend under test, and pointing ``qinling_lite.db`` at one.

Throwaway databases on SQLite, MySQL/MariaDB and PostgreSQL are made by
``benchmarks.deployments`` (``create_database``, ``drop_database``), which the benchmarks
share; an unreachable server is an error, never a skip.

oslo.db's enginefacade, through which ``qinling_lite.db.session`` reaches the database, is
global. ``use_database`` switches it with the supported test hook: a fresh transaction
context configured for the URL is patched in as the factory of the root context manager
(``enginefacade._context_manager.patch_factory``), which ``enginefacade.reader`` and
``writer`` resolve on every use; the reset callable restores the previous factory.
"""

import atexit
import contextlib
import functools
import os
import pathlib
import shutil
import tempfile

from oslo_db.sqlalchemy import enginefacade

from benchmarks.deployments import create_database, drop_database  # noqa: F401 (for tests)
from qinling_lite.db import migration
from qinling_lite.db import session as db_session

BACKENDS = ("sqlite", "mysql", "postgresql")


def selected_backend():
    """The backend named by ``QINLING_LITE_TEST_DB`` (default ``sqlite``)."""
    backend = os.environ.get("QINLING_LITE_TEST_DB", "sqlite")
    if backend not in BACKENDS:
        raise ValueError(f"QINLING_LITE_TEST_DB={backend!r}; expected one of {BACKENDS}")
    return backend


@contextlib.contextmanager
def use_database(url):
    """Point the enginefacade, and so ``qinling_lite.db.session``, at ``url`` meanwhile."""
    manager = enginefacade.transaction_context()
    manager.configure(connection=url)
    reset = enginefacade._context_manager.patch_factory(manager)
    try:
        db_session.setup()
        yield
    finally:
        reset()
        manager.dispose_pool()


@contextlib.contextmanager
def migrated_sqlite(directory):
    """Use a migrated SQLite database in ``directory`` (a ``pathlib.Path``) meanwhile: a
    copy of one this process migrated once (the migrations themselves are tested in
    tests/functional/db, on every backend)."""
    database = directory / "qinling.sqlite"
    shutil.copyfile(_migrated_template(), database)
    with use_database(f"sqlite:///{database}"):
        yield


@functools.cache
def _migrated_template():
    """A SQLite database migrated to the head, closed (its WAL folded in)."""
    directory = pathlib.Path(tempfile.mkdtemp(prefix="ql-db-"))
    atexit.register(shutil.rmtree, directory, True)
    template = directory / "template.sqlite"
    with use_database(f"sqlite:///{template}"):
        migration.upgrade()
    return template
