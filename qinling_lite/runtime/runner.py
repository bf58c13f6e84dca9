"""The function a runtime server serves: loaded once into the warm server, each execution
run in a fresh child forked from it, and every process of an execution ended with it."""

import contextlib
import gc
import os
import re
import select
import signal
import sys
import tempfile
import time

from . import child, os_session, package, processes, report
from .protocol import (
    EXECUTE_REQUEST,
    LOG_TRUNCATED,
    NO_RESULT_OUTPUT,
    RESOURCE_OUTPUT,
    TIMEOUT_OUTPUT,
    ExecuteReply,
    LoadReply,
    PingReply,
    RequestError,
    parse_load_query,
)

READ_BYTES = 64 * 1024
# A request id as oslo generates them; anything else in a request is not logged.
REQUEST_ID = re.compile(r"req-[0-9a-f-]{36}")


class FunctionRunner:
    """The one function version this server serves, and how to run it.

    ``own_pid_namespace``: the server and its executions are alone in their pid namespace
    (but for its pid 1), so an execution ends by killing every other process in it.
    ``egress``: the channel to the egress proxy, for ``os_session``, or None.
    ``keystoneauth``: None until a request carries OpenStack credentials, then False
    until keystoneauth1 was imported here (if the runtime's libraries have it), True.
    """

    def __init__(self, workdir, max_log_bytes, own_pid_namespace=False, egress=None):
        self.workdir = workdir
        self.max_log_bytes = max_log_bytes
        self.own_pid_namespace = own_pid_namespace
        self.egress = egress
        self.function_id = None
        self.version = None
        self.func = None
        self.load_error = None
        self.load_logs = ""
        self.spare = None
        self.keystoneauth = None

    def ping(self) -> PingReply:
        return PingReply(status="ok", function_id=self.function_id, version=self.version)

    def load(self, query, data) -> LoadReply:
        """Extract the package and import its entry; import errors are remembered."""
        target = parse_load_query(query)
        function_id, version = target["function_id"], target["version"]
        if self.function_id is not None:
            if (function_id, version) != (self.function_id, self.version):
                raise RequestError(409, f"worker already has function {self.function_id}")
            return LoadReply(loaded=True, error=self.load_error)
        package_dir = os.path.join(self.workdir, "package")
        package.extract_package(data, package_dir)
        sys.path.insert(0, package_dir)
        with tempfile.TemporaryFile(dir=self.workdir) as log:
            with _output_redirected_to(log.fileno()):
                self.func, self.load_error = package.import_entry(target["entry"])
            if self.load_error is not None:
                self.load_logs = _read_log(log.fileno(), self.max_log_bytes)
        self.function_id, self.version = function_id, version
        # Objects of the warm process are never collected again, so the collector in
        # a forked child does not touch (and copy) their pages.
        gc.freeze()
        processes.end_processes(self.own_pid_namespace)  # what the import started ends
        processes.reap_all()
        return LoadReply(loaded=True, error=self.load_error)

    def execute(self, body, server_fds) -> ExecuteReply:
        """Run one execution in a fresh child forked ahead of time; return the reply."""
        if self.function_id is None:
            raise RequestError(409, "no function loaded")
        request = EXECUTE_REQUEST.from_json(body)
        _log_execution(request)
        max_bytes = request["max_result_size"]
        if self.keystoneauth is None and "os_auth" in request["context"]:
            self.keystoneauth = False
        if self.load_error is not None:
            return ExecuteReply(
                success=False,
                output=report.decode(report.encode(False, self.load_error), max_bytes)[1],
                duration=0.0,
                logs=self.load_logs,
            )
        spare = self.spare if self.spare is not None and self.spare.alive() else None
        self.spare = None
        spare = spare or _Spare(self, server_fds)
        try:
            started = time.monotonic()
            spare.send(body)
            data, timed_out, status, ended = self._wait_child(
                spare.pid, spare.report_fd, started + request["timeout"], max_bytes
            )
            printed = _read_log(spare.log_fd, self.max_log_bytes)
        finally:
            spare.close()
        success, output = report.decode(data, max_bytes) or (
            False,
            _failure_output(timed_out, status),
        )
        execution_id = request["execution_id"]
        return ExecuteReply(
            success=success,
            output=output,
            duration=round(ended - started, 3),
            logs=f"Start execution: {execution_id}\n{printed}Finished execution: {execution_id}\n",
        )

    def prepare(self, server_fds):
        """Between requests: reap the last execution's processes (killed at its end) and
        fork the next execution's child.

        Forking costs about a millisecond; done here, after the answer went out, it is
        off the path of the next execution. No process of the last execution is left
        when the next one's child exists.
        """
        if self.spare is None:
            processes.reap_all()
            if self.func is not None:
                if self.keystoneauth is False:
                    self._import_keystoneauth()
                self.spare = _Spare(self, server_fds)

    def _import_keystoneauth(self):
        """Once a request carried OpenStack credentials: import keystoneauth1 (from the
        runtime's libraries, if there), so that the children forked from now on build
        their ``os_session`` without importing it each time."""
        self.keystoneauth = True
        with open(os.devnull, "wb") as devnull, _output_redirected_to(devnull.fileno()):
            os_session.import_keystoneauth()
        gc.freeze()

    def stop(self):
        if self.spare is not None:
            self.spare.kill()
            self.spare = None

    def _wait_child(self, pid, report_fd, deadline, max_bytes):
        """Collect the child's report until it is complete, the child exits, or the
        deadline.

        A report is read no further than shows an output over ``max_bytes``
        (``report.is_complete``), however much the child writes. Every process of the
        execution is then killed, so nothing it started outlives it. They are reaped later
        (``prepare``), after the answer is sent, so that their exit does not delay it.
        Return (report bytes, timed out, wait status, end time).
        """
        data = bytearray()
        limit = max_bytes + report.REPORT_OVERHEAD + 1
        exited = reported = False
        try:
            pidfd = os.pidfd_open(pid)
            try:
                poller = select.poll()
                poller.register(pidfd, select.POLLIN)
                poller.register(report_fd, select.POLLIN)
                while not (exited or reported) and (remaining := deadline - time.monotonic()) > 0:
                    for fd, _ in poller.poll(min(remaining, 3600.0) * 1000):
                        if fd == pidfd:
                            exited = True
                        elif not _drain(report_fd, data, limit):
                            poller.unregister(report_fd)
                        reported = report.is_complete(data, max_bytes)
                ended = time.monotonic()
            finally:
                os.close(pidfd)
        finally:
            processes.end_processes(self.own_pid_namespace, pid)
            # Only a child that exited unreported is reaped now, for its wait status: a
            # killed one may take a while to exit (its CPU quota may be spent) and is
            # reaped later.
            status = os.waitpid(pid, 0)[1] if exited and not reported else None
        _drain(report_fd, data, limit)
        return bytes(data), not (exited or reported), status, ended


