"""How a local worker starts: interpreter, sandbox, identity and limits.

With bubblewrap, a worker is a runtime server alone in namespaces of its own (pid,
network, IPC, UTS, mount), beside bubblewrap's init, so that it can end every process an
execution started. It sees the system's ``/usr`` and its interpreter read-only, the runtime
server's zip application copied in, and two size-capped tmpfs: its work directory and
``/tmp``. No path of the host's state reaches it: its socket, log, egress tunnel and the
zip application come in as file descriptors.

A runtime with a runtime environment (``environments``) also sees that environment's
site-packages, read-only, at ``LIBRARY_INSIDE``; its runtime server adds it to the path.

Identity: as root, bubblewrap sets the namespaces up and ``setpriv`` drops to the worker's
own uid and gid, with no capability and no new privileges, so the worker is never root on
the host, not even through a user namespace; as another user, bubblewrap maps the
sandbox's user to that user. Without bubblewrap (``none``, for development), a worker is a
plain process, as root with the worker's uid.

Limits: rlimits always; as root, the worker's cgroup (memory, processes, CPU of the whole
sandbox) and RLIMIT_NPROC of its uid.
"""

import ctypes
import dataclasses
import fcntl
import functools
import json
import os
import pathlib
import resource
import shutil
import signal
import socket
import subprocess
import sys

from oslo_log import log as logging

from qinling_lite import exceptions
from qinling_lite.orchestrator.local import environments
from qinling_lite.runtime import archive

LOG = logging.getLogger(__name__)

WORK_NAME = "work"
NOFILE = 1024
ADDRESS_SPACE_HEADROOM = 512 * 1024 * 1024
PROBE_TIMEOUT = 30

_PATH = "/usr/bin:/bin"
_INSIDE_RUNTIME = "/qinling/runtime.pyz"
# Where a worker sees the site-packages of its runtime's environment, if it has one.
LIBRARY_INSIDE = "/qinling/site-packages"
_INSIDE_WORK = "/work"
_TOP_DIRS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_CERTIFICATES = "/etc/ssl/certs"
_PR_SET_PDEATHSIG = 1
_SEALS = fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE
_INTERPRETER_INFO = (
    "import json, site, sys; "
    "print(json.dumps([[sys.base_prefix, sys.base_exec_prefix], site.getsitepackages(), "
    "'%d.%d' % sys.version_info[:2]]))"
)


@dataclasses.dataclass
class Launch:
    """What one worker starts with."""

    directory: str  # its private directory on the host (never visible inside)
    listener: socket.socket  # the listening socket of its runtime server
    log: int  # file descriptor of its log (stdout and stderr)
    uid: int | None = None  # its own uid and gid, when the engine runs as root
    cgroup_procs: tuple = ()  # the cgroup.procs files of its cgroup, if any
    egress: socket.socket | None = None  # its end of the egress proxy's channel
    library: str | None = None  # the site-packages of its runtime's environment, if any


def default_python():
    """The base interpreter of the running Python, outside any virtualenv."""
    major, minor = sys.version_info[:2]
    candidate = os.path.join(sys.base_exec_prefix, "bin", f"python{major}.{minor}")
    return candidate if os.access(candidate, os.X_OK) else os.path.realpath(sys.executable)


# (kind, interpreter, as a worker uid) of the sandboxes whose probe passed in this process.
_PROBES_PASSED: set[tuple[str, str, bool]] = set()


