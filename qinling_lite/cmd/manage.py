"""qinling-lite-manage: administrative commands (``db upgrade``, ``db version``)."""

import sys

from oslo_config import cfg

from qinling_lite import config
from qinling_lite.db import migration

CONF = cfg.CONF


def _db_upgrade():
    migration.upgrade(CONF.command.revision)


def _db_version():
    print(migration.version())


def _add_command_parsers(subparsers):
    db = subparsers.add_parser("db", help="Manage the database schema.")
    actions = db.add_subparsers(dest="action", required=True)

    upgrade = actions.add_parser("upgrade", help="Migrate the schema to a newer revision.")
    upgrade.add_argument("--revision", default="head", help="Target revision (default: head).")
    upgrade.set_defaults(func=_db_upgrade)

    version = actions.add_parser("version", help="Print the schema's current revision.")
    version.set_defaults(func=_db_version)


def main():
    CONF.register_cli_opt(
        cfg.SubCommandOpt("command", title="Commands", handler=_add_command_parsers)
    )
    # Logs go to stderr, so that stdout carries only a command's answer.
    CONF.set_default("use_stderr", True)
    config.parse_args(sys.argv[1:])
    CONF.command.func()


if __name__ == "__main__":
    main()
