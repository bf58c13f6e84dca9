"""How a local worker process starts: interpreter, bubblewrap sandbox and process limits."""

import ctypes
import json
import os
import pathlib
import resource
import shutil
import signal
import subprocess
import sys

from oslo_log import log as logging

from qinling_lite import exceptions

LOG = logging.getLogger(__name__)

SERVER = pathlib.Path(__file__).resolve().parents[2] / "runtime" / "server.py"
SOCKET_NAME = "s"
WORK_NAME = "work"
LOG_NAME = "log"
NOBODY = 65534
NOFILE = 1024
ADDRESS_SPACE_HEADROOM = 512 * 1024 * 1024
PROBE_TIMEOUT = 30

_PATH = "/usr/bin:/bin"
_INSIDE_SERVER = "/qinling/server.py"
_INSIDE_WORKER = "/worker"
_TOP_DIRS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_INSIDE_EGRESS = "/qinling/egress.sock"
_CERTIFICATES = "/etc/ssl/certs"
_PR_SET_PDEATHSIG = 1
_INTERPRETER_INFO = (
    "import json, site, sys; "
    "print(json.dumps([[sys.base_prefix, sys.base_exec_prefix], site.getsitepackages()]))"
)


def default_python():
    """The base interpreter of the running Python, outside any virtualenv."""
    major, minor = sys.version_info[:2]
    candidate = os.path.join(sys.base_exec_prefix, "bin", f"python{major}.{minor}")
    return candidate if os.access(candidate, os.X_OK) else os.path.realpath(sys.executable)


class Sandbox:
    """Starts runtime servers, under bubblewrap (``bwrap`` is its argv prefix) or bare."""

    def __init__(self, python, address_space, bwrap=None, egress_socket=None):
        self.kind = "none" if bwrap is None else "bwrap"
        self._egress_socket = egress_socket
        self._python = os.path.realpath(python)
        self._address_space = address_space
        self._bwrap = bwrap
        self._as_nobody = bwrap is None and os.geteuid() == 0
        self._server = str(SERVER) if bwrap is None else _INSIDE_SERVER

    def start(self, private_dir, idle_timeout):
        """Start a runtime server serving the socket ``<private_dir>/s``; return its Popen."""
        work = os.path.join(private_dir, WORK_NAME)
        os.mkdir(work, 0o700)
        if self._as_nobody:
            for path in (private_dir, work):
                os.chown(path, NOBODY, NOBODY)
        where = private_dir if self._bwrap is None else _INSIDE_WORKER
        args = [
            self._server,
            *("--unix-socket", f"{where}/{SOCKET_NAME}"),
            *("--workdir", f"{where}/{WORK_NAME}"),
            *("--idle-timeout", str(idle_timeout)),
        ]
        if self._egress_socket:
            args += ["--egress-socket", self._egress_socket]
        with open(os.path.join(private_dir, LOG_NAME), "ab") as log:
            return self._popen(args, private_dir, stdout=log, stderr=log)

    def probe(self, work_dir):
        """Check that a worker could read the server and reach ``work_dir``.

        Raises OrchestratorError with the reason if not.
        """
        reach = "/" if self._bwrap else work_dir  # bwrap binds it as root
        code = "import os, sys; open(sys.argv[1]).close(); os.stat(sys.argv[2])"
        try:
            proc = self._popen(
                ["-c", code, self._server, reach],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
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
        who = f" as uid {NOBODY}" if self._as_nobody else ""
        reason = (output.strip().splitlines() or ["no output"])[-1]
        raise exceptions.OrchestratorError(
            f"Sandbox '{self.kind}' cannot run {self._python}{who}: {reason}"
        )

    def _popen(self, args, private_dir=None, **kwargs):
        """Popen ``python -I -S *args`` in the sandbox, in ``private_dir`` if given."""
        if self._bwrap is None:
            home = os.path.join(private_dir, WORK_NAME) if private_dir else "/"
            argv = [self._python, "-I", "-S", *args]
            kwargs["cwd"] = home
            if self._as_nobody:
                kwargs.update(user=NOBODY, group=NOBODY, extra_groups=[])
        else:
            home = f"{_INSIDE_WORKER}/{WORK_NAME}" if private_dir else "/"
            argv = list(self._bwrap)
            if private_dir:
                argv += ["--bind", private_dir, _INSIDE_WORKER]
            argv += ["--chdir", home, "--setenv", "HOME", home, "--"]
            argv += [self._python, "-I", "-S", *args]
        return subprocess.Popen(
            argv,
            env={"PATH": _PATH, "HOME": home},
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_child_setup(self._address_space, os.getpid()),
            **kwargs,
        )


def _child_setup(address_space, parent):
    """preexec_fn: lower rlimits and die with the parent (the spawning thread)."""
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    limits = (
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_NOFILE, NOFILE),
        (resource.RLIMIT_AS, address_space),
    )

    def setup():
        for which, wanted in limits:
            hard = resource.getrlimit(which)[1]
            value = wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)
            resource.setrlimit(which, (value, value))
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:
            os._exit(1)

    return setup