class Sandbox:
    """Starts runtime servers under bubblewrap (``prefix`` is bwrap's argv up to the
    per-worker part) or as plain processes (``prefix`` None).

    Each runs the runtime package as a zip application built once, here, from the
    installed sources, and handed to each worker as a file descriptor. ``libraries``:
    ``{image: site-packages directory}`` of the runtime environments.
    """

    def __init__(
        self, python, address_space, max_processes, prefix=None, egress=False, libraries=None
    ):
        self.kind = "none" if prefix is None else "bwrap"
        self.egress = egress and prefix is not None
        self.libraries = dict(libraries or {})
        self.privileged = os.geteuid() == 0
        self._python = os.path.realpath(python)
        self._address_space = address_space
        self._max_processes = max_processes
        self._prefix = prefix
        self._runtime = archive.build()
        self._setpriv = shutil.which("setpriv") if prefix and self.privileged else None
        if prefix and self.privileged and self._setpriv is None:
            raise exceptions.OrchestratorError(
                "Sandbox 'bwrap' as root needs setpriv (Debian: util-linux) to drop to the "
                "workers' uids: no setpriv on PATH."
            )

    def start(self, launch, idle_timeout):
        """Start a runtime server as ``launch`` says; return its Popen."""
        if self._prefix is None:
            work = os.path.join(launch.directory, WORK_NAME)
            os.mkdir(work, 0o700)
            if launch.uid is not None:
                for path in (launch.directory, work):
                    os.chown(path, launch.uid, launch.uid)
        else:
            work = _INSIDE_WORK
        args = ["--own-pid-namespace"] if self._prefix else []
        args += [
            *("--listen-fd", str(launch.listener.fileno())),
            *("--workdir", work),
            *("--idle-timeout", str(idle_timeout)),
        ]
        if launch.library is not None:
            inside = LIBRARY_INSIDE if self._prefix else launch.library
            args += ["--library-path", inside]
        fds = [launch.listener.fileno()]
        if launch.egress is not None:
            args += ["--egress-fd", str(launch.egress.fileno())]
            fds.append(launch.egress.fileno())
        return self._popen(args, launch, fds, stdout=launch.log, stderr=launch.log)

    def probe(self, uid):
        """Check that a worker as ``uid`` could run the runtime server: its ``--help``.

        Raises OrchestratorError with the reason (and what to do) if not. A success
        holds for every worker uid (they are alike) and is not asked again in this
        process for the same kind of sandbox and interpreter.
        """
        passed = (self.kind, self._python, uid is not None)
        if passed in _PROBES_PASSED:
            return
        self._probe(uid)
        _PROBES_PASSED.add(passed)

    def _probe(self, uid):
        launch = Launch(directory="/", listener=None, log=-1, uid=uid)
        try:
            proc = self._popen(
                ["--help"],
                launch,
                [],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                server=False,
            )
        except OSError as exc:
            output = str(exc)
        else:
            try:
                output = proc.communicate(timeout=PROBE_TIMEOUT)[0].decode("utf-8", "replace")
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
                output = "timed out"
            if proc.returncode == 0:
                return
        who = f" as uid {uid}" if uid is not None else ""
        reason = (output.strip().splitlines() or ["no output"])[-1]
        advice = ""
        if self._prefix is None and uid is not None:
            advice = (
                f" Install bubblewrap (Debian: apt-get install bubblewrap) to sandbox "
                f"workers, or set [local_orchestrator] python to an interpreter that uid "
                f"{uid} may run."
            )
        raise exceptions.OrchestratorError(
            f"Sandbox '{self.kind}' cannot run {self._python}{who}: {reason}.{advice}"
        )

    def _popen(self, args, launch, fds, server=True, **kwargs):
        """Popen ``python -I -S runtime.pyz *args`` in the sandbox for ``launch`` (a
        worker's ``server``, or a probe).

        Without bubblewrap the zip application is read at ``/proc/self/fd/N``.

        Its working directory on the host is the worker's private directory: under
        bubblewrap that is where ``/proc/PID/cwd`` of the sandbox's (outer) process points;
        inside, nothing names it (bubblewrap's options come through a pipe, not its
        command line, which its init in the sandbox shares).
        """
        opened = [_sealed_file("runtime.pyz", self._runtime)]
        try:
            if self._prefix is None:
                home = os.path.join(launch.directory, WORK_NAME) if server else "/"
                argv = [self._python, "-I", "-S", f"/proc/self/fd/{opened[0]}", *args]
                drop_to = launch.uid
            else:
                home = _INSIDE_WORK
                inner = [*self._prefix[1:], "--perms", "0444", "--file", str(opened[0])]
                inner += [_INSIDE_RUNTIME, "--chdir", home, "--setenv", "HOME", home]
                if server and launch.library is not None:
                    inner += ["--ro-bind", launch.library, LIBRARY_INSIDE]
                opened.append(_pipe_with(b"".join(os.fsencode(arg) + b"\0" for arg in inner)))
                argv = [self._prefix[0], "--args", str(opened[-1]), "--"]
                if self._setpriv is not None:
                    argv += [
                        *(self._setpriv, f"--reuid={launch.uid}", f"--regid={launch.uid}"),
                        *("--clear-groups", "--inh-caps=-all", "--bounding-set=-all"),
                        *("--no-new-privs", "--pdeathsig=keep", "--"),
                    ]
                argv += [self._python, "-I", "-S", _INSIDE_RUNTIME, *args]
                drop_to = None  # setpriv does it, inside
            nproc = self._max_processes if launch.uid is not None else None
            return subprocess.Popen(
                argv,
                cwd=(home if self._prefix is None else launch.directory) if server else "/",
                env={"PATH": _PATH, "HOME": home},
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                pass_fds=[*fds, *opened],
                preexec_fn=_child_setup(
                    self._address_space, nproc, launch.cgroup_procs, drop_to, os.getpid()
                ),
                **kwargs,
            )
        finally:
            for fd in opened:
                os.close(fd)


