"""Local orchestrator: runtime servers as sandboxed processes on this host.

Per runtime, a pool of warm, unbound workers. A function version keeps the workers it took
and reuses its idle ones; when all are busy it takes one more from the pool (loading its
package into it) up to ``max_workers_per_function``, then waits. A bound worker never goes
back to the pool: it is killed when released. A background thread refills the pools.

One condition variable guards all state; HTTP and process starts happen outside it. Every
process is started from one long-lived thread, because the kernel's parent-death signal
(``--die-with-parent``, ``PR_SET_PDEATHSIG``) fires when the *thread* that forked exits.
"""

import contextlib
import shutil
import threading
import time
from concurrent import futures

from oslo_log import log as logging

from qinling_lite import exceptions
from qinling_lite.orchestrator import base
from qinling_lite.orchestrator.local import process, sandbox, workdir

LOG = logging.getLogger(__name__)

IDLE_TIMEOUT = 10.0  # seconds a runtime server keeps an idle connection open
POOL_CHECK_INTERVAL = 5.0  # seconds between checks of the pools for dead workers


class _Pool:
    """A runtime's unbound workers."""

    def __init__(self, image):
        self.image = image
        self.idle = []
        self.starting = 0


class _Function:
    """The workers bound to one function version with one package."""

    def __init__(self, key, runtime_id, package_md5):
        self.key = key
        self.runtime_id = runtime_id
        self.package_md5 = package_md5
        self.idle = []  # most recently used last
        self.busy = set()
        self.pending = 0  # workers being taken and loaded for it


def _prune(pool):
    """Remove the pool's dead workers and return them. Lock held."""
    dead = [w for w in pool.idle if not w.alive()]
    pool.idle = [w for w in pool.idle if w not in dead]
    return dead


