"""The real ``openstack`` CLI with the Qinling plugin, in a virtual environment of its own.

``install(directory)`` builds the venv (``python -m venv`` + pip) unless it is already there
(its ``installed.txt`` lists what was installed, written last); ``Cli`` runs commands against a
server root URL with auth type ``none`` (no Keystone), or through Keystone's catalog.
"""

import fcntl
import json
import os
import pathlib
import shutil
import subprocess
import sys
import time

PACKAGES = ("python-openstackclient", "python-qinlingclient==5.1.1")
# Variables that would point the CLI somewhere else or change how its Python starts.
FOREIGN = ("QINLING_URL", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")


class InstallError(AssertionError):
    pass


def _works(openstack):
    probe = subprocess.run(
        [openstack, "function", "list", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
    )
    return probe.returncode == 0 and "--filter" in probe.stdout


def install(directory):
    """Return the path of ``openstack`` in the venv at ``directory``, creating it if needed.

    A lock file next to ``directory`` keeps two test sessions sharing a cache directory from
    building it at the same time. Failure to build raises ``InstallError``.
    """
    openstack = os.path.join(directory, "bin", "openstack")
    marker = pathlib.Path(directory, "installed.txt")
    with open(f"{directory}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists() and marker.read_text() == "\n".join(PACKAGES):
            return openstack
        shutil.rmtree(directory, ignore_errors=True)
        python = os.path.join(directory, "bin", "python")
        started = time.monotonic()
        for step in (
            [sys.executable, "-m", "venv", directory],
            [python, "-m", "pip", "install", "-q", *PACKAGES],
        ):
            done = subprocess.run(
                step, capture_output=True, text=True, timeout=600, env=clean_env()
            )
            if done.returncode != 0:
                shutil.rmtree(directory, ignore_errors=True)
                raise InstallError(
                    f"{' '.join(step)} failed (rc {done.returncode}):\n{done.stdout}\n{done.stderr}"
                )
        if not _works(openstack):
            raise InstallError(f"{openstack} does not run after installing {PACKAGES}")
        marker.write_text("\n".join(PACKAGES))
        print(f"installed {PACKAGES} in {time.monotonic() - started:.0f} s", file=sys.stderr)
        return openstack


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