def _bwrap_prefix(python, state_path, egress_socket=None):
    """bwrap's argv up to the per-worker binds: namespaces, identity, read-only system,
    and the egress proxy's socket if there is one."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise exceptions.OrchestratorError("Sandbox 'bwrap' needs bubblewrap: no bwrap on PATH.")
    try:
        out = subprocess.run(
            [python, "-I", "-c", _INTERPRETER_INFO],
            capture_output=True,
            check=True,
            env={"PATH": _PATH},
            timeout=PROBE_TIMEOUT,
        ).stdout
        prefixes, site_dirs = json.loads(out)
    except (OSError, ValueError, subprocess.SubprocessError) as exc:
        raise exceptions.OrchestratorError(f"Cannot run interpreter {python}: {exc}") from None
    args = [
        *(bwrap, "--unshare-all", "--unshare-user", "--die-with-parent", "--new-session"),
        *("--uid", str(NOBODY), "--gid", str(NOBODY), "--cap-drop", "ALL"),
        *("--hostname", "sandbox", "--clearenv", "--setenv", "PATH", _PATH),
        *("--ro-bind", "/usr", "/usr"),
    ]
    if egress_socket:
        args += ["--bind", egress_socket, _INSIDE_EGRESS]
        if os.path.isdir(_CERTIFICATES):  # to check the TLS endpoints it reaches
            args += ["--ro-bind", _CERTIFICATES, _CERTIFICATES]
    visible = ["/usr"]
    for top in _TOP_DIRS:
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
            visible.append(top)
    for path in (*prefixes, os.path.dirname(os.path.realpath(python))):
        path = os.path.realpath(path)
        if not _under(path, visible):
            args += ["--ro-bind", path, path]
            visible.append(path)
    # Other Python packages (maybe the control plane's) and our state stay out of sight.
    for path in (*site_dirs, state_path):
        path = os.path.realpath(path)
        if os.path.isdir(path) and _under(path, visible):
            args += ["--tmpfs", path]
    args += ["--ro-bind", str(SERVER), _INSIDE_SERVER]
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]  # noqa: S108 (the sandbox's own)
    return args


def _under(path, roots):
    return any(os.path.commonpath([path, root]) == root for root in roots)


def from_conf(conf, work_dir, egress_socket=None):
    """The working sandbox that ``[local_orchestrator] sandbox`` asks for, probed.

    ``auto`` falls back to plain processes, with a warning, when bubblewrap does not work.
    Bubblewrap workers reach the network only through ``egress_socket``, if given.
    """
    opts = conf.local_orchestrator
    python = opts.python or default_python()
    address_space = conf.resource_limits.max_memory + ADDRESS_SPACE_HEADROOM
    if not SERVER.is_file():
        raise exceptions.OrchestratorError(f"The runtime server {SERVER} is missing.")
    if opts.sandbox != "none":
        try:
            prefix = _bwrap_prefix(python, conf.state_path, egress_socket)
            egress = _INSIDE_EGRESS if egress_socket else None
            sandbox = Sandbox(python, address_space, prefix, egress)
            sandbox.probe(work_dir)
            return sandbox
        except exceptions.OrchestratorError as exc:
            if opts.sandbox == "bwrap":
                raise
            LOG.warning("Local workers run without a sandbox: %s", exc)
    sandbox = Sandbox(python, address_space)
    sandbox.probe(work_dir)
    return sandbox
