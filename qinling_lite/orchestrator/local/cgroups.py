"""Per-sandbox resource control with Linux control groups, v1 or v2.

Each local worker gets a group of its own under this process's group: the memory of all
its processes together (files in its tmpfs count too), a cap on their number, and its
share of busy CPUs; all workers' groups together weigh as one group beside the engine.
The group is also how every process of a worker is found and killed, whatever it did to
detach itself (``setsid``, double forks).

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
ENGINE_LEAF = "engine"  # v2: where this process moves itself to hand controllers down
KILL_WAIT = 10.0
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
    """One worker's group: v1, ``memory/<w>``, ``pids/<w>`` and ``cpu/<w>``; v2, ``<w>``.

    Its processes are created in it (the sandbox joins it before it starts) and never
    move: moving a process between cgroups may wait for an RCU grace period, some 10 ms,
    which an execution would pay.
    """

    def __init__(self, base, version):
        self.version = version
        if version == 1:
            self._limits = dict(base)  # controller -> the sandbox's directory
        else:
            self._limits = dict.fromkeys(CONTROLLERS, base[""])
        self._directories = sorted(set(self._limits.values()))

    def create(self):
        made = []
        try:
            for directory in self._directories:
                os.mkdir(directory)
                made.append(directory)
        except OSError:
            for directory in made:
                os.rmdir(directory)
            raise

    def set_limits(self, memory=None, pids=None, cpu=None):
        """Set what is given: ``memory`` (bytes), ``pids`` (processes) and ``cpu``, the
        group's weight when CPUs are busy (millicpu: 1000 is a default group's).

        CPU is shared, not capped: a CFS quota would charge the runtime server's own work
        for each execution (a fork and its end, some 3 ms of CPU) to the function, and
        throttle a function run back to back well below its quota.
        """
        if memory is not None:
            if self.version == 1:
                files = [f"{self._limits['memory']}/memory.limit_in_bytes"]
                memsw = f"{self._limits['memory']}/memory.memsw.limit_in_bytes"
                if os.path.exists(memsw):  # swap accounting is on: no swapping past it
                    # memory may never exceed memory+swap: raise the latter first
                    raising = int(_read(files[0])) < memory
                    files.insert(0 if raising else 1, memsw)
                for path in files:
                    _write(path, str(memory))
            else:
                _write(f"{self._limits['memory']}/memory.max", str(memory))
                with contextlib.suppress(FileNotFoundError):
                    _write(f"{self._limits['memory']}/memory.swap.max", "0")
        if pids is not None:
            _write(f"{self._limits['pids']}/pids.max", str(pids))
        if cpu is not None:
            if self.version == 1:  # 1024 shares are a default group's
                _write(f"{self._limits['cpu']}/cpu.shares", str(max(2, cpu * 1024 // 1000)))
            else:  # and a weight of 100
                _write(f"{self._limits['cpu']}/cpu.weight", str(max(1, cpu // 10)))

    def procs_files(self):
        """The ``cgroup.procs`` files a new sandbox writes ``0`` to, to join its group."""
        return [f"{directory}/cgroup.procs" for directory in self._directories]

    def kill(self):
        """SIGKILL every process of the sandbox, until none is left."""
        if self.version == 2:
            with contextlib.suppress(OSError):  # before Linux 5.14, or gone
                _write(f"{self._limits['memory']}/cgroup.kill", "1")
        _kill_all(self._directories)

    def remove(self):
        """Kill what is left and remove the directories (once their processes are gone)."""
        self.kill()
        _remove_directories(self._directories)


def _kill_all(directories):
    """SIGKILL the processes of the groups ``directories`` until none is left.

    Killed processes cannot fork any more, so each round leaves fewer new ones.
    """
    deadline = time.monotonic() + KILL_WAIT
    while time.monotonic() < deadline:
        pids = []
        for directory in directories:
            with contextlib.suppress(OSError):  # gone, or going (ENODEV): empty
                pids += [int(pid) for pid in _read(f"{directory}/cgroup.procs").split()]
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.005)
    LOG.warning("Processes of cgroups %s survived SIGKILL for %s s.", directories, KILL_WAIT)


def _remove_directories(directories):
    """rmdir each, waiting a little for the exit of processes just killed."""
    deadline = time.monotonic() + REMOVE_WAIT
    for directory in directories:
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


class Hierarchy:
    """Where this orchestrator's worker groups live; ``detect`` finds it."""

    def __init__(self, parents, version):
        self._parents = parents  # controller -> this orchestrator's directory
        self.version = version

    @classmethod
    def detect(cls, name, root=ROOT):
        """The hierarchy of an orchestrator of this process, its groups named after
        ``name``; Unavailable with the reason if there is none.

        The groups that orchestrators of processes now dead left behind are removed.
        """
        try:
            version, bases = _bases(root)
        except OSError as exc:
            raise Unavailable(f"cannot read this process's cgroups: {exc}") from None
        if version == 2:
            bases = {"": _v2_delegate(bases[""])}
        parents = {}
        try:
            for controller, base in bases.items():
                top = f"{base}/{TOP}"
                os.makedirs(top, exist_ok=True)
                _remove_stale(top)
                if version == 2:
                    _enable_controllers(top)
                parents[controller] = f"{top}/{_owned(name)}"
                os.mkdir(parents[controller])
                if version == 2:
                    _enable_controllers(parents[controller])
        except OSError as exc:
            raise Unavailable(f"cannot create cgroups: {exc}") from None
        return cls(parents, version)

    def create(self, name):
        """A new group for worker ``name``."""
        group = Group({c: f"{parent}/{name}" for c, parent in self._parents.items()}, self.version)
        group.create()
        return group

    def close(self):
        """Remove this orchestrator's directories (its workers' groups are gone)."""
        _remove_directories(self._parents.values())


