"""``qinling-lite-manage db``: upgrade and version on a SQLite file."""

import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from alembic import script

from qinling_lite.db import models

REPO = Path(__file__).resolve().parents[3]


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
    scripts = script.ScriptDirectory(str(REPO / "migrations"))
    return scripts.get_current_head()


def test_manage_db_upgrade_and_version(tmp_path):
    database = tmp_path / "manage.sqlite"
    config_file = tmp_path / "qinling-lite.conf"
    config_file.write_text(f"[database]\nconnection = sqlite:///{database}\n")

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
