"""Warm workers bound to function versions: the bookkeeping both orchestrators share.

A function version keeps the workers bound to it and reuses its idle ones (the most
recently used first); when none is idle it binds a new one, up to a cap, or waits. An entry
is replaced when the version's package or runtime changes: its idle workers are discarded
at once, its busy ones when released. A worker whose request broke is discarded on release.

Locking rule: one condition variable, ``Bindings.cond``, guards these records and the
orchestrator's own state; it is never held during HTTP calls or while a process or pod
starts or is deleted.
"""

import contextlib
import dataclasses
import threading
import time

from qinling_lite import exceptions
from qinling_lite.orchestrator import worker_client
from qinling_lite.runtime import protocol


class RuntimeServer:
    """A runtime server's connection; ``healthy`` turns False when a request to it breaks."""

    def __init__(self, name, address, idle_timeout):
        self.name = name
        self.healthy = True
        self.last_used = time.monotonic()
        self._client = worker_client.WorkerClient(address, idle_timeout, name)

    def alive(self):
        """Whether the server may still answer; a pod is, for as long as it is bound."""
        return True

    def load(self, spec, package, timeout) -> protocol.LoadReply:
        """Push the function package; the reply's ``error`` is its import error, if any."""
        try:
            return self._client.load(spec, package, timeout)
        except BaseException:
            self.healthy = False
            raise

    def execute(self, request: protocol.ExecuteRequest, timeout) -> protocol.ExecuteReply:
        """Run one execution on the runtime server."""
        try:
            return self._client.execute(request, timeout)
        except BaseException:
            self.healthy = False
            raise

    def close(self):
        """Close the connection; only when no other thread uses the worker."""
        self._client.close()


@dataclasses.dataclass(frozen=True)
class Limits:
    """How many workers a function version gets, and how long loading one may take."""

    max_workers_per_function: int
    load_timeout: float
    target_concurrency: int = 0  # executions per worker before another is bound (0: any)


class Function:
    """The workers bound to one function version with one package and entry."""

    def __init__(self, key, runtime_id, package_md5, entry, lock):
        self.key = key  # (function id, version)
        self.runtime_id = runtime_id
        self.package_md5 = package_md5
        self.entry = entry
        self.idle = []  # most recently used last
        self.busy = set()
        self.pending = 0  # workers being taken and loaded for it
        self.waiting = 0  # executions waiting for one of its workers
        # Signalled, on the lock of the Bindings, when one waiting execution may go on:
        # a worker was released or a slot freed (one), or the entry retired (all).
        self.changed = threading.Condition(lock)


class BoundFunctions:
    """The calls of ``base.Orchestrator`` that the orchestrator's ``Bindings`` answer
    alone: a mixin, listed before the base, of an orchestrator keeping them in
    ``self._bindings``."""

    _bindings: "Bindings"

    def worker(self, spec, package, wait):
        return self._bindings.worker(spec, package, wait)

    def scale_up(self, spec, package, count):
        self._bindings.scale_up(spec, package, count)

    def scale_down(self, function_id, version, count):
        self._bindings.scale_down(function_id, version, count)

    def worker_counts(self):
        return self._bindings.counts()


