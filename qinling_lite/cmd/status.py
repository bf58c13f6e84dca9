"""qinling-lite-status: ``upgrade check``, run with the new release's code and config before
its services are restarted (oslo.upgradecheck; exit code 0 success, 1 warning, 2 failure).

The checks read the database with plain SQL, as a migration would: the schema may be
older than the code. The orchestrator and the package store are checked as the engine and
the API would use them, without starting a worker or keeping a package.
"""

import importlib.resources
import io
import sys
import uuid
import zipfile

import sqlalchemy as sa
from alembic import script
from oslo_config import cfg
from oslo_upgradecheck import upgradecheck

from qinling_lite import config, orchestrator, storage
from qinling_lite.db import migration
from qinling_lite.db import session as db_session

CONF = cfg.CONF
# Anonymous webhooks a warning names; it counts them all.
NAMED_WEBHOOKS = 5

# The project the package store's probe writes under, and removes again.
PROBE_PROJECT = "qinling-lite-status"

_WEBHOOKS = sa.table("webhooks", sa.column("id"), sa.column("auth"), sa.column("created_at"))


def head_revision() -> str | None:
    """The newest revision of the installed migrations."""
    migrations = importlib.resources.files(migration.MIGRATIONS)
    with importlib.resources.as_file(migrations) as directory:
        return script.ScriptDirectory(str(directory)).get_current_head()


def anonymous_webhooks() -> list[str]:
    """Ids of the webhooks anyone may invoke, oldest first: auth ``none``, or every
    webhook of a schema from before webhooks had ``auth``."""
    engine = db_session.get_engine()
    inspector = sa.inspect(engine)
    if not inspector.has_table("webhooks"):
        return []
    query = sa.select(_WEBHOOKS.c.id).order_by(_WEBHOOKS.c.created_at, _WEBHOOKS.c.id)
    if "auth" in {column["name"] for column in inspector.get_columns("webhooks")}:
        query = query.where(_WEBHOOKS.c.auth == "none")
    with engine.connect() as connection:
        return list(connection.scalars(query))


def _probe_package() -> bytes:
    """The smallest package the store's checks accept: a ZIP file with one module."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("probe.py", "")
    return buffer.getvalue()


def _failure(what: str, exc: Exception) -> upgradecheck.Result:
    return upgradecheck.Result(upgradecheck.Code.FAILURE, f"{what}: {exc}")


class Checks(upgradecheck.UpgradeCommands):
    """What must hold before the services run the new release."""

    def _check_schema(self) -> upgradecheck.Result:
        current, head = migration.version(), head_revision()
        if current == head:
            return upgradecheck.Result(upgradecheck.Code.SUCCESS)
        return upgradecheck.Result(
            upgradecheck.Code.FAILURE,
            f"The database schema is at revision {current or '(none)'}, not {head}: run "
            "'qinling-lite-manage db upgrade'.",
        )

    def _check_anonymous_webhooks(self) -> upgradecheck.Result:
        if not CONF.webhook.require_auth:
            return upgradecheck.Result(upgradecheck.Code.SUCCESS)
        ids = anonymous_webhooks()
        if not ids:
            return upgradecheck.Result(upgradecheck.Code.SUCCESS)
        named = ", ".join(ids[:NAMED_WEBHOOKS]) + (", ..." if len(ids) > NAMED_WEBHOOKS else "")
        return upgradecheck.Result(
            upgradecheck.Code.WARNING,
            f"[webhook] require_auth is on and {len(ids)} webhook(s) have auth 'none' "
            f"({named}): their invocations will answer 401. Switch them to auth 'hmac' or "
            "'token' (PUT /v1/webhooks/<id>) and give their callers the secret or a token.",
        )

    def _check_orchestrator(self) -> upgradecheck.Result:
        name = CONF.engine.orchestrator
        try:
            warnings = orchestrator.orchestrator_class(CONF).check(CONF)
        except Exception as exc:
            return _failure(f"The {name} orchestrator cannot start workers", exc)
        if warnings:
            return upgradecheck.Result(upgradecheck.Code.WARNING, " ".join(warnings))
        return upgradecheck.Result(upgradecheck.Code.SUCCESS)

    def _check_package_store(self) -> upgradecheck.Result:
        name = CONF.storage.provider
        function_id = f"probe-{uuid.uuid4().hex}"
        try:
            store = storage.load(CONF)
            md5 = store.store(PROBE_PROJECT, function_id, io.BytesIO(_probe_package()))
            store.read(PROBE_PROJECT, function_id, md5)
            store.delete_all(PROBE_PROJECT, function_id)
        except Exception as exc:
            return _failure(f"The {name} package store cannot keep a package", exc)
        return upgradecheck.Result(upgradecheck.Code.SUCCESS)

    _upgrade_checks = (
        ("Database schema", _check_schema),
        ("Orchestrator", _check_orchestrator),
        ("Package store", _check_package_store),
        ("Anonymous webhooks", _check_anonymous_webhooks),
    )


def main() -> None:
    sys.exit(upgradecheck.main(config.CONF, "qinling-lite", Checks()))


if __name__ == "__main__":
    main()
