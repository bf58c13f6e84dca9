"""The objects the orchestrator builds, and the static files shipped with it."""

import pathlib
import re

import kubernetes_validate
import pytest
import yaml
from kubernetes import client
from kubernetes_validate import utils as kubernetes_validate_utils

from qinling_lite import config
from qinling_lite.orchestrator import base
from qinling_lite.orchestrator.kubernetes import manifests
from qinling_lite.runtime import archive, server
from tests.unit.orchestrator.kubernetes import fake_api
from tests.unit.orchestrator.kubernetes.harness import validate

CONF = config.CONF
ROOT = pathlib.Path(__file__).parents[4]
MIB = 1024 * 1024


def serialize(model):
    return client.ApiClient().sanitize_for_serialization(model)


@pytest.fixture
def opts(config_fixture):
    config_fixture.config(group="kubernetes", replicas=4, worker_port=8080)
    config_fixture.config(group="resource_limits", max_cpu=500, max_memory=256 * MIB)
    return CONF.kubernetes


def test_pool_deployment(opts):
    deployment = serialize(manifests.pool_deployment("rt-1", "python:3", CONF))
    validate("deployments", deployment)
    spec = deployment["spec"]
    assert spec["replicas"] == 4
    assert spec["selector"] == {
        "matchLabels": {"qinling-lite/runtime": "rt-1"},
        "matchExpressions": [{"key": "qinling-lite/function", "operator": "DoesNotExist"}],
    }
    pod = spec["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
    }
    # Container-level resources: the largest function, plus the server's own memory.
    memory = str(256 * MIB + manifests.SERVER_MEMORY)
    assert container["resources"] == {
        "requests": {"cpu": "500m", "memory": memory},
        "limits": {"cpu": "500m", "memory": memory},
    }
    assert container["ports"] == [{"name": "http", "containerPort": 8080}]
    # The args are the runtime server's own command line.
    args = server._parse_args(container["args"])
    assert (args.host, args.port, args.workdir) == ("0.0.0.0", 8080, manifests.WORK_DIR)


def image_spec(execution_id="e1", attempt=1):
    return base.ImageSpec(
        execution_id=execution_id,
        attempt=attempt,
        function_id="f-1",
        project_id="p1",
        image="registry.example/fn:1",
        cpu=200,
        memory_size=64 * MIB,
        timeout=7,
    )


def test_image_pod(opts, config_fixture):
    config_fixture.config(group="kubernetes", image_start_timeout=60, image_function_uid=4242)
    # A long id, not a UUID: the name stays a DNS-1123 label.
    spec = image_spec(execution_id="0F" * 30, attempt=2)
    pod = serialize(manifests.image_pod(spec, ["a", "b c"], opts, "engine-1"))
    validate("pods", pod)
    name = pod["metadata"]["name"]
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name) and len(name) <= 63
    assert name.endswith("-2")
    assert pod["metadata"]["labels"]["qinling-lite/image-function"] == "f-1"
    pod_spec = pod["spec"]
    assert pod_spec["restartPolicy"] == "Never"
    assert pod_spec["activeDeadlineSeconds"] == 60 + 7 + manifests.IMAGE_DEADLINE_MARGIN
    assert pod_spec["automountServiceAccountToken"] is False
    assert pod_spec["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 4242,
        "runAsGroup": 4242,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    (container,) = pod_spec["containers"]
    assert container["args"] == ["a", "b c"]
    assert "command" not in container  # the image's ENTRYPOINT runs
    assert container["imagePullPolicy"] == "IfNotPresent"
    amounts = {"cpu": "200m", "memory": str(64 * MIB)}
    assert container["resources"] == {"requests": amounts, "limits": amounts}
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
    }


