"""``qinling-lite-status upgrade check`` on SQLite: the schema revision and the anonymous
webhooks that ``[webhook] require_auth`` would lock out."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from oslo_upgradecheck import upgradecheck

from qinling_lite import config
from qinling_lite.cmd import status
from qinling_lite.db import migration
from qinling_lite.db import session as db_session
from qinling_lite.db import webhooks as webhooks_db
from tests import db_backends
from tests.unit.services import rows

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def database(tmp_path):
    with db_backends.use_database(f"sqlite:///{tmp_path / 'status.sqlite'}"):
        yield


def _webhook(function, auth="none", secret=None):
    return webhooks_db.create(
        {"function_id": function.id, "project_id": function.project_id, "auth": auth,
         "secret": secret}
    )  # fmt: skip


def _check(name):
    (check,) = [check for title, check in status.Checks._upgrade_checks if title == name]
    return check(status.Checks())


def test_the_schema_must_be_at_the_head_revision(database):
    migration.upgrade("0006")
    failed = _check("Database schema")
    assert failed.code == upgradecheck.Code.FAILURE
    assert "revision 0006, not " + status.head_revision() in failed.details
    assert "qinling-lite-manage db upgrade" in failed.details
    migration.upgrade()
    assert _check("Database schema").code == upgradecheck.Code.SUCCESS


def test_an_empty_database_fails_the_schema_check_and_has_no_webhooks(database):
    assert "revision (none)" in _check("Database schema").details
    assert status.anonymous_webhooks() == []


def test_anonymous_webhooks_warn_only_under_require_auth(database, config_fixture):
    migration.upgrade()
    function = rows.function()
    anonymous = [_webhook(function).id for _ in range(status.NAMED_WEBHOOKS + 2)]
    signed = _webhook(function, auth="hmac", secret="s").id
    assert _check("Anonymous webhooks").code == upgradecheck.Code.SUCCESS

    config_fixture.config(group="webhook", require_auth=True)
    warned = _check("Anonymous webhooks")
    assert warned.code == upgradecheck.Code.WARNING
    assert f"{len(anonymous)} webhook(s) have auth 'none'" in warned.details
    named = anonymous[: status.NAMED_WEBHOOKS]
    assert f"({', '.join(named)}, ...)" in warned.details  # oldest first
    assert anonymous[-1] not in warned.details and signed not in warned.details
    assert "answer 401" in warned.details and "'hmac' or 'token'" in warned.details

    webhooks_db.update(anonymous[0], {"auth": "hmac", "secret": "s"})
    assert set(status.anonymous_webhooks()) == set(anonymous[1:])


def test_before_webhooks_had_auth_every_webhook_is_anonymous(database):
    migration.upgrade("0004")
    old = sa.table("webhooks", sa.column("id"), sa.column("project_id"))
    with db_session.get_engine().begin() as connection:
        connection.execute(
            sa.insert(old), [{"id": "w1", "project_id": "p"}, {"id": "w2", "project_id": "p"}]
        )
    assert set(status.anonymous_webhooks()) == {"w1", "w2"}


def test_the_command_exits_with_the_worst_result(tmp_path):
    """The console entry point itself: exit code 1 (a warning) with ``--json``."""
    database = tmp_path / "status.sqlite"
    config_file = tmp_path / "qinling-lite.conf"
    config_file.write_text(
        f"[database]\nconnection = sqlite:///{database}\n[webhook]\nrequire_auth = true\n"
    )
    with db_backends.use_database(f"sqlite:///{database}"):
        migration.upgrade()
        webhook = _webhook(rows.function())
    run = subprocess.run(
        [sys.executable, "-m", "qinling_lite.cmd.status", "--config-file", str(config_file),
         "upgrade", "check", "--json"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode == upgradecheck.Code.WARNING, run.stdout + run.stderr
    results = {check["check"]: check for check in json.loads(run.stdout)["checks"]}
    assert results["Database schema"]["result"] == upgradecheck.Code.SUCCESS
    assert webhook.id in results["Anonymous webhooks"]["details"]


def test_the_webhook_options_are_registered():
    assert config.CONF.webhook.require_auth is False
    assert config.CONF.webhook.max_sync_invocations >= 1
