"""Pods: finding free worker pods, taking one for a function, listing, deleting them."""

import random

from kubernetes.client import ApiException

from qinling_lite import exceptions
from qinling_lite.orchestrator.kubernetes import client as k8s_client
from qinling_lite.orchestrator.kubernetes import manifests

MERGE_PATCH = "application/strategic-merge-patch+json"


def selector(**labels):
    """A label selector string; a value of None means "label absent"."""
    return ",".join(
        f"!{key}" if value is None else f"{key}={value}" for key, value in labels.items()
    )


def function_selector(function_id, version=None):
    labels = {manifests.FUNCTION_LABEL: function_id}
    if version is not None:
        labels[manifests.VERSION_LABEL] = str(version)
    return selector(**labels)


def runtime_selector(runtime_id):
    return selector(**{manifests.RUNTIME_LABEL: runtime_id})


def is_ready(pod):
    """Running, not being deleted, with an IP and a Ready condition."""
    status = pod.status
    if pod.metadata.deletion_timestamp or not status or status.phase != "Running":
        return False
    if not status.pod_ip:
        return False
    return any(c.type == "Ready" and c.status == "True" for c in status.conditions or [])


def address(pod):
    """(pod IP, port of the worker container's named port)."""
    for container in pod.spec.containers:
        if container.name == manifests.CONTAINER:
            for port in container.ports or []:
                if port.name == manifests.PORT_NAME:
                    return pod.status.pod_ip, port.container_port
    raise exceptions.OrchestratorError(
        f"Pod {pod.metadata.name} has no {manifests.PORT_NAME} port."
    )


class Pods:
    """Pod operations in the workers' namespace."""

    def __init__(self, core, namespace):
        self._core = core
        self._namespace = namespace

    def free(self, runtime_id):
        """The runtime's ready pool pods, in random order (engines pick different ones)."""
        pods = self._list(
            selector(**{manifests.RUNTIME_LABEL: runtime_id, manifests.FUNCTION_LABEL: None})
        )
        ready = [pod for pod in pods if is_ready(pod)]
        random.shuffle(ready)
        return ready

    def bound(self, label_selector):
        """Pods bound to functions that match ``label_selector``."""
        return [
            pod
            for pod in self._list(label_selector)
            if manifests.FUNCTION_LABEL in (pod.metadata.labels or {})
            and not pod.metadata.deletion_timestamp
        ]

    def image_pods(self):
        """Pods of image functions, of every engine."""
        return self._list(manifests.IMAGE_FUNCTION_LABEL)

    def take(self, pod, spec, engine):
        """Relabel a pool pod for ``spec``; the patched pod, or None if someone was faster.

        The patch carries the pod's resourceVersion: the API server refuses it with 409
        Conflict if the pod changed since it was listed, e.g. another engine took it.
        """
        patch = {
            "metadata": {
                "resourceVersion": pod.metadata.resource_version,
                "labels": {
                    manifests.FUNCTION_LABEL: spec.function_id,
                    manifests.VERSION_LABEL: str(spec.version),
                },
                "annotations": {manifests.ENGINE_ANNOTATION: engine},
            }
        }
        try:
            return self._core.patch_namespaced_pod(
                pod.metadata.name, self._namespace, patch, _content_type=MERGE_PATCH
            )
        except ApiException as exc:
            if exc.status in (404, 409):
                return None
            raise k8s_client.error(f"Taking pod {pod.metadata.name}", exc) from None

    def delete(self, name):
        try:
            self._core.delete_namespaced_pod(name, self._namespace)
        except ApiException as exc:
            if exc.status != 404:
                raise k8s_client.error(f"Deleting pod {name}", exc) from None

    def delete_all(self, label_selector):
        try:
            self._core.delete_collection_namespaced_pod(
                self._namespace, label_selector=label_selector
            )
        except ApiException as exc:
            raise k8s_client.error(f"Deleting pods {label_selector}", exc) from None

    def _list(self, label_selector):
        try:
            return self._core.list_namespaced_pod(
                self._namespace, label_selector=label_selector
            ).items
        except ApiException as exc:
            raise k8s_client.error(f"Listing pods {label_selector}", exc) from None