def _sealed_file(name, data):
    """A memory file holding ``data``, which nobody can change, read from its start."""
    fd = os.memfd_create(name, os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.lseek(fd, 0, os.SEEK_SET)
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, _SEALS)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _pipe_with(data):
    """The read end of a pipe holding ``data`` (at most a pipe's buffer) then its end."""
    read, write = os.pipe()
    try:
        os.write(write, data)
    finally:
        os.close(write)
    return read


def _child_setup(address_space, nproc, cgroup_procs, uid, parent):
    """preexec_fn: join the cgroup, lower rlimits, take the worker's uid (plain processes
    as root), and die with the parent (the spawning thread)."""
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    limits = [
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_NOFILE, NOFILE),
        (resource.RLIMIT_AS, address_space),
    ]
    if nproc is not None:  # counts the processes of the worker's uid, so of its sandbox
        limits.append((resource.RLIMIT_NPROC, nproc))

    def setup():
        for path in cgroup_procs:
            fd = os.open(path, os.O_WRONLY)
            try:
                os.write(fd, b"0")
            finally:
                os.close(fd)
        for which, wanted in limits:
            hard = resource.getrlimit(which)[1]
            value = wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)
            resource.setrlimit(which, (value, value))
        if uid is not None:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # after the uid change, which clears it
        if os.getppid() != parent:
            os._exit(1)

    return setup


@functools.cache
def _interpreter_paths(python):
    """The prefixes and site directories of ``python``, asked once per process (an
    interpreter start, ~40 ms of CPU, at each orchestrator's start otherwise)."""
    try:
        out = subprocess.run(
            [python, "-I", "-c", _INTERPRETER_INFO],
            capture_output=True,
            check=True,
            env={"PATH": _PATH},
            timeout=PROBE_TIMEOUT,
        ).stdout
        prefixes, site_dirs, version = json.loads(out)
    except (OSError, ValueError, subprocess.SubprocessError) as exc:
        raise exceptions.OrchestratorError(f"Cannot run interpreter {python}: {exc}") from None
    return tuple(prefixes), tuple(site_dirs), version


