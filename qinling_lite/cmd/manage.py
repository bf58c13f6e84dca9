"""qinling-lite-manage: administrative commands (``db upgrade``, ``db version``,
``runtime-environment build``)."""

import os
import sys

from oslo_config import cfg

from qinling_lite import config
from qinling_lite.orchestrator.local import environments, sandbox

CONF = cfg.CONF


# The database commands import alembic and SQLAlchemy when they run, not before.
def _db_upgrade():
    from qinling_lite.db import migration

    migration.upgrade(CONF.command.revision)


def _db_version():
    from qinling_lite.db import migration

    print(migration.version())


def _runtime_environment_build():
    """Build the environment and print the configuration line that offers it."""
    directory = os.path.abspath(CONF.command.directory)
    python = CONF.command.python or CONF.local_orchestrator.python or sandbox.default_python()
    try:
        environments.build(directory, python, CONF.command.requirements)
    except environments.BuildError as exc:
        sys.exit(f"qinling-lite-manage runtime-environment build: {exc}")
    image = os.path.basename(directory)
    print(
        f"# Built with {python}. Offer it to the runtimes of an image (any name without "
        f"':'; here {image}) in the engine's configuration:\n"
        f"[local_orchestrator]\nruntime_environments = {image}:{directory}"
    )


def _add_command_parsers(subparsers):
    db = subparsers.add_parser("db", help="Manage the database schema.")
    actions = db.add_subparsers(dest="action", required=True)

    upgrade = actions.add_parser("upgrade", help="Migrate the schema to a newer revision.")
    upgrade.add_argument("--revision", default="head", help="Target revision (default: head).")
    upgrade.set_defaults(func=_db_upgrade)

    version = actions.add_parser("version", help="Print the schema's current revision.")
    version.set_defaults(func=_db_version)

    environment = subparsers.add_parser(
        "runtime-environment",
        help="Manage the Python environments with libraries of the local orchestrator's "
        "runtimes ([local_orchestrator] runtime_environments).",
    )
    actions = environment.add_subparsers(dest="action", required=True)
    build = actions.add_parser(
        "build",
        help="Make a virtualenv with the workers' interpreter and pip-install libraries into "
        "it; print the configuration line that offers it to runtimes.",
    )
    build.add_argument(
        "directory", help="The virtualenv's directory (new, empty, or one to add to)."
    )
    build.add_argument(
        "--requirements",
        help="A pip requirements file (default: the one shipped with qinling-lite: "
        "python-swiftclient, keystoneauth1, openstacksdk).",
    )
    build.add_argument(
        "--python",
        help="The interpreter of the environment, which must be the workers' (default: "
        "[local_orchestrator] python, else the base interpreter of qinling-lite's Python).",
    )
    build.set_defaults(func=_runtime_environment_build)


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
