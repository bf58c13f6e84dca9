"""The Kubernetes objects of the orchestrator, as client models."""

import re

from kubernetes import client

RUNTIME_LABEL = "qinling-lite/runtime"
FUNCTION_LABEL = "qinling-lite/function"
VERSION_LABEL = "qinling-lite/version"
# Pods of image functions: the function id, and the execution the pod runs.
IMAGE_FUNCTION_LABEL = "qinling-lite/image-function"
EXECUTION_LABEL = "qinling-lite/execution"
ENGINE_ANNOTATION = "qinling-lite/engine"
MANAGED_BY = {"app.kubernetes.io/managed-by": "qinling-lite"}

CONTAINER = "worker"
PORT_NAME = "http"
WORK_DIR = "/var/lib/qinling-lite/work"
# Memory of the runtime server itself, on top of what one execution may use.
SERVER_MEMORY = 64 * 1024 * 1024
SCRATCH_SIZE = "64Mi"
_TMP_MOUNT = client.V1VolumeMount(name="tmp", mount_path="/tmp")  # noqa: S108
IDLE_TIMEOUT = 10  # seconds the runtime server keeps an idle connection open
NETWORK_POLICY = "qinling-lite-workers"
IMAGE_NETWORK_POLICY = "qinling-lite-image-functions"
IMAGE_CONTAINER = "function"
# Seconds Kubernetes lets an image function's pod live beyond its start and run time
# before killing it: only for pods whose engine is gone, the engine deletes it earlier.
IMAGE_DEADLINE_MARGIN = 30
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


def resources(cpu, memory):
    """Container requests equal to limits (Guaranteed QoS): ``cpu`` millicpu, ``memory`` bytes."""
    amounts = {"cpu": f"{cpu}m", "memory": str(memory)}
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
        spec=_worker_pod_spec(
            image, opts, resources(limits.max_cpu, limits.max_memory + SERVER_MEMORY)
        ),
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
        security_context=_container_security(),
        volume_mounts=[client.V1VolumeMount(name="work", mount_path=WORK_DIR), _TMP_MOUNT],
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
        volumes=[client.V1Volume(name="work", empty_dir=client.V1EmptyDirVolumeSource()), _tmp()],
    )


def _tmp():
    """The scratch volume mounted at /tmp (the root file system is read-only)."""
    return client.V1Volume(
        name="tmp", empty_dir=client.V1EmptyDirVolumeSource(size_limit=SCRATCH_SIZE)
    )


def _container_security():
    """No privilege escalation, no capabilities, a read-only root file system, not root."""
    return client.V1SecurityContext(
        allow_privilege_escalation=False,
        read_only_root_filesystem=True,
        run_as_non_root=True,
        capabilities=client.V1Capabilities(drop=["ALL"]),
    )


def image_pod_name(spec):
    """``image-<execution id>-<attempt>``: one pod per attempt, a DNS-1123 name of at
    most 63 characters."""
    execution = re.sub(r"[^a-z0-9-]", "-", spec.execution_id.lower())[:48]
    return f"image-{execution}-{spec.attempt}"


def image_deadline(spec, opts):
    """``activeDeadlineSeconds`` of an image function's pod: its start and run time."""
    return opts.image_start_timeout + spec.timeout + IMAGE_DEADLINE_MARGIN


def image_pod(spec, args, opts, engine):
    """The pod running one execution of an image function (a ``base.ImageSpec``) once.

    ``args`` replace the image's CMD (its ENTRYPOINT stays). Requests equal limits: the
    function's cpu and memory. The container runs as ``image_function_uid`` with no
    privileges and a read-only image (scratch space in /tmp), and no service account
    token. Kubernetes kills it at its deadline even if its engine is gone.
    """
    labels = {
        **MANAGED_BY,
        IMAGE_FUNCTION_LABEL: spec.function_id,
        EXECUTION_LABEL: spec.execution_id,
    }
    container = client.V1Container(
        name=IMAGE_CONTAINER,
        image=spec.image,
        image_pull_policy=opts.image_pull_policy,
        args=list(args),
        resources=resources(spec.cpu, spec.memory_size),
        security_context=_container_security(),
        volume_mounts=[_TMP_MOUNT],
    )
    uid = opts.image_function_uid
    return client.V1Pod(
        api_version="v1",
        kind="Pod",
        metadata=client.V1ObjectMeta(
            name=image_pod_name(spec),
            labels=labels,
            annotations={ENGINE_ANNOTATION: engine},
        ),
        spec=client.V1PodSpec(
            containers=[container],
            restart_policy="Never",
            active_deadline_seconds=image_deadline(spec, opts),
            automount_service_account_token=False,
            enable_service_links=False,
            termination_grace_period_seconds=1,
            security_context=client.V1PodSecurityContext(
                run_as_non_root=True,
                run_as_user=uid,
                run_as_group=uid,
                seccomp_profile=client.V1SeccompProfile(type="RuntimeDefault"),
            ),
            volumes=[_tmp()],
        ),
    )


def image_patch(image):
    """Strategic merge patch setting the image of the worker container."""
    return {"spec": {"template": {"spec": {"containers": [{"name": CONTAINER, "image": image}]}}}}


def network_policies(opts):
    """The NetworkPolicies of the workers' namespace."""
    return [network_policy(opts), image_network_policy(opts)]


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
    return _network_policy(NETWORK_POLICY, RUNTIME_LABEL, ingress, _egress(opts))


def image_network_policy(opts):
    """Pods of image functions: no ingress at all (nothing connects to them), egress as
    for worker pods."""
    return _network_policy(IMAGE_NETWORK_POLICY, IMAGE_FUNCTION_LABEL, [], _egress(opts))


def _egress(opts):
    """Egress rules: the allowed CIDRs, and the cluster DNS when allowed."""
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
    return egress


def _network_policy(name, label, ingress, egress):
    """A policy for the pods carrying ``label``, allowing only ``ingress`` and ``egress``."""
    return client.V1NetworkPolicy(
        api_version="networking.k8s.io/v1",
        kind="NetworkPolicy",
        metadata=client.V1ObjectMeta(name=name, labels=dict(MANAGED_BY)),
        spec=client.V1NetworkPolicySpec(
            pod_selector=client.V1LabelSelector(
                match_expressions=[client.V1LabelSelectorRequirement(key=label, operator="Exists")]
            ),
            policy_types=["Ingress", "Egress"],
            ingress=ingress,
            egress=egress,
        ),
    )


def _selector(labels):
    """A label selector matching ``labels``; None (no selector) when there are none."""
    return client.V1LabelSelector(match_labels=dict(labels)) if labels else None
