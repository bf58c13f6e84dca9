"""Local orchestrator: runtime servers as sandboxed processes on this host.

Per runtime, a pool of warm, unbound workers. A function version keeps the workers it took
and reuses its idle ones; when all are busy it takes one more from the pool (loading its
package into it) up to ``max_workers_per_function``, then waits. A bound worker never goes
back to the pool: it is killed when released. A background thread refills the pools.

The bindings' condition variable guards the pools too (see ``bindings``). Every
process is started from one long-lived thread, because the kernel's parent-death signal
(``--die-with-parent``, ``PR_SET_PDEATHSIG``) fires when the *thread* that forked exits.

A runtime's image is a label, but for the images of ``runtime_environments``: their
workers can import the libraries of that environment (``environments``).
"""

import os
import shutil
import threading
import time
from concurrent import futures

from oslo_log import log as logging

from qinling_lite import exceptions
from qinling_lite.orchestrator import base, bindings
from qinling_lite.orchestrator.local import cgroups, egress, process, sandbox, uids, workdir

LOG = logging.getLogger(__name__)

IDLE_TIMEOUT = 10.0  # seconds a runtime server keeps an idle connection open
POOL_CHECK_INTERVAL = 5.0  # seconds between checks of the pools for dead workers


class _Pool:
    """A runtime's unbound workers, of ``image``."""

    def __init__(self, image):
        self.image = image
        self.idle = []
        self.starting = 0


def _prune(pool):
    """Remove the pool's dead workers and return them. Lock held."""
    dead = [w for w in pool.idle if not w.alive()]
    pool.idle = [w for w in pool.idle if w not in dead]
    return dead


