"""Image functions: a pod per execution, run once, watched until it ends, then deleted.

A bare Pod rather than a batch/v1 Job: a Job's controller retries failed pods
(``backoffLimit``) and keeps finished ones, while an execution runs once (running it
again is the engine's decision, through the execution's claim, and gets a pod of its
own, named after the attempt) and its engine waits for it anyway. The engine polls the
pod every ``poll_interval`` seconds, reads its log when it ends and deletes it, whatever
the outcome. Kubernetes kills a pod at its ``activeDeadlineSeconds`` even when its
engine is gone, and ``expire`` deletes what such an engine left behind.
"""

import datetime
import threading
import time

from kubernetes.client import ApiException
from oslo_log import log as logging

from qinling_lite import exceptions
from qinling_lite.orchestrator.kubernetes import client as k8s_client
from qinling_lite.orchestrator.kubernetes import manifests
from qinling_lite.runtime import protocol

LOG = logging.getLogger(__name__)

# Waiting reasons of a container that will not start by itself.
UNRUNNABLE = frozenset(
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "ErrImageNeverPull",
        "CreateContainerConfigError",
        "CreateContainerError",
    }
)
ENDED = ("Succeeded", "Failed")
MAX_LOG_BYTES = protocol.MAX_LOG_BYTES  # as much as a runtime server keeps of a log
# Seconds past its deadline after which any engine deletes an image function's pod.
LEFTOVER_GRACE = 60


class ImagePods:
    """The pods of the image function executions of one engine."""

    def __init__(self, core, pods, opts, engine):
        self._core = core
        self._pods = pods
        self._opts = opts
        self._engine = engine
        self._lock = threading.Lock()
        self._running = set()  # names of the pods of the executions running here

    def run(self, spec, args) -> protocol.ExecuteReply:
        """Run ``spec`` (a ``base.ImageSpec``) once; see ``Orchestrator.run_image``."""
        body = manifests.image_pod(spec, args, self._opts, self._engine)
        name = body.metadata.name
        with self._lock:
            self._running.add(name)  # before the pod exists: expire must not see an orphan
        try:
            self._create(body)
            return self._wait(name, spec)
        finally:
            self._delete(name)

    def expire(self):
        """Delete this engine's pods that it no longer runs (it restarted), and any
        engine's pods past their deadline (their engine is gone)."""
        now = datetime.datetime.now(datetime.UTC)
        for pod in self._pods.image_pods():
            name = pod.metadata.name
            with self._lock:
                if name in self._running or pod.metadata.deletion_timestamp:
                    continue
            engine = (pod.metadata.annotations or {}).get(manifests.ENGINE_ANNOTATION)
            age = (now - pod.metadata.creation_timestamp).total_seconds()
            lifetime = (pod.spec.active_deadline_seconds or 0) + LEFTOVER_GRACE
            if engine == self._engine or age > lifetime:
                LOG.info("Deleting pod %s, left over by engine %s.", name, engine)
                self._delete(name)

    def stop(self):
        """Delete the pods of the executions running here (they end in error)."""
        with self._lock:
            names = list(self._running)
        for name in names:
            self._delete(name)

    def _wait(self, name, spec):
        """Poll the pod until it ends, fails to start or runs out of time."""
        start_by = time.monotonic() + self._opts.image_start_timeout
        started = None  # when the container was first seen started
        while True:
            pod = self._read(name)
            state = _state(pod)
            now = time.monotonic()
            if started is None and state and (state.running or state.terminated):
                started = now
            if pod.status and pod.status.phase in ENDED:
                if pod.status.reason == "DeadlineExceeded":
                    return self._timed_out(name, spec)
                return _ended(pod, state, self._log(name), now - (started or now))
            waiting = state.waiting if state else None
            if waiting and waiting.reason in UNRUNNABLE:
                raise exceptions.OrchestratorError(
                    f"Image {spec.image} cannot run: {_reason(waiting)}"
                )
            if started is None and now >= start_by:
                raise exceptions.OrchestratorError(
                    f"The container of image {spec.image} did not start within "
                    f"{self._opts.image_start_timeout} s: {_pending(pod, waiting)}"
                )
            if started is not None and now >= started + spec.timeout:
                return self._timed_out(name, spec)
            until = start_by if started is None else started + spec.timeout
            time.sleep(max(0.0, min(self._opts.poll_interval, until - now)))

    def _timed_out(self, name, spec):
        LOG.info("Pod %s ran out of time (%s s).", name, spec.timeout)
        return protocol.ExecuteReply(
            success=False,
            output=protocol.TIMEOUT_OUTPUT,
            duration=spec.timeout,
            logs=self._log(name),
        )

    def _create(self, body):
        try:
            self._core.create_namespaced_pod(self._opts.namespace, body)
        except ApiException as exc:
            raise k8s_client.error(f"Creating pod {body.metadata.name}", exc) from None

    def _read(self, name):
        try:
            return self._core.read_namespaced_pod(name, self._opts.namespace)
        except ApiException as exc:
            if exc.status == 404:
                raise exceptions.OrchestratorError(
                    f"Pod {name} was deleted before it ended."
                ) from None
            raise k8s_client.error(f"Reading pod {name}", exc) from None

    def _log(self, name):
        """The container's log, up to MAX_LOG_BYTES; empty if there is none (yet)."""
        try:
            response = self._core.read_namespaced_pod_log(
                name,
                self._opts.namespace,
                container=manifests.IMAGE_CONTAINER,
                limit_bytes=MAX_LOG_BYTES + 1,
                _preload_content=False,  # raw bytes: the client would parse JSON text
            )
        except ApiException as exc:
            LOG.warning("No log from pod %s: HTTP %s %s", name, exc.status, exc.reason)
            return ""
        try:
            data = response.data
        finally:
            response.release_conn()
        text = data[:MAX_LOG_BYTES].decode("utf-8", errors="replace")
        return text + protocol.LOG_TRUNCATED if len(data) > MAX_LOG_BYTES else text

    def _delete(self, name):
        try:
            self._pods.delete(name)
        except exceptions.OrchestratorError as exc:
            LOG.warning("%s", exc)
        with self._lock:
            self._running.discard(name)


