"""A stand-in for a runtime environment (no network, no pip): a directory laid out as a
virtualenv of this Python's version, whose site-packages holds one small library."""

import os
import sys
import textwrap

import pytest

from qinling_lite.orchestrator.local import process
from tests.unit.orchestrator.conftest import Package, payload, spec

IMAGE = "python3-libraries"
LIBRARY = "qinling_fake_library"
VERSION = "{}.{}".format(*sys.version_info[:2])


def make(root):
    """Lay a fake environment out at ``root``; return its site-packages."""
    site = os.path.join(root, "lib", f"python{VERSION}", "site-packages")
    os.makedirs(os.path.join(site, LIBRARY))
    with open(os.path.join(site, LIBRARY, "__init__.py"), "w") as module:
        module.write("ANSWER = 42\n")
    os.makedirs(os.path.join(root, "bin"))
    with open(os.path.join(root, "bin", "secret"), "w") as secret:
        secret.write("not for functions\n")
    with open(os.path.join(root, "pyvenv.cfg"), "w") as cfg:
        cfg.write(f"home = {os.path.dirname(sys.executable)}\nversion = {VERSION}\n")
    for top, _, files in os.walk(root):  # workers (other uids) read it
        os.chmod(top, 0o755)
        for name in files:
            os.chmod(os.path.join(top, name), 0o644)
    return site


@pytest.fixture
def environment(work_dir, config_fixture):
    """A fake environment under ``work_dir``, offered to the runtimes of ``IMAGE``."""
    root = os.path.join(work_dir, "env")
    make(root)
    config_fixture.config(group="local_orchestrator", runtime_environments={IMAGE: root})
    return root


LIBRARY_PROBE = textwrap.dedent(
    f"""\
    import os

    try:
        import {LIBRARY} as library
    except ImportError:
        library = None

    def main(paths, **kwargs):
        if library is None:
            return {{'answer': None}}
        try:
            open(os.path.join(os.path.dirname(library.__file__), 'new.py'), 'w').close()
            writable = True
        except OSError:
            writable = False
        return {{
            'answer': library.ANSWER,
            'file': library.__file__,
            'writable': writable,
            'exists': {{path: os.path.exists(path) for path in paths}},
        }}
    """
)


def library_probe(orch, runtime_id, paths=(), runtime_image=None):
    """Run the library probe on a new worker of ``runtime_id`` (whose image the function's
    spec says is ``runtime_image``); (its output, its worker's memory limit or None)."""
    function = spec(
        function_id=f"probe-{runtime_id}",
        runtime_id=runtime_id,
        runtime_image=runtime_image,
        entry="lib.main",
    )
    package = Package({"lib.py": LIBRARY_PROBE})
    with orch.worker(function, package, wait=5) as worker:
        answer = worker.execute(payload(paths=list(paths)), timeout=10)
        limit = None
        if worker.cgroup is not None:
            with open(f"{worker.cgroup._limits['memory']}/memory.limit_in_bytes") as file:
                limit = int(file.read()) - process.unpacked_size(package.data)
    assert answer["success"] is True, answer
    return answer["output"], limit
