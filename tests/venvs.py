"""Virtual environments of their own for the real programs some tests run (the
``openstack`` CLI, Keystone), built once and kept between test sessions.

A venv is complete when its ``installed.txt`` lists what was installed (written last); a
lock file next to it keeps two test sessions sharing a cache directory from building it
at the same time.
"""

import fcntl
import os
import pathlib
import shutil
import subprocess
import sys
import time


class InstallError(AssertionError):
    pass


def directory(config, tmp_path_factory, variable, cache_name, name):
    """``$variable``, else ``name`` in the directory ``cache_name`` of pytest's cache (a
    temporary directory with ``-p no:cacheprovider``)."""
    chosen = os.environ.get(variable)
    if chosen:
        return chosen
    cache = getattr(config, "cache", None)  # None with -p no:cacheprovider
    root = cache.mkdir(cache_name) if cache is not None else tmp_path_factory.mktemp(cache_name)
    return str(root / name)


def run(command, env, what=None, timeout=600):
    """Run a step of a build; InstallError with its output if it fails."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    if done.returncode != 0:
        raise InstallError(
            f"{what or ' '.join(command)} failed (rc {done.returncode}):\n"
            f"{done.stdout}\n{done.stderr}"
        )


def install(directory, packages, env, check):
    """Build the venv at ``directory`` with ``packages`` unless it is complete; return its
    absolute path.

    The steps run with the environment ``env``; ``check(directory)`` then raises unless
    what was installed runs. A failed build leaves nothing behind.
    """

    def build(directory):
        run([sys.executable, "-m", "venv", directory], env, "python -m venv")
        pip = [os.path.join(directory, "bin", "python"), "-m", "pip", "install", "-q"]
        run([*pip, *packages], env, f"pip install {' '.join(packages)}")
        check(directory)

    return built(directory, "\n".join(packages), build, f"installed {packages}")


def built(directory, recipe, build, what):
    """``directory`` (absolute) as ``build(directory)`` makes it from ``recipe`` (text),
    unless it is complete: its ``installed.txt`` holds that recipe. A failed build leaves
    nothing behind; the lock keeps two test sessions from building it at once."""
    directory = os.path.abspath(directory)
    os.makedirs(os.path.dirname(directory), exist_ok=True)
    marker = pathlib.Path(directory, "installed.txt")
    with open(f"{directory}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists() and marker.read_text() == recipe:
            return directory
        shutil.rmtree(directory, ignore_errors=True)
        started = time.monotonic()
        try:
            build(directory)
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise
        marker.write_text(recipe)
        print(f"{what} in {time.monotonic() - started:.0f} s", file=sys.stderr)
        return directory