def _state(pod):
    """The state of the function's container, or None before it has one."""
    for container in (pod.status and pod.status.container_statuses) or []:
        if container.name == manifests.IMAGE_CONTAINER:
            return container.state
    return None


def _reason(waiting):
    return f"{waiting.reason}: {waiting.message}" if waiting.message else waiting.reason


def _pending(pod, waiting):
    """Why a pod has not started: its container's waiting reason, or a pod condition
    that is not met (e.g. PodScheduled: Unschedulable)."""
    if waiting:
        return _reason(waiting)
    for condition in (pod.status and pod.status.conditions) or []:
        if condition.status == "False" and condition.reason:
            detail = f": {condition.message}" if condition.message else ""
            return f"{condition.type} {condition.reason}{detail}"
    return "no reason given"


def _ended(pod, state, logs, observed):
    """The outcome of a pod that ran to its end; ``observed`` is the run time the engine
    saw, for a pod that reports none."""
    terminated = state.terminated if state else None
    if terminated and terminated.started_at and terminated.finished_at:
        duration = (terminated.finished_at - terminated.started_at).total_seconds()
    else:
        duration = round(observed, 3)
    if pod.status.phase == "Succeeded":
        return protocol.ExecuteReply(success=True, output=None, duration=duration, logs=logs)
    output = _failure(pod, terminated)
    return protocol.ExecuteReply(success=False, output=output, duration=duration, logs=logs)


def _failure(pod, terminated):
    """Why the pod failed, as the execution's output."""
    if terminated is None:
        reason = pod.status.reason or "unknown reason"
        message = f": {pod.status.message}" if pod.status.message else ""
        return f"The pod failed ({reason}){message}."
    if terminated.reason == "OOMKilled":
        return protocol.RESOURCE_OUTPUT
    if terminated.message:  # what the container wrote to its termination log
        return terminated.message.strip()
    return f"Exit code {terminated.exit_code}."
