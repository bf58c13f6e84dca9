"""Kubernetes orchestrator: worker pods taken from per-runtime Deployments.

Per runtime, a Deployment keeps ``replicas`` warm pool pods. A function version keeps the
pods this engine took for it and reuses its idle ones; when the running executions per pod
pass ``target_concurrency`` it takes one more pool pod (relabelling it, which makes the
ReplicaSet start a replacement) and pushes the package into it, up to
``max_workers_per_function``, then waits. A bound pod never goes back to the pool: it is
deleted when released, broken or idle for too long.

Each engine uses only the pods it took (the runtime server runs one execution at a time),
remembers them in memory and marks them with its name; after a restart, ``expire_idle``
deletes the pods it can no longer use. One condition variable guards all state; API and
HTTP calls happen outside it.
"""

import contextlib
import threading
import time

from oslo_log import log as logging

from qinling_lite import exceptions
from qinling_lite.orchestrator import base
from qinling_lite.orchestrator.kubernetes import client as k8s_client
from qinling_lite.orchestrator.kubernetes import manifests, pods, pool, worker

LOG = logging.getLogger(__name__)


class _Function:
    """The pods this engine holds for one function version with one package."""

    def __init__(self, key, runtime_id, package_md5):
        self.key = key
        self.runtime_id = runtime_id
        self.package_md5 = package_md5
        self.idle = []  # most recently used last
        self.busy = set()
        self.pending = 0  # pods being taken and loaded for it
        self.waiting = 0  # executions waiting for one of its pods


