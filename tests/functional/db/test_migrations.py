"""The migrations build exactly the schema of the models, on every backend."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command, script
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from qinling_lite.db import migration, models
from qinling_lite.db import session as db_session
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

    with db_session.get_engine().connect() as connection:
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


def test_positional_inputs_become_json_strings_and_back(empty_database):
    """0006: ``{"__function_input": text}`` (the old positional form) becomes ``"text"``;
    every other input stays as it is, and a downgrade restores the old form."""
    migration.upgrade("0005")
    executions = sa.table(
        "executions",
        *(sa.column(name) for name in ("id", "project_id", "function_id", "function_version")),
        *(sa.column(name) for name in ("sync", "status", "input")),
    )
    kept = [
        '{"__function_input": "x", "k": 1}',
        '{"__function_input": 5}',
        '{"name": "x"}',
        '"already text"',
        None,
    ]
    old = [json.dumps({"__function_input": f"text {n}"}) for n in range(1200)]  # 3 batches
    inputs = {f"00000000-0000-0000-0000-{n:012d}": text for n, text in enumerate(old + kept)}
    row = {"project_id": "p", "function_id": "f", "function_version": 0, "sync": False}
    with db_session.get_engine().begin() as connection:
        connection.execute(
            sa.insert(executions),
            [
                {**row, "id": id_, "status": "success", "input": text}
                for id_, text in inputs.items()
            ],
        )

    def stored():
        with db_session.get_engine().connect() as connection:
            return dict(connection.execute(sa.select(executions.c.id, executions.c.input)).all())

    migration.upgrade("0006")
    upgraded = stored()
    assert [upgraded[id_] for id_ in list(inputs)[: len(old)]] == [
        json.dumps(f"text {n}") for n in range(len(old))
    ]
    assert [upgraded[id_] for id_ in list(inputs)[len(old) :]] == kept

    command.downgrade(migration._config(), "0005")
    downgraded = stored()
    assert [downgraded[id_] for id_ in list(inputs)[: len(old)]] == old
    # Text stored by 0006 goes back to the old form, whatever wrote it.
    assert downgraded[list(inputs)[len(old) + 3]] == '{"__function_input": "already text"}'
