"""Kubernetes orchestrator: worker pods taken from per-runtime Deployments.

Per runtime, a Deployment keeps ``replicas`` warm pool pods. A function version keeps the
pods this engine took for it and reuses its idle ones; when the running executions per pod
pass ``target_concurrency`` it takes one more pool pod (relabelling it, which makes the
ReplicaSet start a replacement) and pushes the package into it, up to
``max_workers_per_function``, then waits. A bound pod never goes back to the pool: it is
deleted when released, broken or idle for too long.

Each engine uses only the pods it took (the runtime server runs one execution at a time),
remembers them in memory and marks them with its name; after a restart, ``expire_idle``
deletes the pods it can no longer use. The bindings' condition variable guards all state.

Image functions have no pool: each execution runs in a pod of its own (``image_pods``).
"""

import time

from oslo_log import log as logging

from qinling_lite import exceptions
from qinling_lite.orchestrator import base, bindings
from qinling_lite.orchestrator.kubernetes import client as k8s_client
from qinling_lite.orchestrator.kubernetes import image_pods, manifests, pods, pool

LOG = logging.getLogger(__name__)

PERIODIC_THREADS = 4


class KubernetesOrchestrator(bindings.BoundFunctions, base.Orchestrator, base.ImageFunctions):
    """Worker pods in the namespace ``[kubernetes] namespace``."""

    def __init__(self, conf):
        opts = conf.kubernetes
        self._opts = opts
        self._engine = conf.engine.host
        # Every execution thread may be at the API at once, and the periodic tasks too.
        self._apis = k8s_client.connect(opts, conf.engine.execution_threads + PERIODIC_THREADS)
        self._pools = pool.Pools(self._apis, conf)
        self._pods = pods.Pods(self._apis.core, opts.namespace)
        self._images = image_pods.ImagePods(self._apis.core, self._pods, opts, self._engine)
        self._bindings = bindings.Bindings(
            opts,
            prepare=self._prepare,
            take=self._take,
            refusal=self._refusal,
            discard=self._discard,
        )
        self._lock = self._bindings.lock
        self._held = set()  # names of the pods this engine took and has not deleted
        self._namespace_ready = False
        self._stopped = False

    @classmethod
    def check(cls, conf):
        """The API server answers the configured account in the namespace."""
        k8s_client.check(conf.kubernetes)
        return []

    # --- pools -------------------------------------------------------------------

    def create_pool(self, runtime_id, image):
        self._prepare_namespace()
        self._pools.create(runtime_id, image)
        LOG.info("Runtime %s has a pool of %d %s pods.", runtime_id, self._opts.replicas, image)

    def update_pool(self, runtime_id, image):
        """Roll the runtime's pool out to ``image``, rolled back if it does not get ready.

        Pods already bound to functions keep the old image until they are released.
        """
        self._pools.update(runtime_id, image)

    def delete_pool(self, runtime_id):
        with self._lock:
            idle = self._bindings.retire(lambda function: function.runtime_id == runtime_id)
        self._close(idle)
        self._pools.delete(runtime_id)
        # Bound pods left the ReplicaSet: they go by label. Their users see a WorkerError.
        self._pods.delete_all(pods.runtime_selector(runtime_id))

    def get_pool(self, runtime_id):
        total = self._pools.replicas(runtime_id)
        return {"total": total, "available": len(self._pods.free(runtime_id)) if total else 0}

    # --- function workers (worker, scale_up, scale_down: bindings.BoundFunctions) --

    def release_function(self, function_id, version=None):
        """Delete the function version's pods, those of other engines and running ones too."""
        self._close(self._bindings.retire_function(function_id, version))
        self._pods.delete_all(pods.function_selector(function_id, version))

    def list_workers(self, function_id, version=0):
        """Names of the function version's pods, whichever engine holds them."""
        bound = self._pods.bound(pods.function_selector(function_id, version))
        return [pod.metadata.name for pod in bound]

    def run_image(self, spec, args):
        """Run the execution in a pod of its own, deleted when it ends."""
        with self._lock:
            if self._stopped:
                raise exceptions.OrchestratorError("The Kubernetes orchestrator is stopped.")
        self._prepare_namespace()
        return self._images.run(spec, args)

    def expire_idle(self, max_idle):
        """Delete pods idle longer than ``max_idle``, this engine's orphaned pods, and the
        pods of image functions left over by a stopped or crashed engine."""
        self._bindings.expire_idle(max_idle)
        for pod in self._pods.bound(manifests.FUNCTION_LABEL):
            annotations = pod.metadata.annotations or {}
            if annotations.get(manifests.ENGINE_ANNOTATION) != self._engine:
                continue
            with self._lock:
                orphan = pod.metadata.name not in self._held
            if orphan:
                LOG.info("Deleting pod %s, left over by an earlier run.", pod.metadata.name)
                self._pods.delete(pod.metadata.name)
        self._images.expire()

    def stop(self):
        """Delete every pod this engine holds and close the API connection."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            held = list(self._held)
            unused = self._bindings.retire(lambda function: True)
        self._close(unused)
        self._delete_pods(held)
        self._images.stop()
        self._apis.close()

    # --- internals -------------------------------------------------------------------

    def _prepare_namespace(self):
        """Create the namespace and its NetworkPolicies once per engine run."""
        if not self._namespace_ready:
            self._pools.prepare_namespace()
            self._namespace_ready = True

    def _prepare(self, spec):
        """Refuse when stopped. Lock held."""
        if self._stopped:
            raise exceptions.OrchestratorError("The Kubernetes orchestrator is stopped.")

    def _take(self, spec, deadline):
        """A free pool pod taken for ``spec``."""
        pod = self._take_pod(spec, deadline)
        try:
            return bindings.RuntimeServer(
                pod.metadata.name, pods.address(pod), manifests.IDLE_TIMEOUT
            )
        except BaseException:
            self._delete_pods([pod.metadata.name])
            raise

    def _refusal(self, spec, function):
        if not self._bindings.is_current(function):
            return f"Function {spec.function_id} version {spec.version} was released."
        return None

    def _take_pod(self, spec, deadline):
        """Relabel a free pool pod for ``spec``, polling until ``deadline`` for one."""
        while True:
            for pod in self._pods.free(spec.runtime_id):
                name = pod.metadata.name
                with self._lock:
                    if name in self._held:  # another thread of this engine is taking it
                        continue
                    self._held.add(name)  # before the patch: expire_idle must not see an orphan
                taken = None
                try:
                    taken = self._pods.take(pod, spec, self._engine)
                finally:
                    if taken is None:
                        with self._lock:
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

    def _discard(self, workers):
        """Close the workers and delete their pods (stop deleted them all already)."""
        self._close(workers)
        with self._lock:
            stopped = self._stopped
        if not stopped:
            self._delete_pods(w.name for w in workers)

    def _delete_pods(self, names):
        for name in names:
            try:
                self._pods.delete(name)
            except exceptions.OrchestratorError as exc:
                LOG.warning("%s", exc)
            with self._lock:
                self._held.discard(name)

    def _close(self, workers):
        """Close the workers' connections and forget their pods (deleted elsewhere)."""
        for closed in workers:
            closed.close()
        with self._lock:
            self._held.difference_update(w.name for w in workers)
