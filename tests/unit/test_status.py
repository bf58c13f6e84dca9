"""``qinling-lite-status upgrade check`` on SQLite: the schema revision, the orchestrator,
the package store, and the anonymous webhooks that ``[webhook] require_auth`` would lock
out."""

import importlib.resources
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import script
from oslo_upgradecheck import upgradecheck

from qinling_lite import config
from qinling_lite.cmd import status
from qinling_lite.db import migration
from qinling_lite.db import session as db_session
from qinling_lite.db import webhooks as webhooks_db
from tests import db_backends
from tests.unit.orchestrator.kubernetes import harness
from tests.unit.services import rows

REPO = Path(__file__).resolve().parents[2]
# The orchestrator check on the default config ([local_orchestrator] sandbox auto): a
# warning where bubblewrap is missing, that workers would run without a sandbox.
SANDBOXED = upgradecheck.Code.SUCCESS if shutil.which("bwrap") else upgradecheck.Code.WARNING


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


def test_the_local_orchestrator_is_probed_as_a_worker_would_start(config_fixture, tmp_path):
    assert _check("Orchestrator").code == SANDBOXED

    missing = tmp_path / "no-such-python"
    config_fixture.config(group="local_orchestrator", sandbox="bwrap", python=str(missing))
    failed = _check("Orchestrator")
    assert failed.code == upgradecheck.Code.FAILURE
    assert failed.details.startswith("The local orchestrator cannot start workers: ")
    assert str(missing) in failed.details


def test_the_kubernetes_api_must_answer(kubernetes_conf, config_fixture, tmp_path):
    assert _check("Orchestrator").code == upgradecheck.Code.SUCCESS

    closed = tmp_path / "kubeconfig-closed"
    closed.write_text(harness.KUBECONFIG.format(url="http://127.0.0.1:9"))
    config_fixture.config(group="kubernetes", kubeconfig=str(closed))
    failed = _check("Orchestrator")
    assert failed.code == upgradecheck.Code.FAILURE
    assert "The kubernetes orchestrator cannot start workers: " in failed.details
    assert "127.0.0.1" in failed.details

    config_fixture.config(group="kubernetes", kubeconfig=str(tmp_path / "absent"))
    assert "No Kubernetes credentials ([kubernetes] kubeconfig " in _check("Orchestrator").details


def test_the_package_store_must_keep_a_package_and_keeps_none(config_fixture, tmp_path):
    packages = tmp_path / "packages"
    config_fixture.config(group="storage", file_system_dir=str(packages))
    assert _check("Package store").code == upgradecheck.Code.SUCCESS
    assert [p.name for p in packages.rglob("*")] == [status.PROBE_PROJECT]  # empty

    blocked = tmp_path / "a-file"
    blocked.write_text("")
    config_fixture.config(group="storage", file_system_dir=str(blocked))
    failed = _check("Package store")
    assert failed.code == upgradecheck.Code.FAILURE
    assert failed.details.startswith("The file_system package store cannot keep a package: ")
    assert str(blocked) in failed.details


def _previous_revision():
    migrations = importlib.resources.files(migration.MIGRATIONS)
    with importlib.resources.as_file(migrations) as directory:
        head = script.ScriptDirectory(str(directory)).get_revision(status.head_revision())
    return head.down_revision


def _upgrade_check(config_file):
    run = subprocess.run(
        [sys.executable, "-m", "qinling_lite.cmd.status", "--config-file", str(config_file),
         "upgrade", "check", "--json"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return run, {check["check"]: check for check in json.loads(run.stdout)["checks"]}


def test_a_fresh_install_passes_and_an_old_schema_fails(tmp_path):
    """The console entry point: every check passes on a database just upgraded; one a
    release behind fails (exit code 2) and says what to run."""
    database = tmp_path / "status.sqlite"
    config_file = tmp_path / "qinling-lite.conf"
    config_file.write_text(
        f"[DEFAULT]\nstate_path = {tmp_path}\n[database]\nconnection = sqlite:///{database}\n"
    )
    with db_backends.use_database(f"sqlite:///{database}"):
        migration.upgrade()
    run, results = _upgrade_check(config_file)
    assert run.returncode == SANDBOXED, run.stdout + run.stderr
    assert set(results) == {title for title, _ in status.Checks._upgrade_checks}

    database.unlink()
    with db_backends.use_database(f"sqlite:///{database}"):
        migration.upgrade(_previous_revision())
    run, results = _upgrade_check(config_file)
    assert run.returncode == upgradecheck.Code.FAILURE, run.stdout + run.stderr
    assert "'qinling-lite-manage db upgrade'" in results["Database schema"]["details"]


def test_the_command_exits_with_the_worst_result(tmp_path):
    """The console entry point itself: exit code 1 (a warning) with ``--json``."""
    database = tmp_path / "status.sqlite"
    config_file = tmp_path / "qinling-lite.conf"
    config_file.write_text(
        f"[DEFAULT]\nstate_path = {tmp_path}\n[database]\nconnection = sqlite:///{database}\n"
        "[webhook]\nrequire_auth = true\n"
    )
    with db_backends.use_database(f"sqlite:///{database}"):
        migration.upgrade()
        webhook = _webhook(rows.function())
    run, results = _upgrade_check(config_file)
    assert run.returncode == upgradecheck.Code.WARNING, run.stdout + run.stderr
    assert results["Database schema"]["result"] == upgradecheck.Code.SUCCESS
    assert webhook.id in results["Anonymous webhooks"]["details"]


def test_the_webhook_options_are_registered():
    assert config.CONF.webhook.require_auth is False
    assert config.CONF.webhook.max_sync_invocations >= 1
