"""The migrations build exactly the schema of the models, on every backend."""

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import script
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from qinling_lite.db import api, migration, models
from tests import db_backends

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(params=db_backends.BACKENDS)
def empty_database(request):
    url = db_backends.create_database(request.param)
    try:
        with db_backends.use_database(url):
            yield url
    finally:
        db_backends.drop_database(url)


def test_upgrade_from_empty_matches_models(empty_database):
    assert migration.version() is None
    revisions = script.ScriptDirectory.from_config(migration._config()).walk_revisions()
    for revision in reversed(list(revisions)):
        migration.upgrade(revision.revision)
        assert migration.version() == revision.revision

    with api.get_engine().connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        assert compare_metadata(context, models.Base.metadata) == []


def _manage(config_file, *args):
    return subprocess.run(
        [sys.executable, "-m", "qinling_lite.cmd.manage", "--config-file", config_file, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()


def _head():
    scripts = script.ScriptDirectory(str(Path(__file__).parents[3] / "migrations"))
    return scripts.get_current_head()


def test_manage_db_upgrade_and_version(tmp_path):
    database = tmp_path / "manage.sqlite"
    config_file = tmp_path / "qinling-lite.conf"
    config_file.write_text(f"[database]\nconnection = sqlite:///{database}\n")

    assert _manage(config_file, "db", "version") == "None"
    _manage(config_file, "db", "upgrade", "--revision", "0001")
    assert _manage(config_file, "db", "version") == "0001"
    _manage(config_file, "db", "upgrade")
    assert _manage(config_file, "db", "version") == _head()

    engine = sa.create_engine(f"sqlite:///{database}")
    try:
        assert set(sa.inspect(engine).get_table_names()) == {
            "alembic_version",
            *models.Base.metadata.tables,
        }
    finally:
        engine.dispose()
