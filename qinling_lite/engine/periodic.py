"""A task repeated at a fixed interval on its own daemon thread until stopped."""

import threading

from oslo_log import log as logging

LOG = logging.getLogger(__name__)


class PeriodicTask:
    def __init__(self, interval, func):
        self._interval = interval
        self._func = func
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name=f"periodic-{func.__name__}", daemon=True
        )

    def start(self):
        self._thread.start()

    def stop(self):
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join()

    def _loop(self):
        while not self._stopped.wait(self._interval):
            try:
                self._func()
            except Exception:
                LOG.exception("Periodic task %s failed", self._func.__name__)