def _bases(root):
    """(version, {controller: this process's group}) of the hierarchy in use."""
    own = _own_paths()
    v1 = {c: f"{root}/{c}{own[c]}".rstrip("/") for c in CONTROLLERS if c in own}
    if len(v1) == len(CONTROLLERS) and all(os.path.isdir(d) for d in v1.values()):
        return 1, v1
    if "" in own and os.path.exists(f"{root}/cgroup.controllers"):
        path = own[""]
        if os.path.basename(path) == ENGINE_LEAF:  # moved there by _v2_delegate
            path = os.path.dirname(path)
        return 2, {"": f"{root}{path}".rstrip("/")}
    raise Unavailable("no memory, pids and cpu controllers are mounted")


def _start_time(pid):
    """The start time of process ``pid`` (clock ticks since boot), None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return int(stat.read().rpartition(b")")[2].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _owned(name):
    """``name`` marked with this process, so that others can tell when it is gone."""
    return f"{name}.{os.getpid()}.{_start_time(os.getpid())}"


def _remove_stale(top):
    """Kill and remove the groups under ``top`` whose owning process is gone."""
    for entry in os.scandir(top):
        _, _, owner = entry.name.partition(".")
        pid, _, start = owner.partition(".")
        if not (pid.isdigit() and start.isdigit()) or _start_time(int(pid)) == int(start):
            continue  # not ours, or its process lives
        directories = [path for path, _, _ in os.walk(entry.path)]
        directories.sort(key=len, reverse=True)  # the deepest first
        _kill_all(directories)
        _remove_directories(directories)


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
        leaf = f"{own}/{ENGINE_LEAF}"
        try:
            os.makedirs(leaf, exist_ok=True)
            for pid in _read(f"{own}/cgroup.procs").split():
                with contextlib.suppress(ProcessLookupError):
                    _write(f"{leaf}/cgroup.procs", pid)
            _enable_controllers(own)
        except OSError as exc:
            raise Unavailable(f"cannot delegate controllers below {own}: {exc}") from None
    return own