class LocalOrchestrator(base.Orchestrator):
    """Pools of local runtime server processes."""

    def __init__(self, conf):
        opts = conf.local_orchestrator
        self._conf = conf
        self._pool_size = opts.pool_size
        self._cap = opts.max_workers_per_function
        self._start_timeout = opts.worker_start_timeout
        self._workdir = workdir.WorkDir(opts.work_dir)
        self._sandbox = None
        self._cond = threading.Condition()
        self._pools = {}  # runtime id -> _Pool
        self._functions = {}  # (function id, version) -> _Function
        self._owner = {}  # bound worker -> its _Function
        self._workers = set()  # every started worker, until discarded
        self._stopped = False
        self._spawner = futures.ThreadPoolExecutor(1, thread_name_prefix="worker-spawner")
        self._wake = threading.Event()
        self._refiller = threading.Thread(
            target=self._refill_loop, name="worker-pool-refill", daemon=True
        )
        self._refiller.start()

    # --- pools -------------------------------------------------------------------

    def create_pool(self, runtime_id, image):
        with self._cond:
            if runtime_id in self._pools:
                return
        self._ensure_sandbox()
        workers, errors = self._start_workers(self._pool_size)
        if errors:
            self._discard(workers)
            raise exceptions.OrchestratorError(f"Runtime {runtime_id}: {errors[0]}")
        with self._cond:
            created = not self._stopped and runtime_id not in self._pools
            if created:
                self._pools[runtime_id] = pool = _Pool(image)
                pool.idle = workers
        if not created:  # stopped, or a concurrent call created it
            self._discard(workers)
            return
        LOG.info("Runtime %s has a pool of %d %s workers.", runtime_id, len(workers), image)

    def delete_pool(self, runtime_id):
        with self._cond:
            pool = self._pools.pop(runtime_id, None)
            idle = list(pool.idle) if pool else []
            for key, function in list(self._functions.items()):
                if function.runtime_id == runtime_id:
                    idle += self._retire(key)
            busy = [w for w, f in self._owner.items() if f.runtime_id == runtime_id]
            self._cond.notify_all()
        self._discard(idle)
        for worker in busy:  # their users see a WorkerError, then discard them
            worker.kill()

    def update_pool(self, runtime_id, image):
        """The image is only a label here: the pool's workers are replaced by new ones
        (the old ones stay if the new ones cannot start)."""
        workers, errors = self._start_workers(self._pool_size)
        if errors:
            self._discard(workers)
            raise exceptions.OrchestratorError(f"Runtime {runtime_id}: {errors[0]}")
        with self._cond:
            pool = self._pools.setdefault(runtime_id, _Pool(image))
            old, pool.idle, pool.image = pool.idle, workers, image
        self._discard(old)

    def get_pool(self, runtime_id):
        with self._cond:
            pool = self._pools.get(runtime_id)
            if pool is None:
                return {"total": 0, "available": 0}
            dead = _prune(pool)
            available = len(pool.idle)
            bound = sum(1 for f in self._owner.values() if f.runtime_id == runtime_id)
        if dead:
            self._discard(dead)
            self._wake.set()
        return {"total": available + bound, "available": available}

    # --- function workers ----------------------------------------------------------

    @contextlib.contextmanager
    def worker(self, spec, package, wait):
        worker = self._acquire(spec, package, wait)
        try:
            yield worker
        finally:
            self._release(worker)

    def scale_up(self, spec, package, count):
        for _ in range(count):
            dead = []
            try:
                with self._cond:
                    function = self._current(spec, dead)
                    if len(function.idle) + len(function.busy) + function.pending >= self._cap:
                        return
                    function.pending += 1
            finally:
                self._discard(dead)
            self._release(self._bind_new(spec, function, package))

    def scale_down(self, function_id, version, count):
        with self._cond:
            function = self._functions.get((function_id, version))
            if function is None:
                return
            total = len(function.idle) + len(function.busy)
            removable = max(0, min(count, len(function.idle), total - 1))
            removed, function.idle = function.idle[:removable], function.idle[removable:]
            for worker in removed:
                del self._owner[worker]
        self._discard(removed)

    def release_function(self, function_id, version=None):
        with self._cond:
            idle = []
            for key in list(self._functions):
                if key[0] == function_id and version in (None, key[1]):
                    idle += self._retire(key)
        self._discard(idle)

    def list_workers(self, function_id, version=0):
        with self._cond:
            function = self._functions.get((function_id, version))
            if function is None:
                return []
            return [w.name for w in (*function.idle, *function.busy)]

    def expire_idle(self, max_idle):
        expired = []
        with self._cond:
            oldest = time.monotonic() - max_idle
            for key, function in list(self._functions.items()):
                expired += [w for w in function.idle if w.last_used < oldest]
                function.idle = [w for w in function.idle if w.last_used >= oldest]
                if not (function.idle or function.busy or function.pending):
                    del self._functions[key]
            for worker in expired:
                del self._owner[worker]
        self._discard(expired)

    def stop(self):
        with self._cond:
            if self._stopped:
                return
            self._stopped = True
            everyone = list(self._workers)
            unused = [w for p in self._pools.values() for w in p.idle]
            unused += [w for f in self._functions.values() for w in f.idle]
            self._pools.clear()
            self._functions.clear()
            self._cond.notify_all()
        self._wake.set()
        for worker in everyone:
            worker.kill()
        for worker in unused:
            worker.close()
        self._refiller.join()
        self._spawner.shutdown()
        self._workdir.close()

    # --- internals -------------------------------------------------------------------

    def _ensure_sandbox(self):
        if self._sandbox is None:
            self._sandbox = sandbox.from_conf(self._conf, self._workdir.path)
            LOG.info("Local workers run in sandbox '%s'.", self._sandbox.kind)

    def _acquire(self, spec, package, wait):
        """A warm worker of the function version, or a new one loaded with its package."""
        key = (spec.function_id, spec.version)
        deadline = time.monotonic() + wait
        dead = []
        try:
            with self._cond:
                while True:
                    function = self._current(spec, dead)
                    while function.idle:
                        worker = function.idle.pop()
                        if worker.alive():
                            function.busy.add(worker)
                            return worker
                        del self._owner[worker]
                        dead.append(worker)
                    if len(function.busy) + function.pending < self._cap:
                        function.pending += 1
                        break
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise exceptions.NoWorkerAvailable(
                            f"All {self._cap} workers of function {key[0]} version {key[1]} "
                            f"stayed busy for {wait} s."
                        )
                    self._cond.wait(remaining)
        finally:
            self._discard(dead)
        return self._bind_new(spec, function, package)

    def _current(self, spec, dead):
        """The function version's entry, a new one if its package changed. Lock held.

        The workers of a replaced entry are added to ``dead``.
        """
        if self._stopped:
            raise exceptions.OrchestratorError("The local orchestrator is stopped.")
        if spec.runtime_id not in self._pools:
            # A runtime this orchestrator has no pool for yet (the engine restarted, or
            # another engine created it): adopt it. The refill thread warms its pool;
            # this execution starts a worker cold if none is ready.
            self._pools[spec.runtime_id] = _Pool(image=None)
            self._wake.set()
        key = (spec.function_id, spec.version)
        function = self._functions.get(key)
        if function is None or (function.package_md5, function.runtime_id) != (
            spec.package_md5,
            spec.runtime_id,
        ):
            if function is not None:
                dead += self._retire(key)
            function = self._functions[key] = _Function(key, spec.runtime_id, spec.package_md5)
        return function

    def _bind_new(self, spec, function, package):
        """Take a pool worker (or start one) and load the package; a slot is reserved."""
        worker = None
        try:
            data = package()
            worker = self._take_from_pool(spec.runtime_id) or self._start_cold()
            worker.load(spec, data, self._start_timeout)
        except BaseException:
            with self._cond:
                function.pending -= 1
                self._cond.notify_all()
            self._discard([worker] if worker else [])
            raise
        with self._cond:
            function.pending -= 1
            usable = not self._stopped and spec.runtime_id in self._pools
            if usable:
                function.busy.add(worker)
                self._owner[worker] = function
            self._cond.notify_all()
        if not usable:
            self._discard([worker])
            raise exceptions.OrchestratorError(f"Runtime {spec.runtime_id} was deleted.")
        return worker

    def _take_from_pool(self, runtime_id):
        dead = []
        try:
            with self._cond:
                pool = self._pools.get(runtime_id)
                while pool and pool.idle:
                    worker = pool.idle.pop()
                    if worker.alive():
                        return worker
                    dead.append(worker)
        finally:
            self._wake.set()
            self._discard(dead)
        return None

    def _start_cold(self):
        workers, errors = self._start_workers(1)
        if errors:
            raise exceptions.OrchestratorError(errors[0])
        return workers[0]

    def _release(self, worker):
        with self._cond:
            function = self._owner[worker]
            function.busy.discard(worker)
            keep = (
                worker.healthy
                and worker.alive()
                and not self._stopped
                and self._functions.get(function.key) is function
            )
            if keep:
                worker.last_used = time.monotonic()
                function.idle.append(worker)
            else:
                del self._owner[worker]
            self._cond.notify_all()
        if not keep:
            self._discard([worker])

    def _retire(self, key):
        """Forget a function version; return its idle workers. Lock held.

        Its busy workers are discarded when released.
        """
        function = self._functions.pop(key)
        idle, function.idle = function.idle, []
        for worker in idle:
            del self._owner[worker]
        return idle

    def _start_workers(self, count):
        """Start ``count`` workers at once; return (ready workers, error messages)."""
        self._ensure_sandbox()
        started, errors = [], []
        for _ in range(count):
            try:
                started.append(self._spawn())
            except exceptions.OrchestratorError as exc:
                errors.append(str(exc))
        deadline = time.monotonic() + self._start_timeout
        ready = []
        for worker in started:
            try:
                worker.wait_ready(max(deadline - time.monotonic(), 0))
                ready.append(worker)
            except exceptions.OrchestratorError as exc:
                errors.append(str(exc))
                self._discard([worker])
        return ready, errors

    def _spawn(self):
        directory = self._workdir.create()
        try:
            proc = self._spawner.submit(self._sandbox.start, directory, IDLE_TIMEOUT).result()
        except (OSError, RuntimeError) as exc:  # RuntimeError: the spawner is shut down
            shutil.rmtree(directory, ignore_errors=True)
            raise exceptions.OrchestratorError(f"Cannot start a worker: {exc}") from None
        worker = process.LocalWorker(directory, proc, IDLE_TIMEOUT)
        with self._cond:
            stopped = self._stopped
            if not stopped:
                self._workers.add(worker)
        if stopped:
            self._discard([worker])
            raise exceptions.OrchestratorError("The local orchestrator is stopped.")
        return worker

    def _discard(self, workers):
        """Kill unused workers and forget them."""
        for worker in workers:
            worker.kill()
            worker.close()
        with self._cond:
            self._workers.difference_update(workers)

    def _refill_loop(self):
        while not self._stopped:
            self._wake.wait(POOL_CHECK_INTERVAL)
            self._wake.clear()
            if self._stopped:
                return
            try:
                self._refill()
            except Exception:
                LOG.exception("Refilling the worker pools failed.")

    def _refill(self):
        """Drop dead pool workers and start the missing ones."""
        dead, plan = [], []
        with self._cond:
            for runtime_id, pool in self._pools.items():
                dead += _prune(pool)
                missing = self._pool_size - len(pool.idle) - pool.starting
                if missing > 0:
                    pool.starting += missing
                    plan.append((runtime_id, pool, missing))
        self._discard(dead)
        for runtime_id, pool, missing in plan:
            workers, errors = self._start_workers(missing)
            with self._cond:
                pool.starting -= missing
                usable = not self._stopped and self._pools.get(runtime_id) is pool
                if usable:
                    pool.idle.extend(workers)
            if not usable:
                self._discard(workers)
                continue
            for error in errors:
                LOG.warning("Refilling the pool of runtime %s: %s", runtime_id, error)
