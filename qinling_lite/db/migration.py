"""Schema migrations with alembic, configured in code on the engine of ``db.api``."""

import sys
from pathlib import Path

from alembic import command
from alembic import config as alembic_config
from alembic.runtime import migration as alembic_migration

from qinling_lite.db import session as db_session

# A source checkout (or editable install) has them next to the package; ``pip install .``
# puts them under the prefix as data files (see setup.cfg).
_LOCATIONS = (
    Path(__file__).resolve().parents[2] / "migrations",
    Path(sys.prefix) / "share" / "qinling-lite" / "migrations",
)


def _script_location():
    for path in _LOCATIONS:
        if (path / "env.py").is_file():
            return path
    raise FileNotFoundError(f"No migrations found in {' or '.join(map(str, _LOCATIONS))}")


def _config():
    config = alembic_config.Config()
    config.set_main_option("script_location", str(_script_location()))
    return config


def upgrade(revision="head"):
    """Migrate the database up to ``revision``."""
    command.upgrade(_config(), revision)


def version():
    """The database's current revision, or None before the first migration."""
    with db_session.get_engine().connect() as connection:
        return alembic_migration.MigrationContext.configure(connection).get_current_revision()
