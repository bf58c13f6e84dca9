"""Runtime environments: the libraries a local runtime's functions may import.

An environment is a virtualenv built with the workers' interpreter
(``qinling-lite-manage runtime-environment build``, ``build`` below). A runtime whose image
is a key of ``[local_orchestrator] runtime_environments`` gets workers that see the
environment's ``lib/pythonX.Y/site-packages``, read-only, at ``sandbox.LIBRARY_INSIDE``
(the rest of the environment stays out of sight), and whose runtime server adds it to
the path (``--library-path``). Other runtimes have the standard library only.
"""

import contextlib
import importlib.resources
import os
import shutil
import subprocess
import sys

from qinling_lite import exceptions

# Shipped with the package: what ``build`` installs unless told otherwise, and what the
# ``openstack`` target of runtimes/python/Dockerfile installs.
REQUIREMENTS = "openstack-requirements.txt"
# Variables that would make venv or pip install somewhere else, or start another Python.
FOREIGN = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PYTHONUSERBASE",
    "VIRTUAL_ENV",
    "PIP_USER",
    "PIP_TARGET",
    "PIP_PREFIX",
    "PIP_ROOT",
)
_VERSION = "import sys; print('%d.%d' % sys.version_info[:2])"


class BuildError(Exception):
    """An environment could not be built; the message says why."""


def site_packages(directory, version):
    """Where a virtualenv at ``directory`` made with Python ``version`` (``X.Y``) keeps
    its libraries."""
    return os.path.join(directory, "lib", f"python{version}", "site-packages")


def build_command(directory, python):
    """The command that builds the environment ``directory`` for ``python``."""
    return f"qinling-lite-manage runtime-environment build {directory} --python {python}"


def check(environments, python, version):
    """``{image: site-packages directory}`` (real paths) of ``environments``
    (``{image: directory}``) for workers running ``python``, Python ``version``.

    Raises OrchestratorError naming the image, the problem and the command that builds
    the environment.
    """
    found = {}
    for image, directory in sorted(environments.items()):
        problem = None
        if not image:
            problem = "has no image name"
        elif not os.path.isabs(directory):
            problem = "is not an absolute path"
        elif not os.path.isdir(directory):
            problem = "does not exist"
        elif not os.path.isdir(site_packages(directory, version)):
            problem = (
                f"has no lib/python{version}/site-packages: it is no virtualenv of the "
                f"workers' interpreter {python} (Python {version})"
            )
        if problem:
            raise exceptions.OrchestratorError(
                f"[local_orchestrator] runtime_environments: the environment {directory!r} "
                f"of image {image!r} {problem}. Build it with: "
                f"{build_command(directory or 'DIRECTORY', python)}"
            )
        found[image] = os.path.realpath(site_packages(directory, version))
    return found


@contextlib.contextmanager
def default_requirements():
    """The path of the requirements shipped with the package (python-swiftclient,
    keystoneauth1, openstacksdk)."""
    resource = importlib.resources.files(__package__).joinpath(REQUIREMENTS)
    with importlib.resources.as_file(resource) as path:
        yield str(path)


def interpreter(python):
    """The absolute path of the interpreter ``python`` (a path, or a name on PATH)."""
    found = shutil.which(python) if os.sep not in python else python
    if not found or not os.path.isfile(found) or not os.access(found, os.X_OK):
        raise BuildError(f"No interpreter {python!r}: give a path or a name on PATH.")
    return os.path.abspath(found)


def build(directory, python, requirements=None, run=subprocess.run, output=None):
    """Make the virtualenv ``directory`` with the interpreter ``python`` (a path or a name
    on PATH) and pip-install ``requirements`` (a file; default: the packaged one) into it.
    Return the path of its site-packages.

    An existing virtualenv is installed into; a directory holding anything else is
    refused. The tools' output goes to ``output`` (default: stderr). Raises BuildError.
    """
    python = interpreter(python)
    directory = os.path.abspath(directory)
    if os.path.lexists(directory):
        if not os.path.isdir(directory):
            raise BuildError(f"{directory} exists and is not a directory.")
        if os.listdir(directory) and not os.path.isfile(os.path.join(directory, "pyvenv.cfg")):
            raise BuildError(
                f"{directory} is neither empty nor a virtualenv: choose a new directory."
            )
    if requirements is not None and not os.path.isfile(requirements):
        raise BuildError(f"No requirements file {requirements}.")
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN}
    output = sys.stderr if output is None else output

    def step(command, what, hint=""):
        try:
            done = run(command, env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=output)
        except OSError as exc:
            raise BuildError(f"{what} could not run: {exc}") from None
        if done.returncode != 0:
            raise BuildError(f"{what} failed (exit code {done.returncode}), see above.{hint}")

    with contextlib.ExitStack() as stack:
        if requirements is None:
            requirements = stack.enter_context(default_requirements())
        step(
            [python, "-m", "venv", directory],
            f"{python} -m venv",
            " (Debian's Python needs its venv package: apt-get install python3-venv.)",
        )
        pip = [os.path.join(directory, "bin", "python"), "-m", "pip", "install"]
        step([*pip, "--disable-pip-version-check", "-r", requirements], "pip install")
    try:
        version = run(
            [python, "-I", "-c", _VERSION],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as exc:
        raise BuildError(f"Cannot ask {python} its version: {exc}") from None
    path = site_packages(directory, version)
    if not os.path.isdir(path):
        raise BuildError(f"The virtualenv {directory} has no {path}.")
    return path