class Bindings:
    """The function versions' records and which worker is bound to which.

    ``limits`` is read at each use (a ``Limits``, or a config group with the same
    options). The orchestrator supplies what differs, as callables:

    - ``prepare(spec)``, lock held: raise OrchestratorError if ``spec`` cannot be served;
    - ``take(spec, deadline)``: a new worker for ``spec``, not loaded (NoWorkerAvailable if
      none by ``deadline``);
    - ``refusal(spec, function)``, lock held: why a newly loaded worker cannot join
      ``function``, or None;
    - ``discard(workers)``: dispose of workers bound to nothing.

    A new worker is bound when fewer than ``max_workers_per_function`` are bound or being
    bound and more than ``target_concurrency`` executions per worker want one (0: always).

    ``lock`` guards all of it, and the orchestrator's own state (reentrant: ``prepare`` and
    ``refusal`` run with it held). Executions waiting for a worker wait on their function
    version's condition, so that a release wakes one of them, not every waiting thread.
    """

    def __init__(self, limits, *, prepare, take, refusal, discard):
        self.lock = threading.RLock()
        self._limits = limits
        self._prepare = prepare
        self._take = take
        self._refusal = refusal
        self._discard = discard
        self._functions = {}  # (function id, version) -> Function
        self._owner = {}  # bound worker -> its Function

    @contextlib.contextmanager
    def worker(self, spec, package, wait):
        """A worker bound to ``spec`` for the duration of the block."""
        worker = self.acquire(spec, package, wait)
        try:
            yield worker
        finally:
            self.release(worker)

    def acquire(self, spec, package, wait):
        """An idle worker of the function version, or a new one loaded with its package."""
        deadline = time.monotonic() + wait
        stale = []
        try:
            with self.lock:
                while True:
                    function = self._current(spec, stale)
                    while function.idle:
                        worker = function.idle.pop()
                        if worker.alive():
                            function.busy.add(worker)
                            return worker
                        del self._owner[worker]
                        stale.append(worker)
                    workers = len(function.busy) + function.pending
                    demand = len(function.busy) + function.waiting + 1
                    if workers < self._limits.max_workers_per_function and (
                        demand > self._limits.target_concurrency * workers
                    ):
                        function.pending += 1
                        break
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise exceptions.NoWorkerAvailable(
                            f"The {workers} workers of function {spec.function_id} version "
                            f"{spec.version} stayed busy for {wait} s."
                        )
                    function.waiting += 1
                    try:
                        function.changed.wait(remaining)
                    finally:
                        function.waiting -= 1
        finally:
            self._discard(stale)
        return self._bind_new(spec, function, package, deadline)

    def release(self, worker):
        """Keep the worker idle if it is healthy and its entry current, else discard it."""
        with self.lock:
            function = self._owner[worker]
            function.busy.discard(worker)
            keep = worker.healthy and worker.alive() and self.is_current(function)
            if keep:
                worker.last_used = time.monotonic()
                function.idle.append(worker)
            else:
                del self._owner[worker]
            function.changed.notify()
        if not keep:
            self._discard([worker])

    def scale_up(self, spec, package, count):
        """Bind up to ``count`` more workers, as available now, within the cap."""
        for _ in range(count):
            stale = []
            try:
                with self.lock:
                    function = self._current(spec, stale)
                    workers = len(function.idle) + len(function.busy) + function.pending
                    if workers >= self._limits.max_workers_per_function:
                        return
                    function.pending += 1
            finally:
                self._discard(stale)
            try:
                worker = self._bind_new(spec, function, package, deadline=time.monotonic())
            except exceptions.NoWorkerAvailable:
                return
            self.release(worker)

    def scale_down(self, function_id, version, count):
        """Discard up to ``count`` idle workers of the function version, keeping one."""
        with self.lock:
            function = self._functions.get((function_id, version))
            if function is None:
                return
            total = len(function.idle) + len(function.busy)
            removable = max(0, min(count, len(function.idle), total - 1))
            removed, function.idle = function.idle[:removable], function.idle[removable:]
            for worker in removed:
                del self._owner[worker]
        self._discard(removed)

    def expire_idle(self, max_idle):
        """Discard the workers idle longer than ``max_idle`` seconds; drop empty entries."""
        expired = []
        with self.lock:
            oldest = time.monotonic() - max_idle
            for key, function in list(self._functions.items()):
                expired += [w for w in function.idle if w.last_used < oldest]
                function.idle = [w for w in function.idle if w.last_used >= oldest]
                if not (function.idle or function.busy or function.pending):
                    del self._functions[key]
            for worker in expired:
                del self._owner[worker]
        self._discard(expired)

    def retire(self, match):
        """Forget the entries ``match(function)`` selects; return their idle workers.

        Their busy workers are discarded when released.
        """
        idle = []
        with self.lock:
            for key, function in list(self._functions.items()):
                if match(function):
                    idle += self._retire(key)
        return idle

    def retire_function(self, function_id, version=None):
        """``retire`` the function version's entry (every version's if ``version`` is None)."""
        return self.retire(lambda f: f.key[0] == function_id and version in (None, f.key[1]))

    def bound(self, match):
        """The workers bound to the entries ``match(function)`` selects."""
        with self.lock:
            return [w for w, function in self._owner.items() if match(function)]

    def counts(self):
        """Per runtime id, how many bound workers are ``idle`` and ``busy``."""
        counts = {}
        with self.lock:
            for worker, function in self._owner.items():
                states = counts.setdefault(function.runtime_id, {"idle": 0, "busy": 0})
                states["busy" if worker in function.busy else "idle"] += 1
        return counts

    def names(self, function_id, version):
        """Names of the function version's workers."""
        with self.lock:
            function = self._functions.get((function_id, version))
            return [w.name for w in (*function.idle, *function.busy)] if function else []

    def is_current(self, function):
        """Whether ``function`` is still its version's entry. Lock held."""
        return self._functions.get(function.key) is function

    def _current(self, spec, stale):
        """The function version's record, a new one if its package, entry or runtime
        changed. Lock held.

        The idle workers of a replaced entry are added to ``stale``.
        """
        self._prepare(spec)
        key = (spec.function_id, spec.version)
        function = self._functions.get(key)
        loaded = (spec.runtime_id, spec.package_md5, spec.entry)
        if function is None or (function.runtime_id, function.package_md5, function.entry) != (
            loaded
        ):
            if function is not None:
                stale += self._retire(key)
            function = self._functions[key] = Function(key, *loaded, self.lock)
        return function

    def _bind_new(self, spec, function, package, deadline):
        """Take a new worker and load the package into it; a slot is reserved."""
        worker = None
        try:
            data = package()
            worker = self._take(spec, deadline)
            worker.load(spec, data, self._limits.load_timeout)
        except BaseException:
            with self.lock:
                function.pending -= 1
                function.changed.notify()
            if worker is not None:
                self._discard([worker])
            raise
        with self.lock:
            function.pending -= 1
            refusal = self._refusal(spec, function)
            if refusal is None:
                function.busy.add(worker)
                self._owner[worker] = function
            function.changed.notify()  # one more busy: another may now bind (demand)
        if refusal is not None:
            self._discard([worker])
            raise exceptions.OrchestratorError(refusal)
        return worker

    def _retire(self, key):
        """Forget an entry, its waiting executions to look again; return its idle
        workers. Lock held."""
        function = self._functions.pop(key)
        idle, function.idle = function.idle, []
        for worker in idle:
            del self._owner[worker]
        function.changed.notify_all()
        return idle
