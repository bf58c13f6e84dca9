"""Running one execution: claim it, get a worker, run it, record the one outcome (and
the retry or dead-letter execution that follows it)."""

import threading
import time

from oslo_log import log as logging

from qinling_lite import exceptions, function_code, function_input, status
from qinling_lite.db import executions as executions_db
from qinling_lite.db import functions as functions_db
from qinling_lite.metrics import definitions as metrics
from qinling_lite.metrics import triggers
from qinling_lite.orchestrator import base as orchestrator_base
from qinling_lite.runtime import protocol

LOG = logging.getLogger(__name__)

# Seconds a worker may take beyond the function timeout before it is declared hung;
# the runtime server itself stops the function at its timeout.
WORKER_MARGIN = 2.0


# An execution that found no free worker this many times ends in error.
MAX_ATTEMPTS = 5


class ExecutionRunner:
    """Runs executions under leases held by this engine, and renews them."""

    def __init__(
        self,
        orchestrator,
        storage,
        worker_wait,
        engine_id,
        lease,
        retry_policy,
        trustee=None,
        swift=None,
        max_result_size=protocol.MAX_RESULT_BYTES,
    ):
        """``swift(trust_id)``: Swift as a function's owner (``storage.swift``)."""
        self._orchestrator = orchestrator
        self._swift = swift
        self._retry_policy = retry_policy
        self._trustee = trustee
        self._max_result_size = max_result_size
        self._storage = storage
        self._worker_wait = worker_wait
        self.engine_id = engine_id
        self._lease = lease
        self._running = set()
        self._lock = threading.Lock()

    def run(self, execution_id, request_id=None, takeover=False):
        """Run an execution no engine holds; its final state (``status``, ``result``,
        ``updated_at``) as recorded, or None if it is not ours or not finished.

        ``request_id``: the id of the API request that asked for it (none when a sweep
        runs it), passed on to the worker, which logs it with the execution's id.
        ``takeover``: it was running under a lease that ran out (counted if claimed).
        """
        execution = executions_db.claim(execution_id, self.engine_id, self._lease)
        if execution is None:
            return None
        if takeover:
            metrics.TAKEOVERS.inc()
        with self._lock:
            self._running.add(execution_id)
        try:
            return self._run(execution, request_id)
        finally:
            with self._lock:
                self._running.discard(execution_id)

    def running(self):
        """How many executions this engine is running now."""
        with self._lock:
            return len(self._running)

    def renew_leases(self):
        """Keep the leases of the executions this engine is running (periodic)."""
        with self._lock:
            running = list(self._running)
        executions_db.renew_leases(self.engine_id, running, self._lease)

    def _run(self, execution, request_id=None):
        started = time.monotonic()
        engine_side = True  # the engine, not the function, ended the attempt
        try:
            outcome, result, logs = self._execute(execution, request_id)
            engine_side = False
        except exceptions.NoWorkerAvailable as e:
            if execution.attempts < MAX_ATTEMPTS:
                LOG.info("Execution %s waits for a worker: %s", execution.id, e)
                executions_db.release(execution.id, self.engine_id)
                return None
            outcome, result, logs = status.ERROR, _result(started, e.message), ""
        except exceptions.QinlingLiteError as e:
            LOG.warning("Execution %s could not run: %s", execution.id, e)
            outcome, result, logs = _error_outcome(e), _result(started, e.message), ""
        except Exception:
            LOG.exception("Execution %s failed in the engine", execution.id)
            outcome, result, logs = status.ERROR, _result(started, "Internal service error."), ""
        follow_up = self._retry_policy.follow_up(execution, outcome, result, engine_side)
        finished_at = executions_db.finish(
            execution.id, self.engine_id, outcome, result, logs, follow_up
        )
        if finished_at is None:
            LOG.warning(
                "Execution %s was taken over or deleted; its outcome here is dropped",
                execution.id,
            )
            return None
        metrics.record_execution(
            triggers.of(execution.description),
            outcome,
            None if engine_side else result["duration"],
            execution.created_at,
        )
        LOG.info(
            "Execution %s of function %s: %s in %.3f s",
            execution.id,
            execution.function.function_id,
            outcome,
            time.monotonic() - started,
        )
        return {"status": outcome, "result": result, "updated_at": finished_at.isoformat()}

    def worker_for(self, function):
        """The FunctionSpec and package loader of a function version (a
        ``db.executions.WorkerTarget``)."""
        if not function.function_exists:
            raise exceptions.NotFound("Function", id=function.function_id)
        if function_code.is_image(function.code):
            raise exceptions.NotAllowed(
                f"Function {function.function_id} runs an image: it has no workers."
            )
        if function.function_version:
            md5 = function.version_md5
            if md5 is None:
                raise exceptions.NotFound(
                    "FunctionVersion",
                    function_id=function.function_id,
                    version_number=function.function_version,
                )
        else:
            md5 = function.code["md5sum"]
        spec = orchestrator_base.FunctionSpec(
            function_id=function.function_id,
            version=function.function_version,
            runtime_id=function.runtime_id,
            runtime_image=function.runtime_image,
            entry=function.entry,
            package_md5=md5,
            cpu=function.cpu,
            memory_size=function.memory_size,
            timeout=function.timeout,
        )

        def package():
            return self._storage.read(
                function.project_id, function.function_id, md5, function.function_version
            )

        return spec, package

    def _execute(self, execution, request_id=None):
        """Return (status, result, logs) of a worker run; raise for engine-side failures."""
        function = execution.function
        if function_code.is_image(function.code):
            return self._run_image(execution)
        if function_code.is_swift(function.code) and not function.function_version:
            function = self._current_swift_code(execution)
        spec, package = self.worker_for(function)
        positional = function_input.positional(execution.input)
        request = protocol.ExecuteRequest(
            execution_id=execution.id,
            input={} if positional else execution.input or {},
            args=[execution.input] if positional else [],
            timeout=function.timeout,
            memory_size=function.memory_size,
            cpu=function.cpu,
            context=self._worker_context(execution, request_id),
            max_result_size=self._max_result_size,
        )
        with self._orchestrator.worker(spec, package, wait=self._worker_wait) as worker:
            reply = worker.execute(request, timeout=function.timeout + WORKER_MARGIN)
        return _outcome(reply, self._max_result_size)

    def _current_swift_code(self, execution):
        """The function (a ``WorkerTarget``) with its Swift object's current package: the
        object is fetched again, as its owner through the trust, when its etag changed
        since the code recorded it, and the new code recorded."""
        function = execution.function
        if not (execution.trust_id and self._swift and self._trustee and self._trustee.enabled):
            raise exceptions.StorageError(
                f"Function {function.function_id} is in Swift, which only its owner's trust "
                "reaches: this engine has no trustee, or the function no trust."
            )
        objects = self._swift(execution.trust_id)
        try:
            code = objects.refresh(
                self._storage, function.project_id, function.function_id, function.code
            )
        except exceptions.QinlingLiteError as e:  # Swift's refusal, or a package refused
            raise exceptions.StorageError(
                f"The function's code could not be read from Swift: {e.message}"
            ) from None
        if code is None:
            return function
        LOG.info("Function %s: its Swift object changed, fetched again.", function.function_id)
        if not functions_db.replace_code(function.function_id, function.code, code):
            # Changed or deleted meanwhile: this run uses what it fetched; the package
            # stays until the function goes (the other change may use the same one).
            return function._replace(code=code)
        if code["md5sum"] != function.code["md5sum"]:
            self._storage.delete(function.project_id, function.function_id, function.code["md5sum"])
        return function._replace(code=code)

    def _run_image(self, execution):
        """(status, result, logs) of an image function's run: its input as arguments."""
        function = execution.function
        spec = orchestrator_base.ImageSpec(
            execution_id=execution.id,
            attempt=execution.attempts,
            function_id=function.function_id,
            project_id=function.project_id,
            image=function.code["image"],
            cpu=function.cpu,
            memory_size=function.memory_size,
            timeout=function.timeout,
        )
        args = function_input.as_args(execution.input)
        if not isinstance(self._orchestrator, orchestrator_base.ImageFunctions):
            raise exceptions.OrchestratorError(
                "Image functions need the Kubernetes orchestrator ([engine] orchestrator = "
                "kubernetes); this engine's orchestrator runs no images."
            )
        return _outcome(self._orchestrator.run_image(spec, args), self._max_result_size)

    def _worker_context(self, execution, request_id=None):
        """What the function gets as ``context``; ``os_auth`` when it has a trust, and
        the API request's ``request_id`` (which the runtime server logs) when there is
        one."""
        function = execution.function
        context = {
            "function_id": function.function_id,
            "project_id": function.project_id,
            "retry_attempt": execution.retry_attempt,
        }
        if request_id is not None:
            context["request_id"] = request_id
        if execution.trust_id and self._trustee is not None and self._trustee.enabled:
            context["os_auth"] = self._trustee.worker_credentials(execution.trust_id)
        return context


def _outcome(reply: protocol.ExecuteReply, max_result_size):
    """(status, result, logs) from a worker's or an image run's reply.

    An output whose JSON is over ``max_result_size`` is not kept: the execution fails, as
    the runtime server fails it (a worker of an older release, or one that lies, does
    not).
    """
    too_large = protocol.oversized_output(reply["output"], max_result_size)
    if too_large:
        return status.FAILED, {"duration": reply["duration"], "output": too_large}, reply["logs"]
    outcome = status.SUCCESS if reply["success"] else status.FAILED
    return outcome, {"duration": reply["duration"], "output": reply["output"]}, reply["logs"]


def _result(started, output):
    return {"duration": round(time.monotonic() - started, 3), "output": output}


def _error_outcome(error):
    """A worker that broke mid-run failed the function; anything else is our error."""
    return status.FAILED if isinstance(error, exceptions.WorkerError) else status.ERROR
