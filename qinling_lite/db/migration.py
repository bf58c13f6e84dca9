"""Schema migrations with alembic, configured in code on the engine of ``db.session``."""

import contextlib
import importlib.resources

from alembic import command
from alembic import config as alembic_config
from alembic.runtime import migration as alembic_migration

from qinling_lite.db import session as db_session

# The top-level migrations/ directory, installed as this package (see setup.py).
MIGRATIONS = "qinling_lite.migrations"


@contextlib.contextmanager
def _config():
    """Alembic's config, its scripts in the installed package's directory."""
    with importlib.resources.as_file(importlib.resources.files(MIGRATIONS)) as directory:
        config = alembic_config.Config()
        config.set_main_option("script_location", str(directory))
        yield config


def upgrade(revision="head"):
    """Migrate the database up to ``revision``."""
    with _config() as config:
        command.upgrade(config, revision)


def version():
    """The database's current revision, or None before the first migration."""
    with db_session.get_engine().connect() as connection:
        return alembic_migration.MigrationContext.configure(connection).get_current_revision()
