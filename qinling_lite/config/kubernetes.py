"""Options of the Kubernetes orchestrator, [kubernetes]."""

from oslo_config import cfg

group = cfg.OptGroup("kubernetes", title="Kubernetes orchestrator (pods of the runtime images)")
opts = [
    cfg.StrOpt(
        "kubeconfig",
        help="Path of the kubeconfig file of the engine's service account. When unset, the "
        "engine uses the in-cluster configuration of the pod it runs in.",
    ),
    cfg.StrOpt(
        "namespace",
        default="qinling-lite",
        help="Namespace of the worker pods; created if missing.",
    ),
    cfg.IntOpt(
        "replicas",
        default=3,
        min=1,
        help="Pre-warmed, unbound worker pods kept per runtime (the Deployment's replicas).",
    ),
    cfg.PortOpt("worker_port", default=9090, help="Port of the runtime server in a worker pod."),
    cfg.IntOpt(
        "target_concurrency",
        default=1,
        min=1,
        help="Executions of a function version per worker pod before the engine takes "
        "another pod for it. A pod runs one execution at a time; above 1, executions "
        "wait in the engine for a busy pod instead of taking a new one.",
    ),
    cfg.IntOpt(
        "max_workers_per_function",
        default=8,
        min=1,
        help="Most worker pods one engine takes for one function version.",
    ),
    cfg.FloatOpt(
        "pool_timeout",
        default=600,
        min=0.1,
        help="Seconds a runtime's Deployment has to become ready, on creation and on an "
        "image update (which is rolled back after that).",
    ),
    cfg.FloatOpt(
        "poll_interval",
        default=2.0,
        min=0.01,
        help="Seconds between polls of the Kubernetes API while waiting for pods.",
    ),
    cfg.IntOpt(
        "load_timeout",
        default=30,
        min=1,
        help="Seconds a worker pod has to load a function package.",
    ),
    cfg.StrOpt(
        "image_pull_policy",
        default="IfNotPresent",
        choices=["Always", "IfNotPresent", "Never"],
        help="Pull policy of the runtime images and of the images of image functions. "
        "Always keeps a project from running another project's private image from a "
        "node's cache.",
    ),
    cfg.IntOpt(
        "image_start_timeout",
        default=120,
        min=1,
        help="Seconds the pod of an image function's execution has to start its container "
        "(scheduling and pulling the image) before the execution ends in error. The "
        "function's timeout counts from the container's start.",
    ),
    cfg.IntOpt(
        "image_function_uid",
        default=65534,
        min=1,
        help="User and group id the containers of image functions run as, whatever the "
        "USER of their image: the workers' namespace enforces the restricted Pod Security "
        "Standard, which forbids root.",
    ),
    cfg.BoolOpt(
        "network_policy",
        default=True,
        help="Manage the NetworkPolicy that isolates worker pods (see the options below).",
    ),
    cfg.DictOpt(
        "engine_pod_labels",
        default={},
        help="Labels of the engine pods, the only pods allowed to reach the workers "
        "(e.g. app:qinling-lite-engine). Combined with engine_namespace_labels.",
    ),
    cfg.DictOpt(
        "engine_namespace_labels",
        default={},
        help="Labels of the namespaces the engine pods run in; empty with "
        "engine_pod_labels set means the workers' namespace.",
    ),
    cfg.ListOpt(
        "engine_cidrs",
        default=[],
        help="CIDRs the engines connect from, when they run outside the cluster's pod "
        "network. With no engine labels and no CIDRs, no ingress is allowed.",
    ),
    cfg.ListOpt(
        "egress_cidrs",
        default=[],
        help="CIDRs worker pods may connect to. Empty: none.",
    ),
    cfg.BoolOpt(
        "allow_dns",
        default=False,
        help="Let worker pods query the cluster DNS (kube-system, port 53).",
    ),
]


def register_opts(conf):
    conf.register_opts(opts, group=group)