def test_pods_meet_the_restricted_pod_security_standard(opts):
    pool = serialize(manifests.pool_deployment("rt", "python:3", CONF))["spec"]["template"]
    image = serialize(manifests.image_pod(image_spec(), [], opts, "engine-1"))
    assert fake_api.restricted_violations(pool["spec"]) == []
    assert fake_api.restricted_violations(image["spec"]) == []
    image["spec"]["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True
    assert fake_api.restricted_violations(image["spec"]) == [
        'allowPrivilegeEscalation != false (container "function")'
    ]


def test_image_network_policy_allows_no_ingress(opts, config_fixture):
    config_fixture.config(
        group="kubernetes", engine_cidrs=["192.0.2.0/24"], egress_cidrs=["198.51.100.0/24"]
    )
    worker, image = (serialize(p) for p in manifests.network_policies(opts))
    validate("networkpolicies", image)
    assert image["metadata"]["name"] == manifests.IMAGE_NETWORK_POLICY
    assert image["spec"]["podSelector"] == {
        "matchExpressions": [{"key": "qinling-lite/image-function", "operator": "Exists"}]
    }
    assert image["spec"]["ingress"] == []
    assert image["spec"]["egress"] == worker["spec"]["egress"]


def test_namespace_is_restricted():
    namespace = serialize(manifests.namespace("qinling-lite"))
    validate("namespaces", namespace)
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_network_policy_denies_everything_by_default(opts):
    policy = serialize(manifests.network_policy(opts))
    validate("networkpolicies", policy)
    assert policy["spec"]["podSelector"] == {
        "matchExpressions": [{"key": "qinling-lite/runtime", "operator": "Exists"}]
    }
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert policy["spec"]["ingress"] == [] and policy["spec"]["egress"] == []


def test_network_policy_allows_engines_cidrs_and_dns(opts, config_fixture):
    config_fixture.config(
        group="kubernetes",
        engine_pod_labels={"app": "qinling-lite-engine"},
        engine_namespace_labels={"kubernetes.io/metadata.name": "openstack"},
        engine_cidrs=["192.0.2.0/24"],
        egress_cidrs=["198.51.100.0/24", "203.0.113.7/32"],
        allow_dns=True,
    )
    policy = serialize(manifests.network_policy(opts))
    validate("networkpolicies", policy)
    (ingress,) = policy["spec"]["ingress"]
    assert ingress["ports"] == [{"protocol": "TCP", "port": 8080}]
    assert ingress["from"] == [
        {"ipBlock": {"cidr": "192.0.2.0/24"}},
        {
            "podSelector": {"matchLabels": {"app": "qinling-lite-engine"}},
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "openstack"}},
        },
    ]
    cidrs, dns = policy["spec"]["egress"]
    assert [peer["ipBlock"]["cidr"] for peer in cidrs["to"]] == [
        "198.51.100.0/24",
        "203.0.113.7/32",
    ]
    assert {port["protocol"] for port in dns["ports"]} == {"UDP", "TCP"}


def test_rbac_manifests_are_valid():
    documents = list(yaml.safe_load_all((ROOT / "etc/kubernetes/engine-rbac.yaml").read_text()))
    assert {d["kind"] for d in documents} == {"Namespace", "ServiceAccount", "Role", "RoleBinding"}
    for document in documents:
        validate(document["kind"], document)


def test_the_schemas_are_read_once_per_session():
    """harness caches kubernetes-validate's schema reader; validation must go through it
    (and still refuse what the schemas refuse)."""
    reads = kubernetes_validate_utils.schema_contents.cache_info
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}
    kubernetes_validate.validate(namespace, "1.35", strict=True)
    before = reads()
    kubernetes_validate.validate(namespace, "1.35", strict=True)
    assert (reads().hits, reads().misses) == (before.hits + 2, before.misses)
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate({**namespace, "spec": {"x": 1}}, "1.35", strict=True)


def test_runtime_image_runs_the_runtime_server_of_the_repository():
    """It builds the zip application of the runtime package, as the local orchestrator
    does, and runs it."""
    dockerfile = (ROOT / "runtimes/python/Dockerfile").read_text()
    package = pathlib.Path(archive.__file__).parent.relative_to(ROOT)
    assert re.search(rf"^COPY {package}/\*\.py /build/{package}/$", dockerfile, re.M)
    build = "RUN cd /build && python3 -m qinling_lite.runtime.archive /build/runtime.pyz"
    assert re.search(rf"^{re.escape(build)}$", dockerfile, re.M)
    run = 'ENTRYPOINT ["python3", "-I", "-S", "/opt/qinling-lite/runtime.pyz"]'
    assert re.search(rf"^{re.escape(run)}$", dockerfile, re.M)
    assert re.search(r"^USER 10001:10001$", dockerfile, re.M)
    assert re.search(r"^EXPOSE 9090$", dockerfile, re.M)
