"""oslo.db's enginefacade for this service: transactions, connections and the engine."""

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from oslo_db.sqlalchemy import enginefacade
from oslo_db.sqlalchemy import engines as oslo_engines

from qinling_lite import drivers
from qinling_lite.db import sqlite

_CONTEXT = threading.local()

# The database driver modules that an extra of qinling-lite (setup.cfg) installs.
DRIVER_EXTRAS = {"pymysql": "mysql", "psycopg2": "postgresql"}


def writer() -> Any:
    """A write transaction on an ORM session (``with writer() as session``)."""
    return enginefacade.writer.using(_CONTEXT)


@contextlib.contextmanager
def reader() -> Iterator[Any]:
    """A read transaction on an ORM session."""
    with sqlite.reading(), enginefacade.reader.using(_CONTEXT) as session:
        yield session


# The execution hot path (webhook invoke, claim, finish) uses Core statements on a
# plain connection: an ORM session costs several times the query itself.
def write_connection() -> Any:
    """A write transaction on a Core connection."""
    return enginefacade.writer.connection.using(_CONTEXT)


@contextlib.contextmanager
def read_connection() -> Iterator[Any]:
    """A read transaction on a Core connection."""
    with sqlite.reading(), enginefacade.reader.connection.using(_CONTEXT) as connection:
        yield connection


def get_engine() -> sa.engine.Engine:
    return enginefacade.writer.get_engine()


def checkpointing() -> contextlib.AbstractContextManager[None]:
    """For a long-lived process on SQLite: the WAL checkpointed by a thread meanwhile,
    off the path of its transactions (``sqlite.checkpointing``)."""
    return sqlite.checkpointing(get_engine())


def setup() -> None:
    """Create the engine now, with SQLite tuned for concurrent writers.

    Raises drivers.DriverError when ``[database] connection`` names a driver that is not
    installed, saying which extra installs it.
    """
    try:
        engine = get_engine()
    except ModuleNotFoundError as error:
        extra = DRIVER_EXTRAS.get(error.name or "")
        if extra is None:
            raise
        raise drivers.DriverError(
            f"[database] connection needs the Python module {error.name!r}, which is not "
            f"installed: install qinling-lite[{extra}]."
        ) from error
    # oslo.db yields the (green)thread on every connection check-in, for eventlet;
    # with OS threads that is a wasted sleep(0) per transaction.
    if sa.event.contains(engine, "checkin", oslo_engines._thread_yield):
        sa.event.remove(engine, "checkin", oslo_engines._thread_yield)
    sqlite.tune(engine)