class KubernetesOrchestrator(base.Orchestrator):
    """Worker pods in the namespace ``[kubernetes] namespace``."""

    def __init__(self, conf):
        opts = conf.kubernetes
        self._opts = opts
        self._engine = conf.engine.host
        self._apis = k8s_client.connect(opts)
        self._pools = pool.Pools(self._apis, conf)
        self._pods = pods.Pods(self._apis.core, opts.namespace)
        self._cond = threading.Condition()
        self._functions = {}  # (function id, version) -> _Function
        self._owner = {}  # bound PodWorker -> its _Function
        self._held = set()  # names of the pods this engine took and has not deleted
        self._namespace_ready = False
        self._stopped = False

    # --- pools -------------------------------------------------------------------

    def create_pool(self, runtime_id, image):
        if not self._namespace_ready:
            self._pools.prepare_namespace()
            self._namespace_ready = True
        self._pools.create(runtime_id, image)
        LOG.info("Runtime %s has a pool of %d %s pods.", runtime_id, self._opts.replicas, image)

    def update_pool(self, runtime_id, image):
        """Roll the runtime's pool out to ``image``, rolled back if it does not get ready.

        Pods already bound to functions keep the old image until they are released.
        """
        self._pools.update(runtime_id, image)

    def delete_pool(self, runtime_id):
        with self._cond:
            idle = []
            for key, function in list(self._functions.items()):
                if function.runtime_id == runtime_id:
                    idle += self._retire(key)
            self._cond.notify_all()
        self._close(idle)
        self._pools.delete(runtime_id)
        # Bound pods left the ReplicaSet: they go by label. Their users see a WorkerError.
        self._pods.delete_all(pods.runtime_selector(runtime_id))

    def get_pool(self, runtime_id):
        total = self._pools.replicas(runtime_id)
        return {"total": total, "available": len(self._pods.free(runtime_id)) if total else 0}

    # --- function workers ----------------------------------------------------------

    @contextlib.contextmanager
    def worker(self, spec, package, wait):
        bound = self._acquire(spec, package, wait)
        try:
            yield bound
        finally:
            self._release(bound)

    def scale_up(self, spec, package, count):
        """Take up to ``count`` more pool pods for the function version, as free now."""
        for _ in range(count):
            stale = []
            try:
                with self._cond:
                    function = self._current(spec, stale)
                    workers = len(function.idle) + len(function.busy) + function.pending
                    if workers >= self._opts.max_workers_per_function:
                        return
                    function.pending += 1
            finally:
                self._discard(stale)
            try:
                bound = self._bind_new(spec, function, package, deadline=time.monotonic())
            except exceptions.NoWorkerAvailable:
                return
            self._release(bound)

    def scale_down(self, function_id, version, count):
        """Delete up to ``count`` idle pods of the function version, keeping one."""
        with self._cond:
            function = self._functions.get((function_id, version))
            if function is None:
                return
            total = len(function.idle) + len(function.busy)
            removable = max(0, min(count, len(function.idle), total - 1))
            removed, function.idle = function.idle[:removable], function.idle[removable:]
            for bound in removed:
                del self._owner[bound]
        self._discard(removed)

    def release_function(self, function_id, version=None):
        """Delete the function version's pods, those of other engines and running ones too."""
        with self._cond:
            idle = []
            for key in list(self._functions):
                if key[0] == function_id and version in (None, key[1]):
                    idle += self._retire(key)
        self._close(idle)
        self._pods.delete_all(pods.function_selector(function_id, version))

    def list_workers(self, function_id, version=0):
        """Names of the function version's pods, whichever engine holds them."""
        bound = self._pods.bound(pods.function_selector(function_id, version))
        return [pod.metadata.name for pod in bound]

    def expire_idle(self, max_idle):
        """Delete pods idle longer than ``max_idle``, and this engine's orphaned pods."""
        expired = []
        with self._cond:
            oldest = time.monotonic() - max_idle
            for key, function in list(self._functions.items()):
                expired += [w for w in function.idle if w.last_used < oldest]
                function.idle = [w for w in function.idle if w.last_used >= oldest]
                if not (function.idle or function.busy or function.pending):
                    del self._functions[key]
            for expired_worker in expired:
                del self._owner[expired_worker]
        self._discard(expired)
        for pod in self._pods.bound(manifests.FUNCTION_LABEL):
            annotations = pod.metadata.annotations or {}
            if annotations.get(manifests.ENGINE_ANNOTATION) != self._engine:
                continue
            with self._cond:
                orphan = pod.metadata.name not in self._held
            if orphan:
                LOG.info("Deleting pod %s, left over by an earlier run.", pod.metadata.name)
                self._pods.delete(pod.metadata.name)

    def stop(self):
        """Delete every pod this engine holds and close the API connection."""
        with self._cond:
            if self._stopped:
                return
            self._stopped = True
            held = list(self._held)
            unused = [w for f in self._functions.values() for w in f.idle]
            self._functions.clear()
            self._cond.notify_all()
        self._close(unused)
        self._delete_pods(held)
        self._apis.close()

    # --- internals -------------------------------------------------------------------

    def _acquire(self, spec, package, wait):
        """An idle pod of the function version, or a newly taken one loaded with its package."""
        key = (spec.function_id, spec.version)
        deadline = time.monotonic() + wait
        stale = []
        try:
            with self._cond:
                while True:
                    function = self._current(spec, stale)
                    if function.idle:
                        bound = function.idle.pop()
                        function.busy.add(bound)
                        return bound
                    workers = len(function.busy) + function.pending
                    demand = len(function.busy) + function.waiting + 1
                    if workers < self._opts.max_workers_per_function and (
                        demand > self._opts.target_concurrency * workers
                    ):
                        function.pending += 1
                        break
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise exceptions.NoWorkerAvailable(
                            f"The {workers} pods of function {key[0]} version {key[1]} "
                            f"stayed busy for {wait} s."
                        )
                    function.waiting += 1
                    try:
                        self._cond.wait(remaining)
                    finally:
                        function.waiting -= 1
        finally:
            self._discard(stale)
        return self._bind_new(spec, function, package, deadline)

    def _current(self, spec, stale):
        """The function version's entry, a new one if its package changed. Lock held.

        The idle workers of a replaced entry are added to ``stale``.
        """
        if self._stopped:
            raise exceptions.OrchestratorError("The Kubernetes orchestrator is stopped.")
        key = (spec.function_id, spec.version)
        function = self._functions.get(key)
        if function is None or (function.package_md5, function.runtime_id) != (
            spec.package_md5,
            spec.runtime_id,
        ):
            if function is not None:
                stale += self._retire(key)
            function = self._functions[key] = _Function(key, spec.runtime_id, spec.package_md5)
        return function

    def _bind_new(self, spec, function, package, deadline):
        """Take a pool pod and load the package into it; a slot is reserved."""
        pod = bound = None
        try:
            data = package()
            pod = self._take(spec, deadline)
            bound = worker.PodWorker(pod.metadata.name, pods.address(pod), manifests.IDLE_TIMEOUT)
            with self._cond:
                self._owner[bound] = function
            bound.load(spec, data, self._opts.load_timeout)
        except BaseException:
            with self._cond:
                function.pending -= 1
                self._owner.pop(bound, None)
                self._cond.notify_all()
            if bound is not None:
                self._discard([bound])
            elif pod is not None:
                self._delete_pods([pod.metadata.name])
            raise
        with self._cond:
            function.pending -= 1
            usable = not self._stopped and self._functions.get(function.key) is function
            if usable:
                function.busy.add(bound)
            else:
                del self._owner[bound]
            self._cond.notify_all()
        if not usable:
            self._discard([bound])
            raise exceptions.OrchestratorError(
                f"Function {spec.function_id} version {spec.version} was released."
            )
        return bound

    def _take(self, spec, deadline):
        """Relabel a free pool pod for ``spec``, polling until ``deadline`` for one."""
        while True:
            for pod in self._pods.free(spec.runtime_id):
                name = pod.metadata.name
                with self._cond:
                    self._held.add(name)  # before the patch: expire_idle must not see an orphan
                taken = None
                try:
                    taken = self._pods.take(pod, spec, self._engine)
                finally:
                    if taken is None:
                        with self._cond:
                            self._held.discard(name)
                if taken is not None:
                    LOG.debug("Took pod %s for function %s.", name, spec.function_id)
                    return taken
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise exceptions.NoWorkerAvailable(
                    f"Runtime {spec.runtime_id} has no free pod (is its pool created?)."
                )
            time.sleep(min(self._opts.poll_interval, remaining))

    def _release(self, bound):
        with self._cond:
            function = self._owner[bound]
            function.busy.discard(bound)
            keep = (
                bound.healthy
                and not self._stopped
                and self._functions.get(function.key) is function
            )
            if keep:
                bound.last_used = time.monotonic()
                function.idle.append(bound)
            else:
                del self._owner[bound]
            self._cond.notify_all()
        if not keep:
            self._discard([bound])

    def _retire(self, key):
        """Forget a function version; return its idle workers. Lock held.

        Its busy workers are discarded when released.
        """
        function = self._functions.pop(key)
        idle, function.idle = function.idle, []
        for retired in idle:
            del self._owner[retired]
        return idle

    def _discard(self, workers):
        """Close the workers and delete their pods (stop deleted them all already)."""
        self._close(workers)
        with self._cond:
            stopped = self._stopped
        if not stopped:
            self._delete_pods(w.name for w in workers)

    def _delete_pods(self, names):
        for name in names:
            try:
                self._pods.delete(name)
            except exceptions.OrchestratorError as exc:
                LOG.warning("%s", exc)
            with self._cond:
                self._held.discard(name)

    def _close(self, workers):
        """Close the workers' connections and forget their pods (deleted elsewhere)."""
        for closed in workers:
            closed.close()
        with self._cond:
            self._held.difference_update(w.name for w in workers)
