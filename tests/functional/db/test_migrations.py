"""The migrations build exactly the schema of the models, on the backend named by
``QINLING_LITE_TEST_DB`` (``tools/run-tests`` runs SQLite, MariaDB and PostgreSQL)."""

import json

import pytest
import sqlalchemy as sa
from alembic import command, script
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from qinling_lite.db import migration, models
from qinling_lite.db import session as db_session
from tests import db_backends


@pytest.fixture
def empty_database():
    url = db_backends.create_database(db_backends.selected_backend())
    try:
        with db_backends.use_database(url):
            yield url
    finally:
        db_backends.drop_database(url)


def test_upgrade_from_empty_matches_models(empty_database):
    assert migration.version() is None
    with migration._config() as config:
        revisions = list(script.ScriptDirectory.from_config(config).walk_revisions())
    for revision in reversed(revisions):
        migration.upgrade(revision.revision)
        assert migration.version() == revision.revision

    with db_session.get_engine().connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        assert compare_metadata(context, models.Base.metadata) == []


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

    with migration._config() as config:
        command.downgrade(config, "0005")
    downgraded = stored()
    assert [downgraded[id_] for id_ in list(inputs)[: len(old)]] == old
    # Text stored by 0006 goes back to the old form, whatever wrote it.
    assert downgraded[list(inputs)[len(old) + 3]] == '{"__function_input": "already text"}'
