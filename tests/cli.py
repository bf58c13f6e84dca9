"""The real ``openstack`` CLI with the Qinling plugin, in a virtual environment of its own.

``install(directory)`` builds the venv (``tests.venvs``) unless it is already there; ``Cli``
runs commands against a server root URL with auth type ``none`` (no Keystone), or through
Keystone's catalog.
"""

import json
import os
import subprocess
import sys

from tests import venvs

PACKAGES = ("python-openstackclient", "python-qinlingclient==5.1.1")
# Variables that would point the CLI somewhere else or change how its Python starts.
FOREIGN = ("QINLING_URL", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")


def _check(directory):
    openstack = os.path.join(directory, "bin", "openstack")
    probe = subprocess.run(
        [openstack, "function", "list", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
    )
    if probe.returncode != 0 or "--filter" not in probe.stdout:
        raise venvs.InstallError(f"{openstack} does not run after installing {PACKAGES}")


def venv_directory(config, tmp_path_factory):
    """``$QINLING_LITE_OSC_VENV``, else a directory in pytest's cache (or a tmp dir)."""
    version = f"py{sys.version_info.major}{sys.version_info.minor}"
    return venvs.directory(
        config,
        tmp_path_factory,
        "QINLING_LITE_OSC_VENV",
        "openstack-cli",
        f"qinlingclient-5.1.1-{version}",
    )


def install(directory):
    """Return the path of ``openstack`` in the venv at ``directory``, building the venv if
    needed (``tests.venvs``; failure raises ``venvs.InstallError``)."""
    return os.path.join(venvs.install(directory, PACKAGES, clean_env(), _check), "bin", "openstack")


def clean_env(**extra):
    """The environment minus every ``OS_*`` variable and anything in ``FOREIGN``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_") and k not in FOREIGN}
    env.update(extra)
    return env


class CliError(AssertionError):
    pass


class Cli:
    """``openstack --os-auth-type none --os-endpoint URL ...`` against a qinling-lite server,
    or, given ``auth`` (``--os-*`` arguments), a user's CLI that finds the server in the
    Keystone catalog (service type ``function-engine``)."""

    def __init__(self, openstack, url, cwd, timeout=60, auth=None):
        self.openstack = openstack
        self.url = url
        self.cwd = str(cwd)
        self.timeout = timeout
        self.env = clean_env(TMPDIR=self.cwd)
        self.auth = auth or ["--os-auth-type", "none", "--os-endpoint", url]

    def run(self, *args, rc=0):
        """Run one command; assert its exit status is ``rc`` and return the completed process."""
        command = [self.openstack, *self.auth, *args]
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=self.timeout,
            cwd=self.cwd,
            env=self.env,
        )
        if rc is not None and done.returncode != rc:
            raise CliError(
                f"openstack {' '.join(args)}: rc {done.returncode}, expected {rc}\n"
                f"stdout: {done.stdout}\nstderr: {done.stderr}"
            )
        return done

    def out(self, *args):
        """The stdout of a successful command."""
        return self.run(*args).stdout

    def json(self, *args):
        """The parsed ``-f json`` output of a successful command."""
        return json.loads(self.out(*args, "-f", "json"))

    def value(self, *args):
        """The ``-f value`` output of a successful command, stripped."""
        return self.out(*args, "-f", "value").strip()

    def error(self, *args):
        """Run a command that must fail with rc 1; return its stdout and stderr."""
        done = self.run(*args, rc=1)
        return done.stdout, done.stderr