class _Spare:
    """A child forked from the warm process, waiting on a pipe for its one execution."""

    def __init__(self, runner, server_fds):
        self.log_fd, log_path = tempfile.mkstemp(dir=runner.workdir, suffix=".log")
        os.unlink(log_path)
        request_fd, self.request_fd = os.pipe()
        self.report_fd, report_fd = os.pipe()
        # SIGTERM waits until the fork is done: the at-fork handlers of libraries (such
        # as logging's) would swallow the exception the server's handler raises.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        self.pid = os.fork()
        if self.pid != 0:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
        else:
            fds = (*server_fds, self.request_fd, self.report_fd)
            child.run_child(runner.func, runner.egress, request_fd, self.log_fd, report_fd, fds)
        os.close(request_fd)
        os.close(report_fd)
        os.set_blocking(self.report_fd, False)

    def alive(self):
        """Whether the child still waits (it may have been killed from outside)."""
        if os.waitpid(self.pid, os.WNOHANG)[0] == 0:
            return True
        self.pid = None
        self.close()
        return False

    def send(self, body):
        try:
            child.write_all(self.request_fd, body)
        finally:
            os.close(self.request_fd)
            self.request_fd = None

    def close(self):
        for fd in (self.request_fd, self.report_fd, self.log_fd):
            if fd is not None:
                os.close(fd)
        self.request_fd = self.report_fd = self.log_fd = None

    def kill(self):
        """Stop a spare that will not be used; it exits at the end of its request pipe."""
        self.close()
        if self.pid is not None:
            os.waitpid(self.pid, 0)


def _drain(fd, data, limit):
    """Append what non-blocking ``fd`` has to read now to the bytearray ``data``, up to
    ``limit`` bytes in all; return False at end of file or at the limit."""
    while len(data) < limit:
        try:
            chunk = os.read(fd, min(READ_BYTES, limit - len(data)))
        except BlockingIOError:
            return True
        if not chunk:
            return False
        data += chunk
    return False


def _log_execution(request):
    """One line in the server's log (its stderr) naming the execution and the API
    request it serves; none for an execution without a request (one a sweep runs)."""
    request_id = request["context"].get("request_id")
    if not (isinstance(request_id, str) and REQUEST_ID.fullmatch(request_id)):
        return
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    line = f"{when} Running execution {request['execution_id']} request_id={request_id}\n"
    try:
        sys.stderr.write(line)
        sys.stderr.flush()
    except (AttributeError, OSError, ValueError):  # no log (none, closed, full): run anyway
        pass


def _failure_output(timed_out, status):
    """Explain an execution that ended without a report."""
    if timed_out:
        return TIMEOUT_OUTPUT
    if status is None or os.waitstatus_to_exitcode(status) == 0:
        return NO_RESULT_OUTPUT
    return RESOURCE_OUTPUT


@contextlib.contextmanager
def _output_redirected_to(fd):
    """Point file descriptors 1 and 2 at ``fd`` for the duration of the block."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])


def _read_log(fd, max_bytes):
    """Return what was written to the file ``fd``, truncated to ``max_bytes``."""
    data = os.pread(fd, max_bytes + 1, 0)
    text = data[:max_bytes].decode("utf-8", errors="replace")
    if text and not text.endswith("\n"):
        text += "\n"
    if len(data) > max_bytes:
        text += LOG_TRUNCATED
    return text
