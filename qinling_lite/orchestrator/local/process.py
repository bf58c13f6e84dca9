"""A local worker: one runtime server in its sandbox, and what the host keeps of it."""

import contextlib
import io
import os
import shutil
import signal
import socket
import subprocess
import time
import zipfile

from qinling_lite import exceptions
from qinling_lite.orchestrator import bindings

SOCKET_NAME = "s"
BACKLOG = 16
READY_POLL = 0.005
KILL_WAIT = 10
KILL_ROUNDS = 10
LOG_TAIL = 1000
# Memory of the runtime server itself, on top of the function's memory_size.
SERVER_MEMORY = 64 * 1024 * 1024
# More of it for a runtime with an environment, whose functions import its libraries into
# the server when they load. Measured (Python 3.11, bubblewrap, cgroup v1): a warm server
# holds 15 MiB of RSS (13 MiB charged to its cgroup); importing swiftclient and
# keystoneauth1 adds 8 MiB of RSS (9 to 12 MiB charged, as the page cache is warm or cold),
# openstacksdk with them 22 MiB (24 to 35 MiB charged: the first worker to read the files,
# cryptography's 14 MiB library among them, is charged their page cache).
LIBRARY_MEMORY = 48 * 1024 * 1024


def listen(directory):
    """A Unix socket listening at ``<directory>/s``.

    It is bound through a descriptor of the directory, so the name it carries (what
    ``getsockname`` tells inside the sandbox) is no path of the host.
    """
    dirfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(f"/proc/self/fd/{dirfd}/{SOCKET_NAME}")
        sock.listen(BACKLOG)
    except BaseException:
        sock.close()
        raise
    finally:
        os.close(dirfd)
    return sock


def unpacked_size(package):
    """The uncompressed size its ZIP directory declares for ``package`` (0 if none)."""
    try:
        with zipfile.ZipFile(io.BytesIO(package)) as archive:
            return sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, ValueError):
        return 0


class LocalWorker(bindings.RuntimeServer):
    """A runtime server process in its sandbox, its cgroup and its private directory."""

    def __init__(
        self, directory, process, idle_timeout, log, cgroup=None, uid=None, server_memory=None
    ):
        super().__init__(
            os.path.basename(directory), os.path.join(directory, SOCKET_NAME), idle_timeout
        )
        self.directory = directory
        self.process = process
        self.uid = uid
        self.cgroup = cgroup
        self.server_memory = SERVER_MEMORY if server_memory is None else server_memory
        self._log = log

    def alive(self):
        return self.process.poll() is None

    def load(self, spec, package, timeout):
        """Fit the sandbox's limits to the function version, then load it: what its import
        does runs within them. The function's memory_size comes on top of the server's
        own (``server_memory``: ``SERVER_MEMORY``, plus ``LIBRARY_MEMORY`` with a runtime
        environment); the package is unpacked into memory (a tmpfs), so it counts too.
        The function's cpu is the sandbox's share of busy CPUs."""
        if self.cgroup is not None:
            memory = spec.memory_size + self.server_memory + unpacked_size(package)
            try:
                self.cgroup.set_limits(memory=memory, cpu=spec.cpu)
            except OSError as exc:  # its group is gone: the worker was killed meanwhile
                self.healthy = False
                raise exceptions.WorkerError(f"Worker {self.name} has no cgroup: {exc}") from None
        return super().load(spec, package, timeout)

    def wait_ready(self, timeout):
        """Wait for the first answer to ping; OrchestratorError with the reason if none."""
        deadline = time.monotonic() + timeout
        while True:
            if not self.alive():
                raise exceptions.OrchestratorError(
                    f"Worker {self.name} exited with code {self.process.returncode}: "
                    f"{self.log_tail()}"
                )
            with contextlib.suppress(exceptions.WorkerError):
                self._client.ping(max(deadline - time.monotonic(), READY_POLL))
                return
            if time.monotonic() >= deadline:
                raise exceptions.OrchestratorError(
                    f"Worker {self.name} did not answer within {timeout} s: {self.log_tail()}"
                )
            time.sleep(READY_POLL)

    def kill(self):
        """Kill the server and every process of its sandbox, reap it and remove its
        directory and cgroup.

        Safe while another thread uses the worker: that thread's request then fails.
        """
        if self.process.returncode is None:  # not reaped yet, so the group id is still its
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.kill()
        if self.cgroup is not None:
            self.cgroup.kill()
        else:
            # A bubblewrap sandbox ends with its pid 1; plain processes may have left their
            # session, but as forks of the server they still carry its command line, which
            # names this worker's directory.
            for _ in range(KILL_ROUNDS):
                strays = _processes_naming(self.directory)
                if not strays:
                    break
                for pid in strays:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(KILL_WAIT)
        if self.cgroup is not None:
            self.cgroup.remove()
        shutil.rmtree(self.directory, ignore_errors=True)

    def close(self):
        super().close()
        if self._log is not None:
            os.close(self._log)
            self._log = None

    def log_tail(self):
        """The end of what the server printed (its log is a memory file of the host's)."""
        try:
            size = os.fstat(self._log).st_size
            data = os.pread(self._log, LOG_TAIL, max(size - LOG_TAIL, 0))
        except (OSError, TypeError):
            data = b""
        return data.decode("utf-8", "replace").strip() or "(no output)"


def _processes_naming(directory):
    """Pids of the processes whose command line names ``directory`` or a path in it."""
    names = (os.fsencode(directory) + b"/", os.fsencode(directory) + b"\0")
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/cmdline", "rb") as cmdline:
                    args = cmdline.read()
            except OSError:
                continue
            if any(name in args for name in names):
                found.append(int(entry.name))
    return found
