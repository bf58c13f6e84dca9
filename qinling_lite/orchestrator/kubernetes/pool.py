"""Runtime pools as Deployments, with the namespace and NetworkPolicies they live under."""

import time

from kubernetes.client import ApiException
from oslo_log import log as logging

from qinling_lite import exceptions
from qinling_lite.orchestrator.kubernetes import client as k8s_client
from qinling_lite.orchestrator.kubernetes import manifests

LOG = logging.getLogger(__name__)


class Pools:
    """Deployment operations in the workers' namespace."""

    def __init__(self, apis, conf):
        self._apis = apis
        self._conf = conf
        self._opts = conf.kubernetes
        self._namespace = conf.kubernetes.namespace

    def prepare_namespace(self):
        """Create the namespace if missing and apply the NetworkPolicies (when managed)."""
        try:
            self._apis.core.read_namespace(self._namespace)
        except ApiException as exc:
            if exc.status != 404:
                raise k8s_client.error(f"Reading namespace {self._namespace}", exc) from None
            _create(self._apis.core.create_namespace, manifests.namespace(self._namespace))
        if not self._opts.network_policy:
            return
        networking = self._apis.networking
        for policy in manifests.network_policies(self._opts):
            if not _create(networking.create_namespaced_network_policy, self._namespace, policy):
                _call(
                    f"Replacing NetworkPolicy {policy.metadata.name}",
                    networking.replace_namespaced_network_policy,
                    policy.metadata.name,
                    self._namespace,
                    policy,
                )

    def create(self, runtime_id, image):
        """Create the runtime's Deployment (kept if it exists) and wait until it is ready."""
        body = manifests.pool_deployment(runtime_id, image, self._conf)
        _create(self._apis.apps.create_namespaced_deployment, self._namespace, body)
        if not self._wait_rolled_out(runtime_id):
            raise exceptions.OrchestratorError(
                f"Runtime {runtime_id}: its pods were not ready within {self._opts.pool_timeout} s."
            )

    def replicas(self, runtime_id):
        """Pods the Deployment has (status.replicas); 0 if there is no Deployment."""
        deployment = self._read(runtime_id)
        return (deployment.status.replicas or 0) if deployment and deployment.status else 0

    def update(self, runtime_id, image):
        """Roll the pool out to ``image``; on timeout roll back to the previous image."""
        deployment = self._read(runtime_id)
        if deployment is None:
            raise exceptions.OrchestratorError(f"Runtime {runtime_id} has no pool.")
        previous = next(
            c.image
            for c in deployment.spec.template.spec.containers
            if c.name == manifests.CONTAINER
        )
        self._patch_image(runtime_id, image)
        if self._wait_rolled_out(runtime_id):
            LOG.info("Runtime %s rolled out to image %s.", runtime_id, image)
            return
        LOG.warning("Runtime %s: image %s did not roll out; rolling back.", runtime_id, image)
        self._patch_image(runtime_id, previous)
        rolled_back = self._wait_rolled_out(runtime_id)
        raise exceptions.OrchestratorError(
            f"Runtime {runtime_id}: image {image} was not ready within "
            f"{self._opts.pool_timeout} s; rolled back to {previous}"
            + ("." if rolled_back else ", which is not ready either.")
        )

    def delete(self, runtime_id):
        """Delete the Deployment; its ReplicaSets and pool pods go with it."""
        try:
            self._apis.apps.delete_namespaced_deployment(
                manifests.deployment_name(runtime_id),
                self._namespace,
                propagation_policy="Background",
            )
        except ApiException as exc:
            if exc.status != 404:
                raise k8s_client.error(f"Deleting the pool of runtime {runtime_id}", exc) from None

    def _read(self, runtime_id):
        try:
            return self._apis.apps.read_namespaced_deployment(
                manifests.deployment_name(runtime_id), self._namespace
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise k8s_client.error(f"Reading the pool of runtime {runtime_id}", exc) from None

    def _patch_image(self, runtime_id, image):
        _call(
            f"Updating the image of runtime {runtime_id}",
            self._apis.apps.patch_namespaced_deployment,
            manifests.deployment_name(runtime_id),
            self._namespace,
            manifests.image_patch(image),
            _content_type="application/strategic-merge-patch+json",
        )

    def _wait_rolled_out(self, runtime_id):
        """Poll until the Deployment's current template has all its replicas available."""
        deadline = time.monotonic() + self._opts.pool_timeout
        while True:
            deployment = self._read(runtime_id)
            if deployment is None:
                raise exceptions.OrchestratorError(f"Runtime {runtime_id}: its pool was deleted.")
            if _rolled_out(deployment):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(self._opts.poll_interval)


def _rolled_out(deployment):
    """What ``kubectl rollout status`` waits for."""
    status, wanted = deployment.status, deployment.spec.replicas
    if status is None or (status.observed_generation or 0) < deployment.metadata.generation:
        return False
    return (
        (status.updated_replicas or 0) == wanted
        and (status.replicas or 0) == wanted
        and (status.available_replicas or 0) == wanted
    )


def _create(method, *args):
    """Create an object; False if it already exists."""
    try:
        method(*args)
    except ApiException as exc:
        if exc.status == 409:
            return False
        raise k8s_client.error(f"Creating {type(args[-1]).__name__}", exc) from None
    return True


def _call(action, method, *args, **kwargs):
    try:
        return method(*args, **kwargs)
    except ApiException as exc:
        raise k8s_client.error(action, exc) from None