def _bwrap_prefix(python, state_path, egress, hidden=()):
    """bwrap's argv up to the per-worker part: namespaces, identity, read-only system,
    the interpreter, and the worker's two tmpfs. ``hidden``: more directories to keep out
    of sight should they lie in what the sandbox shows (the runtime environments)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise exceptions.OrchestratorError("Sandbox 'bwrap' needs bubblewrap: no bwrap on PATH.")
    prefixes, site_dirs, _ = _interpreter_paths(python)
    args = [bwrap, *("--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts")]
    # bwrap stays pid 1 (as init of the namespace, the server could not die with its parent).
    args += ["--unshare-cgroup-try", "--die-with-parent", "--new-session"]
    if os.geteuid() == 0:
        # No user namespace: its uid 0 would be the host's. setpriv drops to the worker's
        # uid instead, with these three capabilities and then none.
        args += ["--cap-drop", "ALL"]
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP"]
    else:
        args += ["--unshare-user", "--disable-userns", "--cap-drop", "ALL"]
    args += ["--hostname", "sandbox", "--clearenv", "--setenv", "PATH", _PATH]
    args += ["--ro-bind", "/usr", "/usr"]
    if egress and os.path.isdir(_CERTIFICATES):  # to check the TLS endpoints it reaches
        args += ["--ro-bind", _CERTIFICATES, _CERTIFICATES]
    visible = ["/usr"]
    for top in _TOP_DIRS:
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
            visible.append(top)
    made = set()
    for path in (*prefixes, os.path.dirname(os.path.realpath(python))):
        path = os.path.realpath(path)
        if not _under(path, visible):
            # Directories bwrap makes on the way copy the host's modes (/root is 0700).
            for parent in reversed(pathlib.PurePath(path).parents[:-1]):
                if str(parent) not in made:
                    made.add(str(parent))
                    args += ["--perms", "0755", "--dir", str(parent)]
            args += ["--ro-bind", path, path]
            visible.append(path)
    # Other Python packages (maybe the control plane's), our state and the runtime
    # environments (their site-packages are bound per worker) stay out of sight.
    for path in (*site_dirs, state_path, *hidden):
        path = os.path.realpath(path)
        if os.path.isdir(path) and _under(path, visible):
            args += ["--tmpfs", path]
    args += ["--proc", "/proc", "--dev", "/dev"]
    return args


def _tmpfs_args(size):
    """The worker's work directory and /tmp: tmpfs of ``size`` bytes anyone may write."""
    args = []
    for path in (_INSIDE_WORK, "/tmp"):  # noqa: S108 (the sandbox's own)
        args += ["--perms", "1777", "--size", str(size), "--tmpfs", path]
    return args


def _under(path, roots):
    return any(os.path.commonpath([path, root]) == root for root in roots)


def from_conf(conf, egress=False, probe_uid=None):
    """The working sandbox that ``[local_orchestrator] sandbox`` asks for, probed as
    ``probe_uid`` (a worker uid, when the engine runs as root).

    ``auto`` falls back to plain processes, with a warning, when bubblewrap does not work.
    Bubblewrap workers reach the network only through the egress proxy, if ``egress``.
    The runtime environments are checked first (OrchestratorError whatever the sandbox).
    """
    opts = conf.local_orchestrator
    python = opts.python or default_python()
    address_space = conf.resource_limits.max_memory + ADDRESS_SPACE_HEADROOM
    libraries = {}
    if opts.runtime_environments:
        version = _interpreter_paths(python)[2]
        libraries = environments.check(opts.runtime_environments, python, version)
    hidden = [os.path.realpath(d) for d in opts.runtime_environments.values()]
    if opts.sandbox != "none":
        try:
            prefix = _bwrap_prefix(python, conf.state_path, egress, hidden)
            prefix += _tmpfs_args(opts.tmpfs_size)
            sandbox = Sandbox(python, address_space, opts.max_processes, prefix, egress, libraries)
            sandbox.probe(probe_uid)
            return sandbox
        except exceptions.OrchestratorError as exc:
            if opts.sandbox == "bwrap":
                raise
            LOG.warning(
                "Local workers run WITHOUT a sandbox (development only: functions see the "
                "host's files and network): %s Install bubblewrap (Debian: apt-get install "
                "bubblewrap) to sandbox them.",
                exc,
            )
    sandbox = Sandbox(python, address_space, opts.max_processes, libraries=libraries)
    sandbox.probe(probe_uid)
    return sandbox
