"""The engine's RPC endpoint: what the API asks of an engine (see
``qinling_lite.rpc.engine_api``)."""

import functools
import threading

import oslo_messaging as messaging
from oslo_log import log as logging

from qinling_lite import context, exceptions, status
from qinling_lite.db import executions as executions_db
from qinling_lite.db import runtimes as runtimes_db
from qinling_lite.rpc import transport as rpc_transport

LOG = logging.getLogger(__name__)


def _in_context(method):
    """While ``method`` serves a request, its context (its request id) is the thread's:
    the log lines about it carry the id. Without one (periodic work), lines carry none."""

    @functools.wraps(method)
    def serve(self, ctxt, *args, **kwargs):
        with context.current(ctxt):
            return method(self, ctxt, *args, **kwargs)

    return serve


class EngineManager:
    target = messaging.Target(namespace=rpc_transport.NAMESPACE, version="1.1")

    def __init__(self, orchestrator, runner):
        self._orchestrator = orchestrator
        self._runner = runner
        self._lock = threading.Lock()
        self._starting = set()  # runtimes whose pool is being created

    @_in_context
    def create_execution(self, ctxt, execution_id):
        return self._runner.run(execution_id, ctxt.request_id if ctxt is not None else None)

    @_in_context
    def create_runtime(self, ctxt, runtime_id):
        try:
            runtime = runtimes_db.get(runtime_id)
        except exceptions.NotFound:
            LOG.warning("Runtime %s vanished before its pool was created", runtime_id)
            return
        self.start_pool(runtime)

    def start_pool(self, runtime):
        """Create the runtime's worker pool and record whether it is available; a sweep
        asking again while the pool is being built does nothing."""
        with self._lock:
            if runtime.id in self._starting:
                return
            self._starting.add(runtime.id)
        try:
            self._orchestrator.create_pool(runtime.id, runtime.image)
        except Exception as e:  # e.g. the orchestrator's backend is unreachable
            LOG.exception("Runtime %s is unusable", runtime.id)
            runtimes_db.update_status(runtime.id, status.ERROR, str(e) or type(e).__name__)
        else:
            runtimes_db.update_status(runtime.id, status.AVAILABLE)
        finally:
            with self._lock:
                self._starting.discard(runtime.id)

    @_in_context
    def update_runtime(self, ctxt, runtime_id, image):
        """Roll the runtime's workers to ``image``; on failure keep the old image."""
        try:
            self._orchestrator.update_pool(runtime_id, image)
        except Exception as e:
            LOG.exception("Runtime %s stays on its image", runtime_id)
            runtimes_db.update_status(
                runtime_id, status.AVAILABLE, f"Update to image {image} failed: {e}"
            )
        else:
            runtimes_db.update_status(runtime_id, status.AVAILABLE, image=image)

    @_in_context
    def delete_runtime(self, ctxt, runtime_id):
        self._orchestrator.delete_pool(runtime_id)
        runtimes_db.delete(runtime_id)

    @_in_context
    def get_runtime_pool(self, ctxt, runtime_id):
        return self._orchestrator.get_pool(runtime_id)

    @_in_context
    def release_function(self, ctxt, function_id, version=None):
        self._orchestrator.release_function(function_id, version)

    @_in_context
    def scale_up_function(self, ctxt, function_id, version, count):
        target = executions_db.get_worker_target(function_id, version)
        spec, package = self._runner.worker_for(target)
        self._orchestrator.scale_up(spec, package, count)

    @_in_context
    def scale_down_function(self, ctxt, function_id, version, count):
        self._orchestrator.scale_down(function_id, version, count)

    @_in_context
    def get_function_workers(self, ctxt, function_id, version):
        return self._orchestrator.list_workers(function_id, version)
