"""Fixtures for orchestrator tests: real runtime server processes, in each sandbox mode.

The bwrap variants run when bubblewrap is installed or ``QINLING_LITE_REQUIRE_BWRAP=1``;
with that variable set and no bwrap, they fail.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

from qinling_lite import config, orchestrator
from qinling_lite.orchestrator import base
from qinling_lite.orchestrator.local import sandbox as local_sandbox
from tests.packages import HELLO_WORLD, make_zip

CONF = config.CONF
MIB = 1024 * 1024
REQUIRE_BWRAP = os.environ.get("QINLING_LITE_REQUIRE_BWRAP") == "1"
SANDBOXES = ["none"] + (["bwrap"] if REQUIRE_BWRAP or shutil.which("bwrap") else [])
# For tests of the orchestrator's own logic, which the sandbox does not change: the one
# ``sandbox = auto`` picks (sandbox-specific behaviour is tested in each mode).
production_sandbox = pytest.mark.parametrize("sandbox", SANDBOXES[-1:], indirect=True)

SLEEPER = """import time


def main(seconds=0, **kwargs):
    time.sleep(seconds)
    return 'slept'
"""


def spec(
    function_id="f1",
    version=0,
    runtime_id="rt",
    entry="hello_world.main",
    md5="md5-1",
    runtime_image=None,
):
    return base.FunctionSpec(
        function_id=function_id,
        version=version,
        runtime_id=runtime_id,
        runtime_image=runtime_image,
        entry=entry,
        package_md5=md5,
        cpu=100,
        memory_size=32 * MIB,
        timeout=5,
    )


def payload(execution_id="e1", timeout=5, **inputs):
    return {
        "execution_id": execution_id,
        "input": inputs,
        "timeout": timeout,
        "memory_size": 32 * MIB,
        "cpu": 100,
        "context": {},
    }


class Package:
    """A package callable that counts its calls."""

    def __init__(self, files):
        self.data = make_zip(files)
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return self.data


def hello():
    return Package({"hello_world.py": HELLO_WORLD})


def sleeper():
    return Package({"sleeper.py": SLEEPER})


def run(orch, function_spec, package, wait=5, **inputs):
    """One execution; return (worker name, answer)."""
    with orch.worker(function_spec, package, wait) as worker:
        return worker.name, worker.execute(payload(**inputs), timeout=10)


def wait_for(predicate, timeout=10, interval=0.01, longest=0.1):
    """Poll until ``predicate()`` is truthy; return its last value. The interval grows
    to ``longest``: predicates that scan /proc cost a few ms each."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()) and time.monotonic() < deadline:
        time.sleep(interval)
        interval = min(longest, interval * 1.5)
    return value


def _proc_pids():
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _read(path):
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError:
        return b""


def is_zombie(pid):
    """Whether ``pid`` has exited, its descriptors closed, and waits to be reaped."""
    return _read(f"/proc/{pid}/stat").rpartition(b")")[2].split()[:1] == [b"Z"]


def _place(pid):
    """What names a worker's process on the host: its command line and working directory."""
    try:
        cwd = os.fsencode(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:
        cwd = b""
    return _read(f"/proc/{pid}/cmdline") + b"\0" + cwd + b"/"


def processes_using(work_dir, name=None):
    """Pids of the processes whose command line or working directory names ``work_dir``
    (or worker ``name`` in it)."""
    pattern = re.escape(os.fsencode(work_dir))
    if name:
        pattern += rb"/[^/]+/" + re.escape(name.encode()) + rb"[/\0]"
    return [pid for pid in _proc_pids() if re.search(pattern, _place(pid))]


def worker_pids(work_dir):
    """``{worker name: pid}`` of this process's worker children, from /proc."""
    pattern = re.compile(re.escape(os.fsencode(work_dir)) + rb"/[^/]+/([^/\0]+)")
    found = {}
    for pid in _proc_pids():
        stat = _read(f"/proc/{pid}/stat").rpartition(b")")[2].split()
        if stat and int(stat[1]) == os.getpid():
            match = pattern.search(_place(pid))
            if match:
                found[match.group(1).decode()] = pid
    return found


def descendants(pid):
    """``pid`` and all processes below it."""
    parents = {}
    for other in _proc_pids():
        stat = _read(f"/proc/{other}/stat").rpartition(b")")[2].split()
        if stat:
            parents.setdefault(int(stat[1]), []).append(other)
    found, todo = [], [pid]
    while todo:
        found.append(current := todo.pop())
        todo += parents.get(current, [])
    return found


WORKER_UID = CONF.local_orchestrator.worker_uid_start  # all uids of the range alike


def _runs_as_worker(python):
    try:
        subprocess.run(
            [python, "-I", "-S", "-c", "pass"],
            user=WORKER_UID,
            group=WORKER_UID,
            extra_groups=[],
            check=True,
            capture_output=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return False
    return True


def python_for(sandbox):
    """An interpreter for the sandbox: as root without bwrap, one that workers can run."""
    default = local_sandbox.default_python()
    if sandbox == "bwrap" or os.geteuid() != 0 or _runs_as_worker(default):
        return default
    name = "python{}.{}".format(*sys.version_info[:2])
    for directory in os.defpath.split(os.pathsep):
        candidate = shutil.which(name, path=directory)
        if candidate and _runs_as_worker(candidate):
            return candidate
    pytest.fail(f"No {name} that uid {WORKER_UID} may run (tried {default}).")


@pytest.fixture
def work_dir():
    """A short directory (Unix socket paths are short) that workers as nobody can reach."""
    path = tempfile.mkdtemp(prefix="ql-")
    os.chmod(path, 0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(params=SANDBOXES)
def sandbox(request):
    if request.param == "bwrap" and not shutil.which("bwrap"):
        pytest.fail("QINLING_LITE_REQUIRE_BWRAP=1 but bubblewrap (bwrap) is not installed.")
    return request.param


@pytest.fixture
def conf(request, config_fixture, work_dir, sandbox):
    """CONF for a local orchestrator in ``sandbox`` mode, its state under ``work_dir``, with
    a pool of one worker (``@pytest.mark.pool_size(n)`` for more: each start costs CPU)."""
    marker = request.node.get_closest_marker("pool_size")
    config_fixture.config(state_path=work_dir)
    config_fixture.config(
        group="local_orchestrator",
        sandbox=sandbox,
        python=python_for(sandbox),
        work_dir=os.path.join(work_dir, "w"),
        pool_size=marker.args[0] if marker else 1,
        max_workers_per_function=2,
        worker_start_timeout=10,
    )
    return CONF


@pytest.fixture
def make_orchestrator(conf):
    """Build orchestrators from CONF (after any further overrides); stopped at the end."""
    built = []

    def make():
        built.append(orchestrator.load(conf))
        return built[-1]

    yield make
    for orch in built:
        orch.stop()


@pytest.fixture
def orch(make_orchestrator):
    """A local orchestrator with a warm pool for runtime ``rt``."""
    orch = make_orchestrator()
    orch.create_pool("rt", "python3")
    return orch
