"""Alembic environment: migrates the database of ``[database] connection``.

Alembic is configured in code (``qinling_lite.db.migration``); there is no alembic.ini.
"""

from alembic import context

from qinling_lite.db import models
from qinling_lite.db import session as db_session

with db_session.get_engine().connect() as connection:
    context.configure(connection=connection, target_metadata=models.Base.metadata)
    with context.begin_transaction():
        context.run_migrations()
