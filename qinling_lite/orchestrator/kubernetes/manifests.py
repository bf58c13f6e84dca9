"""The Kubernetes objects of the orchestrator, as client models."""

from kubernetes import client

RUNTIME_LABEL = "qinling-lite/runtime"
FUNCTION_LABEL = "qinling-lite/function"
VERSION_LABEL = "qinling-lite/version"
ENGINE_ANNOTATION = "qinling-lite/engine"
MANAGED_BY = {"app.kubernetes.io/managed-by": "qinling-lite"}

CONTAINER = "worker"
PORT_NAME = "http"
WORK_DIR = "/var/lib/qinling-lite/work"
# Memory of the runtime server itself, on top of what one execution may use.
SERVER_MEMORY = 64 * 1024 * 1024
SCRATCH_SIZE = "64Mi"
IDLE_TIMEOUT = 10  # seconds the runtime server keeps an idle connection open
NETWORK_POLICY = "qinling-lite-workers"
KUBE_DNS = ("kube-system", {"k8s-app": "kube-dns"})


def deployment_name(runtime_id):
    return f"runtime-{runtime_id}"


def namespace(name):
    """The workers' namespace, held to the "restricted" Pod Security Standard."""
    labels = {**MANAGED_BY, "pod-security.kubernetes.io/enforce": "restricted"}
    return client.V1Namespace(
        api_version="v1",
        kind="Namespace",
        metadata=client.V1ObjectMeta(name=name, labels=labels),
    )


def resources(cpu, memory_size):
    """Container requests and limits for ``cpu`` millicpu and ``memory_size`` bytes."""
    amounts = {"cpu": f"{cpu}m", "memory": str(memory_size + SERVER_MEMORY)}
    return client.V1ResourceRequirements(requests=amounts, limits=dict(amounts))


def pool_deployment(runtime_id, image, conf):
    """The Deployment of a runtime's pre-warmed, unbound worker pods.

    The selector excludes pods carrying the function label, so relabelling a pod for a
    function takes it out of the ReplicaSet, which then starts a replacement. Pool pods
    get the largest resources a function may ask for.
    """
    opts = conf.kubernetes
    limits = conf.resource_limits
    labels = {**MANAGED_BY, RUNTIME_LABEL: runtime_id}
    selector = client.V1LabelSelector(
        match_labels={RUNTIME_LABEL: runtime_id},
        match_expressions=[
            client.V1LabelSelectorRequirement(key=FUNCTION_LABEL, operator="DoesNotExist")
        ],
    )
    template = client.V1PodTemplateSpec(
        metadata=client.V1ObjectMeta(labels=labels),
        spec=_worker_pod_spec(image, opts, resources(limits.max_cpu, limits.max_memory)),
    )
    return client.V1Deployment(
        api_version="apps/v1",
        kind="Deployment",
        metadata=client.V1ObjectMeta(name=deployment_name(runtime_id), labels=labels),
        spec=client.V1DeploymentSpec(
            replicas=opts.replicas,
            selector=selector,
            template=template,
            strategy=client.V1DeploymentStrategy(type="RollingUpdate"),
        ),
    )


def _worker_pod_spec(image, opts, container_resources):
    """A pod running the runtime server, with no token, no privileges and no writable image."""
    container = client.V1Container(
        name=CONTAINER,
        image=image,
        image_pull_policy=opts.image_pull_policy,
        args=[
            *("--host", "0.0.0.0", "--port", str(opts.worker_port)),
            *("--workdir", WORK_DIR, "--idle-timeout", str(IDLE_TIMEOUT)),
        ],
        ports=[client.V1ContainerPort(name=PORT_NAME, container_port=opts.worker_port)],
        resources=container_resources,
        readiness_probe=client.V1Probe(
            http_get=client.V1HTTPGetAction(path="/ping", port=PORT_NAME),
            period_seconds=2,
            timeout_seconds=1,
        ),
        security_context=client.V1SecurityContext(
            allow_privilege_escalation=False,
            read_only_root_filesystem=True,
            run_as_non_root=True,
            capabilities=client.V1Capabilities(drop=["ALL"]),
        ),
        volume_mounts=[
            client.V1VolumeMount(name="work", mount_path=WORK_DIR),
            client.V1VolumeMount(name="tmp", mount_path="/tmp"),  # noqa: S108
        ],
    )
    return client.V1PodSpec(
        containers=[container],
        automount_service_account_token=False,
        enable_service_links=False,
        termination_grace_period_seconds=5,
        security_context=client.V1PodSecurityContext(
            run_as_non_root=True,
            seccomp_profile=client.V1SeccompProfile(type="RuntimeDefault"),
        ),
        volumes=[
            client.V1Volume(name="work", empty_dir=client.V1EmptyDirVolumeSource()),
            client.V1Volume(
                name="tmp", empty_dir=client.V1EmptyDirVolumeSource(size_limit=SCRATCH_SIZE)
            ),
        ],
    )


def image_patch(image):
    """Strategic merge patch setting the image of the worker container."""
    return {"spec": {"template": {"spec": {"containers": [{"name": CONTAINER, "image": image}]}}}}


def network_policy(opts):
    """Worker pods: ingress only from the engines, egress only to the allowed CIDRs."""
    engines = [
        client.V1NetworkPolicyPeer(ip_block=client.V1IPBlock(cidr=cidr))
        for cidr in opts.engine_cidrs
    ]
    if opts.engine_pod_labels or opts.engine_namespace_labels:
        engines.append(
            client.V1NetworkPolicyPeer(
                pod_selector=_selector(opts.engine_pod_labels),
                namespace_selector=_selector(opts.engine_namespace_labels),
            )
        )
    ingress = []
    if engines:
        port = client.V1NetworkPolicyPort(protocol="TCP", port=opts.worker_port)
        ingress.append(client.V1NetworkPolicyIngressRule(_from=engines, ports=[port]))
    egress = []
    if opts.egress_cidrs:
        egress.append(
            client.V1NetworkPolicyEgressRule(
                to=[
                    client.V1NetworkPolicyPeer(ip_block=client.V1IPBlock(cidr=cidr))
                    for cidr in opts.egress_cidrs
                ]
            )
        )
    if opts.allow_dns:
        dns_namespace, dns_pods = KUBE_DNS
        egress.append(
            client.V1NetworkPolicyEgressRule(
                to=[
                    client.V1NetworkPolicyPeer(
                        namespace_selector=_selector(
                            {"kubernetes.io/metadata.name": dns_namespace}
                        ),
                        pod_selector=_selector(dns_pods),
                    )
                ],
                ports=[
                    client.V1NetworkPolicyPort(protocol=protocol, port=53)
                    for protocol in ("UDP", "TCP")
                ],
            )
        )
    return client.V1NetworkPolicy(
        api_version="networking.k8s.io/v1",
        kind="NetworkPolicy",
        metadata=client.V1ObjectMeta(name=NETWORK_POLICY, labels=dict(MANAGED_BY)),
        spec=client.V1NetworkPolicySpec(
            pod_selector=client.V1LabelSelector(
                match_expressions=[
                    client.V1LabelSelectorRequirement(key=RUNTIME_LABEL, operator="Exists")
                ]
            ),
            policy_types=["Ingress", "Egress"],
            ingress=ingress,
            egress=egress,
        ),
    )


def _selector(labels):
    """A label selector matching ``labels``; None (no selector) when there are none."""
    return client.V1LabelSelector(match_labels=dict(labels)) if labels else None
