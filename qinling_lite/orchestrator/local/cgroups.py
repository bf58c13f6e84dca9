"""Per-sandbox resource control with Linux control groups, v1 or v2.

Each local worker gets a group of its own under this process's group: the memory of all
its processes together (files in its tmpfs count too), a cap on their number, and a CPU
quota. The group is also how every process of a worker is found and killed, whatever
it did to detach itself (``setsid``, double forks).

Layout: ``<own group>/qinling-lite/<orchestrator>/<worker>``, in each v1 controller's
hierarchy, or once in the v2 hierarchy (where this process first moves itself into a
leaf, ``<own group>/engine``, so that its group may hand controllers down).
"""

import contextlib
import errno
import os
import signal
import time

from oslo_log import log as logging

LOG = logging.getLogger(__name__)

ROOT = "/sys/fs/cgroup"
CONTROLLERS = ("memory", "pids", "cpu")
TOP = "qinling-lite"
CPU_PERIOD = 100_000  # microseconds
KILL_ROUNDS = 100
REMOVE_WAIT = 5.0


class Unavailable(Exception):
    """This host (or this process's privileges) gives no usable cgroups."""


def _own_paths():
    """``{controller: path}`` of this process's groups (``""`` is the v2 group)."""
    paths = {}
    with open("/proc/self/cgroup") as lines:
        for line in lines:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for controller in controllers.split(","):
                paths[controller] = path
    return paths


def _write(path, value):
    with open(path, "w") as file:
        file.write(value)


def _read(path):
    with open(path) as file:
        return file.read()


