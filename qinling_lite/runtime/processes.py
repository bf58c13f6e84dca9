"""Ending every process an execution started, however detached, and reaping them."""

import contextlib
import os
import signal
import time

KILL_ROUNDS = 100
_PR_SET_CHILD_SUBREAPER = 36


def become_subreaper():
    """Inherit the orphans of this process's descendants, instead of pid 1."""
    import ctypes  # only here, once

    ctypes.CDLL(None).prctl(_PR_SET_CHILD_SUBREAPER, 1)


def end_processes(own_pid_namespace, pid=None):
    """SIGKILL the execution's child ``pid`` and every process it started, however
    detached (``setsid``, double forks).

    Alone in its pid namespace (a sandbox, a container), the server kills every other
    process in it at once: ``kill(-1)`` spares only the caller and pid 1, and a process
    cannot fork once SIGKILL is pending. Otherwise (a plain process, for development) it
    kills its descendants until none is left. Either way, as a subreaper, it inherits
    the orphans, so that ``reap_all`` returns only once every one is gone.
    """
    if own_pid_namespace:
        with contextlib.suppress(ProcessLookupError):
            os.kill(-1, signal.SIGKILL)
        return
    if pid is not None:  # killed before it is reaped: its group id cannot be reused yet
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    for _ in range(KILL_ROUNDS):
        found = _descendants(os.getpid())
        if not found:
            return
        for other in found:
            with contextlib.suppress(ProcessLookupError):
                os.kill(other, signal.SIGKILL)
        time.sleep(0.001)


def others_visible():
    """The pids this process sees besides its own and pid 1: none when it is alone in
    its pid namespace but for that namespace's init."""
    me = os.getpid()
    return sorted(int(n) for n in os.listdir("/proc") if n.isdigit() and int(n) not in (1, me))


def reap_all():
    """Wait for every child; call only when no child should be left alive."""
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def _descendants(root):
    """Pids of the live (not zombie) processes below ``root``."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                fields = stat.read().rpartition(b")")[2].split()
        except OSError:
            continue
        if fields and fields[0] != b"Z":
            children.setdefault(int(fields[1]), []).append(int(name))
    found, todo = [], list(children.get(root, []))
    while todo:
        found.append(current := todo.pop())
        todo += children.get(current, [])
    return found
