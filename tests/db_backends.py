"""Throwaway test databases on SQLite, MySQL/MariaDB and PostgreSQL.

The MySQL and PostgreSQL servers are reached with ``QINLING_LITE_TEST_MYSQL_URL`` and
``QINLING_LITE_TEST_POSTGRESQL_URL`` (an account that may create databases), by default
the local servers. An unreachable server is an error, never a skip.

oslo.db's enginefacade, through which ``qinling_lite.db.api`` reaches the database, is
global. ``use_database`` switches it with the supported test hook: a fresh transaction
context configured for the URL is patched in as the factory of the root context manager
(``enginefacade._context_manager.patch_factory``), which ``enginefacade.reader`` and
``writer`` resolve on every use; the reset callable restores the previous factory.
"""

import contextlib
import os
import tempfile
import uuid
from pathlib import Path

import sqlalchemy as sa
from oslo_db.sqlalchemy import enginefacade

from qinling_lite.db import session as db_session

BACKENDS = ("sqlite", "mysql", "postgresql")

_ADMIN_URLS = {
    "mysql": "mysql+pymysql://root@127.0.0.1:3306/",
    "postgresql": "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres",
}
_CREATE = {
    "mysql": "CREATE DATABASE {} CHARACTER SET utf8mb4",
    "postgresql": "CREATE DATABASE {}",
}
_DROP = {
    "mysql": "DROP DATABASE IF EXISTS {}",
    "postgresql": "DROP DATABASE IF EXISTS {} WITH (FORCE)",
}


class BackendUnavailableError(RuntimeError):
    """The database server of a backend under test cannot be reached."""


def selected_backend():
    """The backend named by ``QINLING_LITE_TEST_DB`` (default ``sqlite``)."""
    backend = os.environ.get("QINLING_LITE_TEST_DB", "sqlite")
    if backend not in BACKENDS:
        raise ValueError(f"QINLING_LITE_TEST_DB={backend!r}; expected one of {BACKENDS}")
    return backend


def _admin_url(backend):
    return sa.make_url(
        os.environ.get(f"QINLING_LITE_TEST_{backend.upper()}_URL", _ADMIN_URLS[backend])
    )


def _admin(backend, statement):
    engine = sa.create_engine(
        _admin_url(backend), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool
    )
    try:
        connection = engine.connect()
    except sa.exc.OperationalError as e:
        raise BackendUnavailableError(
            f"The {backend} test server {engine.url} is unreachable "
            f"(set QINLING_LITE_TEST_{backend.upper()}_URL): {e}"
        ) from e
    with connection:
        connection.exec_driver_sql(statement)


def create_database(backend):
    """Create a fresh, uniquely named database; return its SQLAlchemy URL."""
    name = f"qinling_lite_test_{uuid.uuid4().hex[:12]}"
    if backend == "sqlite":
        return f"sqlite:///{Path(tempfile.mkdtemp(prefix=name)) / 'test.sqlite'}"
    _admin(backend, _CREATE[backend].format(name))
    url = _admin_url(backend).set(database=name)
    if backend == "mysql":  # as install.rst says: oslo.db would connect in 3-byte utf8
        url = url.update_query_dict({"charset": "utf8mb4"})
    return url.render_as_string(hide_password=False)


def drop_database(url):
    """Drop a database made by ``create_database``."""
    url = sa.make_url(url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        directory = Path(url.database).parent
        for path in directory.iterdir():
            path.unlink()
        directory.rmdir()
    else:
        _admin(backend, _DROP[backend].format(url.database))


@contextlib.contextmanager
def use_database(url):
    """Point the enginefacade, and so ``qinling_lite.db.api``, at ``url`` meanwhile."""
    manager = enginefacade.transaction_context()
    manager.configure(connection=url)
    reset = enginefacade._context_manager.patch_factory(manager)
    try:
        db_session.setup()
        yield
    finally:
        reset()
        manager.dispose_pool()
