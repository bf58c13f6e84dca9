"""A fixed set of daemon threads that make RPC calls for callers who wait a bounded time.

oslo.messaging opens its reply queue on the first call and retries that connection for
as long as the broker is down, past any call timeout. Calls run here so that their
caller can give up in time: however many callers give up, at most ``size`` threads stay
blocked, and a call still queued when its caller gives up never runs. The threads are
daemons, not joined at exit (``concurrent.futures`` pools are), so a blocked call does
not hold the process when it stops.
"""

import concurrent.futures
import queue
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class CallPool:
    """At most ``size`` threads; one idle for ``idle_timeout`` seconds exits."""

    def __init__(self, size: int, name: str = "rpc-call", idle_timeout: float = 60):
        self._size = size
        self._name = name
        self._idle_timeout = idle_timeout
        self._jobs: queue.SimpleQueue[tuple[concurrent.futures.Future, Callable[[], object]]] = (
            queue.SimpleQueue()
        )
        self._idle = threading.Semaphore(0)  # threads waiting for a job
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def run(self, fn: Callable[[], T], timeout: float) -> T:
        """What ``fn()`` returns or raises; TimeoutError after ``timeout`` seconds."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._jobs.put((future, fn))
        self._add_thread_unless_one_is_idle()
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()  # still queued: never runs
            raise

    def _add_thread_unless_one_is_idle(self):
        if self._idle.acquire(blocking=False):
            return
        with self._lock:
            if len(self._threads) < self._size:
                thread = threading.Thread(
                    target=self._work, name=f"{self._name}-{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                thread.start()

    def _work(self):
        while True:
            try:
                future, fn = self._jobs.get(timeout=self._idle_timeout)
            except queue.Empty:
                with self._lock:
                    # Unless a caller just counted on this thread being idle.
                    if self._idle.acquire(blocking=False):
                        self._threads.remove(threading.current_thread())
                        return
                continue
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn())
                except BaseException as e:
                    future.set_exception(e)
            del future, fn  # no reference to a finished call while idle
            self._idle.release()
