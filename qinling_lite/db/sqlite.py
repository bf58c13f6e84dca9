"""SQLite settings for the embedded default: WAL, and transactions that take the write
lock up front so concurrent writers wait on the busy timeout instead of failing."""

from sqlalchemy import event, pool

BUSY_TIMEOUT_MS = 30000
POOL_SIZE = 8
POOL_OVERFLOW = 64


def tune(engine):
    """Apply the settings to ``engine`` if it is SQLite; other databases are left alone."""
    if engine.dialect.name != "sqlite":
        return
    if isinstance(engine.pool, pool.NullPool):
        # oslo.db opens a new connection per transaction for SQLite files; that costs
        # about 1 ms each time, more than the whole query. Keep connections instead.
        old = engine.pool
        engine.pool = pool.QueuePool(
            old._creator,
            pool_size=POOL_SIZE,
            max_overflow=POOL_OVERFLOW,
            dialect=old._dialect,
            _dispatch=old.dispatch,
        )

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, connection_record):
        # oslo.db already turned off pysqlite's own BEGIN.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin", insert=True)
    def _begin(connection):
        # A deferred transaction that reads and then writes fails at once with
        # SQLITE_BUSY under WAL when another writer got in between; IMMEDIATE waits.
        # oslo.db's own "begin" hook sees the marker and emits nothing more.
        if "in_transaction" not in connection.info:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            connection.info["in_transaction"] = True

    engine.dispose()
