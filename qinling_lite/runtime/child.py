"""The life of an execution's child, forked from the warm server ahead of its request:
wait for the request on a pipe, run the function under the execution's limits, report."""

import json
import os
import signal
import sys
import traceback

from . import limits, report
from .os_session import make_session
from .protocol import EXECUTE_REQUEST, MEMORY_OUTPUT

READ_BYTES = 64 * 1024
# A request like the real ones, decoded while the child waits (``_warm_up``).
WARM_UP_REQUEST = json.dumps(
    {
        "execution_id": "warm-up",
        "input": {},
        "args": [],
        "timeout": 1,
        "memory_size": 1,
        "cpu": 1,
        "context": {"function_id": "", "project_id": "", "retry_attempt": 0},
        "max_result_size": 1,
    }
).encode()


def run_child(func, egress, request_fd, log_fd, report_fd, server_fds):
    """Body of a forked child: wait for a request, run it, report. Never returns.

    ``server_fds`` are the server's descriptors, closed so user code cannot use them.
    The request pipe reaches end of file without a request when the server stops.
    """
    status = 1
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})  # blocked to fork
        os.setsid()
        limits.oom_victim_first()
        for fd in server_fds:
            os.close(fd)
        _redirect_output(log_fd)  # before the request: off the execution's path
        _warm_up()
        request = _read_request(request_fd)
        if request is None:
            status = 0
            return
        limits.limit_resources(request["timeout"], request["memory_size"])
        outcome = _call(func, egress, request)
        sys.stdout.flush()
        sys.stderr.flush()
        write_all(report_fd, outcome)
        status = 0
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(status)


def write_all(fd, data):
    while data:
        data = data[os.write(fd, data) :]


def _call(func, egress, request):
    """Call the function as the request says; return its report.

    ``input`` holds the keyword arguments, as they are; ``args`` the positional ones.
    """
    kwargs = dict(request["input"])
    context = dict(request["context"])
    os_auth = context.pop("os_auth", None)
    try:
        kwargs["context"] = {
            **context,
            "os_session": make_session(os_auth, egress) if os_auth else None,
            "execution_id": request["execution_id"],
        }
        return report.encode(True, func(*request["args"], **kwargs))
    except MemoryError:
        pass  # Leaving the except clause frees the traceback and what it holds.
    except BaseException as exc:
        return report.encode(False, str(exc) or type(exc).__name__)
    return report.encode(False, MEMORY_OUTPUT % request["memory_size"])


def _warm_up():
    """Decode a request and encode a report once before the real request comes.

    The first time a fresh child runs this code it writes to the objects involved
    (reference counts, caches), and each page written is copied from the warm server
    then: 0.3-0.8 ms, measured (doc/source/performance.rst), off the execution's path.
    """
    EXECUTE_REQUEST.from_json(WARM_UP_REQUEST)
    report.encode(True, None)


def _redirect_output(log_fd):
    """Send fds 1 and 2 and sys.stdout/sys.stderr to the execution's log file."""
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    for name, fd in (("stdout", 1), ("stderr", 2)):
        stream = open(
            fd, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False
        )
        setattr(sys, name, stream)


def _read_request(fd):
    """The execution request the server writes to its child (None at end of file)."""
    chunks = []
    while chunk := os.read(fd, READ_BYTES):
        chunks.append(chunk)
    return EXECUTE_REQUEST.from_json(b"".join(chunks)) if chunks else None
