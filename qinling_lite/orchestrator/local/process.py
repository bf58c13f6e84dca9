"""A local worker: one runtime server process in its private directory."""

import contextlib
import os
import shutil
import signal
import subprocess
import time

from qinling_lite import exceptions
from qinling_lite.orchestrator import bindings
from qinling_lite.orchestrator.local import sandbox

READY_POLL = 0.005
KILL_WAIT = 10
KILL_ROUNDS = 10
LOG_TAIL = 1000


class LocalWorker(bindings.Worker):
    """A runtime server process in its private directory."""

    def __init__(self, directory, process, idle_timeout):
        self._socket = os.path.join(directory, sandbox.SOCKET_NAME)
        super().__init__(os.path.basename(directory), self._socket, idle_timeout)
        self.directory = directory
        self.process = process

    def alive(self):
        return self.process.poll() is None

    def wait_ready(self, timeout):
        """Wait for the first answer to ping; OrchestratorError with the reason if none."""
        deadline = time.monotonic() + timeout
        while True:
            if not self.alive():
                raise exceptions.OrchestratorError(
                    f"Worker {self.name} exited with code {self.process.returncode}: "
                    f"{self._log_tail()}"
                )
            if os.path.exists(self._socket):
                with contextlib.suppress(exceptions.WorkerError):
                    self._client.ping(max(deadline - time.monotonic(), READY_POLL))
                    return
            if time.monotonic() >= deadline:
                raise exceptions.OrchestratorError(
                    f"Worker {self.name} did not answer within {timeout} s: {self._log_tail()}"
                )
            time.sleep(READY_POLL)

    def kill(self):
        """Kill the server and its executions, reap it and remove its directory.

        Safe while another thread uses the worker: that thread's request then fails.
        """
        if self.process.returncode is None:  # not reaped yet, so the group id is still its
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.kill()
        # Executions run in sessions of their own and may outlive a dead server; as forks of
        # it, they still carry its command line, which names this worker's directory.
        for _ in range(KILL_ROUNDS):
            strays = _processes_naming(self.directory)
            if not strays:
                break
            for pid in strays:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(KILL_WAIT)
        shutil.rmtree(self.directory, ignore_errors=True)

    def _log_tail(self):
        try:
            with open(os.path.join(self.directory, sandbox.LOG_NAME), "rb") as log:
                log.seek(max(os.fstat(log.fileno()).st_size - LOG_TAIL, 0))
                text = log.read().decode("utf-8", "replace").strip()
        except OSError:
            text = ""
        return text or "(no output)"


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