class Group:
    """One worker's group: one directory per controller (v1) or a single one (v2)."""

    def __init__(self, directories, version):
        self.directories = directories
        self.version = version

    def set_limits(self, memory=None, pids=None, cpu=None):
        """Set what is given: ``memory`` bytes, ``pids`` processes, ``cpu`` millicpu."""
        d = self.directories
        if self.version == 1:
            if memory is not None:
                files = [f"{d['memory']}/memory.limit_in_bytes"]
                memsw = f"{d['memory']}/memory.memsw.limit_in_bytes"
                if os.path.exists(memsw):  # swap accounting is on: no swapping past it
                    # memory may never exceed memory+swap: raise the latter first
                    raising = int(_read(files[0])) < memory
                    files.insert(0 if raising else 1, memsw)
                for path in files:
                    _write(path, str(memory))
            if pids is not None:
                _write(f"{d['pids']}/pids.max", str(pids))
            if cpu is not None:
                _write(f"{d['cpu']}/cpu.cfs_period_us", str(CPU_PERIOD))
                _write(f"{d['cpu']}/cpu.cfs_quota_us", str(cpu * CPU_PERIOD // 1000))
        else:
            if memory is not None:
                _write(f"{d['']}/memory.max", str(memory))
                with contextlib.suppress(FileNotFoundError):
                    _write(f"{d['']}/memory.swap.max", "0")
            if pids is not None:
                _write(f"{d['']}/pids.max", str(pids))
            if cpu is not None:
                _write(f"{d['']}/cpu.max", f"{cpu * CPU_PERIOD // 1000} {CPU_PERIOD}")

    def procs_files(self):
        """The ``cgroup.procs`` files a new process writes ``0`` to, to join the group."""
        return [f"{directory}/cgroup.procs" for directory in self.directories.values()]

    def pids(self):
        """Pids of the processes in the group."""
        directory = next(iter(self.directories.values()))
        try:
            return [int(pid) for pid in _read(f"{directory}/cgroup.procs").split()]
        except FileNotFoundError:
            return []

    def kill(self):
        """SIGKILL every process of the group, until none is left."""
        kill_file = f"{self.directories.get('', '')}/cgroup.kill"
        if self.version == 2 and os.path.exists(kill_file):
            _write(kill_file, "1")
        # Killed processes cannot fork any more, so each round leaves fewer new ones.
        for _ in range(KILL_ROUNDS):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.001)
        LOG.warning("Processes of cgroup %s survived %d rounds of SIGKILL.", self, KILL_ROUNDS)

    def remove(self):
        """Kill what is left and remove the directories (once their processes are gone)."""
        self.kill()
        deadline = time.monotonic() + REMOVE_WAIT
        for directory in self.directories.values():
            while True:
                try:
                    os.rmdir(directory)
                    break
                except FileNotFoundError:
                    break
                except OSError as exc:
                    if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                        LOG.warning("Cannot remove cgroup %s: %s", directory, exc)
                        break
                    time.sleep(0.005)

    def __str__(self):
        return next(iter(self.directories.values()))


class Hierarchy:
    """Where this orchestrator's worker groups live; ``detect`` finds it."""

    def __init__(self, parents, version):
        self._parents = parents  # controller -> this orchestrator's directory
        self.version = version

    @classmethod
    def detect(cls, name, root=ROOT):
        """The hierarchy for orchestrator ``name``; Unavailable with the reason if none."""
        try:
            own = _own_paths()
        except OSError as exc:
            raise Unavailable(f"cannot read /proc/self/cgroup: {exc}") from None
        v1 = {c: f"{root}/{c}{own[c]}".rstrip("/") for c in CONTROLLERS if c in own}
        if len(v1) == len(CONTROLLERS) and all(os.path.isdir(d) for d in v1.values()):
            version, bases = 1, v1
        elif "" in own and os.path.exists(f"{root}/cgroup.controllers"):
            version, bases = 2, {"": _v2_delegate(f"{root}{own['']}".rstrip("/"))}
        else:
            raise Unavailable("no memory, pids and cpu controllers are mounted")
        parents = {}
        try:
            for controller, base in bases.items():
                top = f"{base}/{TOP}"
                os.makedirs(top, exist_ok=True)
                if version == 2:
                    _enable_controllers(top)
                parents[controller] = f"{top}/{name}"
                os.makedirs(parents[controller], exist_ok=True)
                if version == 2:
                    _enable_controllers(parents[controller])
        except OSError as exc:
            raise Unavailable(f"cannot create cgroups: {exc}") from None
        return cls(parents, version)

    def create(self, name):
        """A new group for worker ``name``."""
        directories = {c: f"{parent}/{name}" for c, parent in self._parents.items()}
        made = []
        try:
            for directory in directories.values():
                os.mkdir(directory)
                made.append(directory)
        except OSError:
            for directory in made:
                os.rmdir(directory)
            raise
        return Group(directories, self.version)

    def close(self):
        """Remove this orchestrator's directories (its workers' groups are gone)."""
        for parent in self._parents.values():
            Group({"": parent}, self.version).remove()

    @staticmethod
    def remove_stale(name, root=ROOT):
        """Remove the groups left by a dead orchestrator ``name``, killing what is in them."""
        try:
            own = _own_paths()
        except OSError:
            return
        bases = [f"{root}/{c}{own[c]}".rstrip("/") for c in CONTROLLERS if c in own]
        if "" in own:
            bases += [f"{root}{own['']}".rstrip("/"), f"{root}{os.path.dirname(own[''])}"]
        for base in bases:
            parent = f"{base}/{TOP}/{name}"
            if not os.path.isdir(parent):
                continue
            for entry in os.scandir(parent):
                if entry.is_dir(follow_symlinks=False):
                    Group({"": entry.path}, 1).remove()
            Group({"": parent}, 1).remove()


def _enable_controllers(directory):
    """v2: hand memory, pids and cpu down to the children of ``directory``."""
    wanted = " ".join(f"+{c}" for c in CONTROLLERS)
    _write(f"{directory}/cgroup.subtree_control", wanted)


def _v2_delegate(own):
    """v2: the group under which worker groups can be made, moving this process into a
    leaf of its own group if that group holds processes (the no-internal-process rule)."""
    available = _read(f"{own}/cgroup.controllers").split()
    missing = [c for c in CONTROLLERS if c not in available]
    if missing:
        raise Unavailable(
            f"cgroup v2 group {own} lacks the {', '.join(missing)} controller(s): "
            "delegate them (systemd: Delegate=yes)"
        )
    try:
        _enable_controllers(own)
    except OSError as exc:
        if exc.errno != errno.EBUSY:
            raise Unavailable(f"cannot enable controllers in {own}: {exc}") from None
        leaf = f"{own}/engine"
        try:
            os.makedirs(leaf, exist_ok=True)
            for pid in _read(f"{own}/cgroup.procs").split():
                with contextlib.suppress(ProcessLookupError):
                    _write(f"{leaf}/cgroup.procs", pid)
            _enable_controllers(own)
        except OSError as exc:
            raise Unavailable(f"cannot delegate controllers below {own}: {exc}") from None
    return own
