"""The "openstack" runtime environment (python-swiftclient, keystoneauth1, openstacksdk)
for tests, built once with the documented command, ``qinling-lite-manage
runtime-environment build DIRECTORY``, and kept between test sessions.

It is complete when its ``installed.txt`` (beside its ``lib/``, out of the functions'
sight) holds what it was built from (written last); a lock file next to it keeps two test
sessions sharing a directory from building it at the same time.
"""

import os
import pathlib
import sys
import tempfile

from qinling_lite.orchestrator.local import environments, sandbox
from tests import venvs

MANAGE = os.path.join(os.path.dirname(sys.executable), "qinling-lite-manage")
MODULES = ("swiftclient", "keystoneauth1", "openstack")
# Variables that would point the build (venv, pip) somewhere else.
FOREIGN = (*environments.FOREIGN, "PYTHONSAFEPATH", "PYTHONNOUSERSITE")


def directory(config, tmp_path_factory):
    """``$QINLING_LITE_OPENSTACK_RUNTIME_ENV``, else a directory in pytest's cache (or a
    tmp dir)."""
    return venvs.directory(
        config,
        tmp_path_factory,
        "QINLING_LITE_OPENSTACK_RUNTIME_ENV",
        "runtime-environments",
        "openstack-py{}{}".format(*sys.version_info[:2]),
    )


def _recipe():
    """What the environment is built from: the workers' interpreter (the command's and a
    server's default) and the packaged requirements."""
    with environments.default_requirements() as path:
        requirements = pathlib.Path(path).read_text()
    return f"python: {sandbox.default_python()}\n{requirements}"


def _env():
    return {k: v for k, v in os.environ.items() if k not in FOREIGN}


def _check(directory):
    python = os.path.join(directory, "bin", "python")
    venvs.run([python, "-I", "-c", f"import {', '.join(MODULES)}"], _env(), "importing them")


def install(directory):
    """Build the environment at ``directory`` unless it is complete; return its absolute
    path. A failed build leaves nothing behind (``venvs.InstallError`` says why)."""

    def build(directory):
        with tempfile.NamedTemporaryFile(suffix=".conf") as empty:  # none of the host's
            command = [MANAGE, "--config-file", empty.name, "runtime-environment", "build"]
            venvs.run([*command, directory], _env(), "qinling-lite-manage", timeout=900)
        _check(directory)

    return venvs.built(directory, _recipe(), build, "built the openstack runtime environment")