class LocalOrchestrator(bindings.BoundFunctions, base.Orchestrator):
    """Pools of local runtime server processes; no image functions (no container engine)."""

    def __init__(self, conf):
        opts = conf.local_orchestrator
        self._conf = conf
        self._pool_size = opts.pool_size
        self._start_timeout = opts.worker_start_timeout
        self._workdir = workdir.WorkDir(opts.work_dir)
        self._egress = None  # the proxy of opts.egress_endpoints, if a sandbox needs it
        self._uids = None  # as root, each worker runs as a uid of its own
        self._cgroups = None  # as root, each worker has a cgroup of its own
        try:
            if os.geteuid() == 0:
                self._uids = uids.UidPool(opts.worker_uid_start, opts.worker_uid_count)
                self._cgroups = _cgroups(self._workdir)
            # Checked now: an engine whose workers cannot start says why at once.
            self._sandbox = self._make_sandbox()
        except BaseException:
            if self._cgroups is not None:
                self._cgroups.close()
            self._workdir.close()
            raise
        self._bindings = bindings.Bindings(
            bindings.Limits(opts.max_workers_per_function, opts.worker_start_timeout),
            prepare=self._prepare,
            take=self._take,
            refusal=self._refusal,
            discard=self._discard,
        )
        self._lock = self._bindings.lock
        self._pools = {}  # runtime id -> _Pool
        self._workers = set()  # every started worker, until discarded
        self._stopped = False
        self._spawner = futures.ThreadPoolExecutor(1, thread_name_prefix="worker-spawner")
        self._wake = threading.Event()
        self._refiller = threading.Thread(
            target=self._refill_loop, name="worker-pool-refill", daemon=True
        )
        self._refiller.start()

    @classmethod
    def check(cls, conf):
        """Probe the sandbox (and the runtime environments) as a worker would start."""
        opts = conf.local_orchestrator
        probe_uid = opts.worker_uid_start if os.geteuid() == 0 else None
        made = sandbox.from_conf(conf, egress=bool(opts.egress_endpoints), probe_uid=probe_uid)
        if made.kind == "none" and opts.sandbox == "auto":
            return [
                "Local workers would run WITHOUT a sandbox: bubblewrap does not work here "
                "(the log above says why). Install bubblewrap or set [local_orchestrator] "
                "sandbox = bwrap to refuse to start without it."
            ]
        return []

    # --- pools -------------------------------------------------------------------

    def create_pool(self, runtime_id, image):
        with self._lock:
            if runtime_id in self._pools:
                return
        workers, errors = self._start_workers(self._pool_size, image)
        if errors:
            self._discard(workers)
            raise exceptions.OrchestratorError(f"Runtime {runtime_id}: {errors[0]}")
        with self._lock:
            created = not self._stopped and runtime_id not in self._pools
            if created:
                self._pools[runtime_id] = pool = _Pool(image)
                pool.idle = workers
        if not created:  # stopped, or a concurrent call created it
            self._discard(workers)
            return
        library = self._sandbox.libraries.get(image)
        LOG.info(
            "Runtime %s has a pool of %d %s workers%s.",
            runtime_id,
            len(workers),
            image,
            f" with the libraries of {library}" if library else "",
        )

    def delete_pool(self, runtime_id):
        with self._lock:
            pool = self._pools.pop(runtime_id, None)
            idle = list(pool.idle) if pool else []
            idle += self._bindings.retire(lambda function: function.runtime_id == runtime_id)
            busy = self._bindings.bound(lambda function: function.runtime_id == runtime_id)
        self._discard(idle)
        for worker in busy:  # their users see a WorkerError, then discard them
            worker.kill()

    def update_pool(self, runtime_id, image):
        """The pool's workers are replaced by new ones of ``image``, with its environment if
        it has one (the old ones stay if the new ones cannot start). Workers bound to
        functions keep the old image until they are released."""
        workers, errors = self._start_workers(self._pool_size, image)
        if errors:
            self._discard(workers)
            raise exceptions.OrchestratorError(f"Runtime {runtime_id}: {errors[0]}")
        with self._lock:
            pool = self._pools.setdefault(runtime_id, _Pool(image))
            old, pool.idle, pool.image = pool.idle, workers, image
        self._discard(old)

    def get_pool(self, runtime_id):
        with self._lock:
            pool = self._pools.get(runtime_id)
            if pool is None:
                return {"total": 0, "available": 0}
            dead = _prune(pool)
            available = len(pool.idle)
            bound = len(self._bindings.bound(lambda f: f.runtime_id == runtime_id))
        if dead:
            self._discard(dead)
            self._wake.set()
        return {"total": available + bound, "available": available}

    def worker_counts(self):
        counts = super().worker_counts()
        with self._lock:
            for runtime_id in counts.keys() | self._pools.keys():
                pool = self._pools.get(runtime_id)
                states = counts.setdefault(runtime_id, {"idle": 0, "busy": 0})
                states["free"] = len(pool.idle) if pool else 0
        return counts

    # --- function workers (worker, scale_up, scale_down: bindings.BoundFunctions) --

    def release_function(self, function_id, version=None):
        self._discard(self._bindings.retire_function(function_id, version))

    def list_workers(self, function_id, version=0):
        return self._bindings.names(function_id, version)

    def expire_idle(self, max_idle):
        self._bindings.expire_idle(max_idle)

    def stop(self):
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            everyone = list(self._workers)
            unused = [w for p in self._pools.values() for w in p.idle]
            unused += self._bindings.retire(lambda function: True)
            self._pools.clear()
        self._wake.set()
        for worker in everyone:
            worker.kill()
        for worker in unused:
            worker.close()
        self._refiller.join()
        self._spawner.shutdown()
        if self._egress is not None:
            self._egress.close()
        if self._cgroups is not None:
            self._cgroups.close()
        self._workdir.close()

    # --- internals -------------------------------------------------------------------

    def _make_sandbox(self):
        """The sandbox workers start in, probed; the egress proxy if it needs one."""
        opts = self._conf.local_orchestrator
        uid = self._uids.take() if self._uids else None
        try:
            made = sandbox.from_conf(self._conf, egress=bool(opts.egress_endpoints), probe_uid=uid)
        finally:
            if uid is not None:
                self._uids.give_back(uid)
        if made.egress:
            self._egress = egress.EgressProxy(
                opts.egress_endpoints, opts.egress_tunnels_per_worker, opts.egress_tunnels
            )
        LOG.info(
            "Local workers run in sandbox '%s'%s%s.",
            made.kind,
            ", each as a uid of its own" if self._uids else "",
            ", each in a cgroup of its own" if self._cgroups else "",
        )
        return made

    def _prepare(self, spec):
        """Refuse when stopped; adopt a runtime without a pool. Lock held."""
        if self._stopped:
            raise exceptions.OrchestratorError("The local orchestrator is stopped.")
        if spec.runtime_id not in self._pools:
            # A runtime this orchestrator has no pool for yet (the engine restarted, or
            # another engine created it): adopt it. The refill thread warms its pool;
            # this execution starts a worker cold if none is ready.
            self._pools[spec.runtime_id] = _Pool(image=spec.runtime_image)
            self._wake.set()

    def _take(self, spec, deadline):
        """A pool worker of the runtime, or a new one started cold (never waits)."""
        return self._take_from_pool(spec.runtime_id) or self._start_cold(spec)

    def _refusal(self, spec, function):
        if self._stopped or spec.runtime_id not in self._pools:
            return f"Runtime {spec.runtime_id} was deleted."
        return None

    def _take_from_pool(self, runtime_id):
        dead = []
        try:
            with self._lock:
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

    def _start_cold(self, spec):
        workers, errors = self._start_workers(1, self._image_of(spec.runtime_id))
        if errors:
            raise exceptions.OrchestratorError(errors[0])
        return workers[0]

    def _image_of(self, runtime_id):
        """The image of the runtime's pool (that of a pool made on demand, by
        ``_prepare``, is the one the function's spec names)."""
        with self._lock:
            pool = self._pools.get(runtime_id)
            return pool.image if pool else None

    def _start_workers(self, count, image):
        """Start ``count`` workers of ``image`` at once; return (ready workers, error
        messages)."""
        started, errors = [], []
        for _ in range(count):
            try:
                started.append(self._spawn(image))
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

    def _spawn(self, image):
        directory = self._workdir.create()
        uid = group = listener = log = channel = None
        library = self._sandbox.libraries.get(image)
        memory = process.SERVER_MEMORY + (process.LIBRARY_MEMORY if library else 0)
        try:
            uid = self._uids.take() if self._uids else None
            if self._cgroups is not None:
                group = self._cgroups.create(os.path.basename(directory))
                group.set_limits(memory=memory, pids=self._conf.local_orchestrator.max_processes)
            listener = process.listen(directory)
            log = os.memfd_create("worker-log", os.MFD_CLOEXEC)
            channel = self._egress.channel() if self._sandbox.egress else None
            launch = sandbox.Launch(
                directory=directory,
                listener=listener,
                log=log,
                uid=uid,
                cgroup_procs=tuple(group.procs_files()) if group else (),
                egress=channel,
                library=library,
            )
            proc = self._spawner.submit(self._sandbox.start, launch, IDLE_TIMEOUT).result()
        except (OSError, RuntimeError, exceptions.OrchestratorError) as exc:
            # RuntimeError: the spawner is shut down
            if group is not None:
                group.remove()
            if log is not None:
                os.close(log)
            if uid is not None:
                self._uids.give_back(uid)
            shutil.rmtree(directory, ignore_errors=True)
            raise exceptions.OrchestratorError(f"Cannot start a worker: {exc}") from None
        finally:
            for sock in (listener, channel):  # the worker has them now
                if sock is not None:
                    sock.close()
        worker = process.LocalWorker(directory, proc, IDLE_TIMEOUT, log, group, uid, memory)
        with self._lock:
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
            if worker.uid is not None:
                self._uids.give_back(worker.uid)
        with self._lock:
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
        with self._lock:
            for runtime_id, pool in self._pools.items():
                dead += _prune(pool)
                missing = self._pool_size - len(pool.idle) - pool.starting
                if missing > 0:
                    pool.starting += missing
                    plan.append((runtime_id, pool, pool.image, missing))
        self._discard(dead)
        for runtime_id, pool, image, missing in plan:
            workers, errors = self._start_workers(missing, image)
            with self._lock:
                pool.starting -= missing
                # Not if the pool went, or rolled to another image meanwhile.
                usable = (
                    not self._stopped
                    and self._pools.get(runtime_id) is pool
                    and pool.image == image
                )
                if usable:
                    pool.idle.extend(workers)
            if not usable:
                self._discard(workers)
                continue
            for error in errors:
                LOG.warning("Refilling the pool of runtime %s: %s", runtime_id, error)


def _cgroups(work_dir):
    """The cgroups of this orchestrator's workers, or None with a warning when the host
    gives none."""
    try:
        return cgroups.Hierarchy.detect(work_dir.name)
    except cgroups.Unavailable as exc:
        LOG.warning(
            "Local workers have no cgroups, so their memory, process and CPU limits are "
            "per process, not per sandbox: %s",
            exc,
        )
        return None
