"""What ``pip install`` makes of the checkout works outside it: the migrations install
with the package, and ``qinling-lite-manage db upgrade`` migrates a new database.

The install is ``pip install --target``, which puts nothing under ``sys.prefix``; its
dependencies come from this interpreter's environment, the package from the target.
"""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import script

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    """The checkout's files (tracked, or new and not ignored), installed with --target."""
    source = tmp_path_factory.mktemp("source")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    for name in filter(None, listed.decode().split("\0")):
        path = ROOT / name
        if path.is_file():  # not a file deleted in the work tree
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            (source / name).write_bytes(path.read_bytes())
    target = tmp_path_factory.mktemp("target")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        + ["--no-deps", "--no-index", "--no-build-isolation", "--target", target, source],
        check=True,
        timeout=300,
    )
    return target


def _run(target, cwd, *args):
    """Run ``args`` in ``cwd`` with only the target added to this environment's path."""
    return subprocess.run(
        args,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout


def test_the_migrations_install_as_a_package(target, tmp_path):
    found = _run(
        target,
        tmp_path,
        sys.executable,
        "-c",
        "import importlib.resources, qinling_lite;"
        "print(qinling_lite.__file__);"
        "print(importlib.resources.files('qinling_lite.migrations'))",
    ).splitlines()
    assert found == [
        str(target / "qinling_lite" / "__init__.py"),
        str(target / "qinling_lite" / "migrations"),
    ]
    migrations = target / "qinling_lite" / "migrations"
    assert (migrations / "env.py").is_file()
    assert (migrations / "script.py.mako").is_file()
    assert sorted(p.name for p in (migrations / "versions").glob("0*.py")) == sorted(
        p.name for p in (ROOT / "migrations" / "versions").glob("0*.py")
    )
    assert not (target / "share").exists()


def test_manage_upgrades_a_new_database_to_head(target, tmp_path):
    database = tmp_path / "qinling-lite.sqlite"
    config = tmp_path / "qinling-lite.conf"
    config.write_text(f"[database]\nconnection = sqlite:///{database}\n")
    manage = str(target / "bin" / "qinling-lite-manage")

    before = _run(target, tmp_path, manage, "--config-file", str(config), "db", "version")
    assert before.strip() == "None"
    _run(target, tmp_path, manage, "--config-file", str(config), "db", "upgrade")
    version = _run(target, tmp_path, manage, "--config-file", str(config), "db", "version")

    head = script.ScriptDirectory(str(ROOT / "migrations")).get_current_head()
    assert version.strip() == head
    with sqlite3.connect(database) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert {"functions", "executions", "runtimes", "webhooks", "alembic_version"} <= tables
