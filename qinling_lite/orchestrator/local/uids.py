"""The unprivileged uids that local workers run as, one worker each at a time."""

import collections
import secrets
import threading

from qinling_lite import exceptions


class UidPool:
    """``count`` uids from ``start``, handed out least recently used first.

    Each pool starts at a random place in the range, so that two engines on one host
    seldom hand out the same uid at the same time.
    """

    def __init__(self, start, count):
        self._free = collections.deque(range(start, start + count))
        self._free.rotate(-secrets.randbelow(count))
        self._count = count
        self._lock = threading.Lock()

    def take(self):
        with self._lock:
            if not self._free:
                raise exceptions.OrchestratorError(
                    f"All {self._count} worker uids are in use ([local_orchestrator] "
                    "worker_uid_count)."
                )
            return self._free.popleft()

    def give_back(self, uid):
        with self._lock:
            self._free.append(uid)
