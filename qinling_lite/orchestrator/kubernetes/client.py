"""Connection to the Kubernetes API: a kubeconfig file or the pod's in-cluster account."""

# The API classes load lazily and take a second of CPU: not for an annotation at import.
from __future__ import annotations

import dataclasses
import json

from kubernetes import client, config
from kubernetes.client import ApiException

from qinling_lite import exceptions


@dataclasses.dataclass(frozen=True)
class Apis:
    """The API groups the orchestrator uses, over one connection pool."""

    api_client: client.ApiClient
    core: client.CoreV1Api
    apps: client.AppsV1Api
    networking: client.NetworkingV1Api

    def close(self):
        self.api_client.close()


def connect(opts, max_connections):
    """Apis for ``[kubernetes] kubeconfig``, or in-cluster when it is unset, keeping up to
    ``max_connections`` connections (the client's default, 5 per CPU, is fewer than an
    engine's execution threads: the rest would reconnect for every call)."""
    configuration = client.Configuration()
    configuration.connection_pool_maxsize = max(
        configuration.connection_pool_maxsize, max_connections
    )
    if opts.kubeconfig:
        config.load_kube_config(
            config_file=opts.kubeconfig, client_configuration=configuration, persist_config=False
        )
    else:
        config.load_incluster_config(client_configuration=configuration)
    api_client = client.ApiClient(configuration)
    return Apis(
        api_client=api_client,
        core=client.CoreV1Api(api_client),
        apps=client.AppsV1Api(api_client),
        networking=client.NetworkingV1Api(api_client),
    )


def error(action, exc):
    """OrchestratorError for an ApiException raised while doing ``action``, with the
    message of the API server's Status, if any (e.g. why admission refused a pod)."""
    try:
        detail = json.loads(exc.body).get("message")
    except (TypeError, ValueError, AttributeError):
        detail = None
    suffix = f": {detail}" if detail else ""
    return exceptions.OrchestratorError(f"{action} failed: HTTP {exc.status} {exc.reason}{suffix}")


def check(opts, timeout=10):
    """Read one pod of ``[kubernetes] namespace`` with the configured account: the API
    server answers and the account may read there. OrchestratorError saying why not."""
    try:
        apis = connect(opts, 1)
    except config.ConfigException as exc:
        source = f"[kubernetes] kubeconfig {opts.kubeconfig}" if opts.kubeconfig else "in-cluster"
        raise exceptions.OrchestratorError(f"No Kubernetes credentials ({source}): {exc}") from exc
    try:
        apis.core.list_namespaced_pod(opts.namespace, limit=1, _request_timeout=timeout)
    except ApiException as exc:
        raise error(f"Listing the pods of namespace {opts.namespace}", exc) from exc
    finally:
        apis.close()
