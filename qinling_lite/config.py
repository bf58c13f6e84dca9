"""Configuration options of qinling-lite, grouped as in the sample config."""

import copy
import os

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg
from oslo_db import options as db_options
from oslo_log import log as logging

CONF = cfg.CONF

default_opts = [
    cfg.StrOpt(
        "state_path",
        default="/var/lib/qinling-lite",
        help="Directory under which qinling-lite keeps its state (SQLite database, "
        "function packages, local worker sandboxes).",
    ),
    cfg.StrOpt(
        "qinling_endpoint",
        help="Public URL of the API, used to build webhook URLs. Defaults to the URL the "
        "request came in on.",
    ),
]

api_group = cfg.OptGroup("api", title="API server options")
api_opts = [
    cfg.BoolOpt(
        "auth_enable",
        default=True,
        help="Authenticate API calls with Keystone (keystonemiddleware, configured in "
        "[keystone_authtoken]) and act on function owners' behalf through trusts "
        "([trustee]). When false, every caller is an administrator of project 'default': "
        "for a single-user local installation only (qinling-lite-serve's default).",
    ),
    cfg.HostAddressOpt("host", default="0.0.0.0", help="Address the API listens on."),
    cfg.PortOpt("port", default=7070, help="Port the API listens on."),
    cfg.IntOpt(
        "api_workers",
        default=2,
        min=1,
        help="Number of gunicorn worker processes of qinling-lite-api.",
    ),
    cfg.IntOpt(
        "api_threads",
        default=8,
        min=1,
        help="Threads per API worker process.",
    ),
    cfg.IntOpt(
        "backlog",
        default=2048,
        min=1,
        help="Length of the API's listen queue: connections beyond it are refused while "
        "every thread is busy. The kernel caps it at net.core.somaxconn.",
    ),
    cfg.IntOpt(
        "max_connections",
        default=1000,
        min=1,
        help="Most client connections one API process holds open (qinling-lite-api: per "
        "gunicorn worker). Connections beyond it wait in the listen queue.",
    ),
    cfg.IntOpt(
        "client_idle_timeout",
        default=15,
        min=1,
        help="Seconds a client connection may stay silent, before its first request, "
        "between requests (keep-alive) or in the middle of one, before it is closed.",
    ),
    cfg.IntOpt(
        "header_timeout",
        default=10,
        min=1,
        help="Seconds from the first byte of a request to the end of its headers, "
        "however steadily they arrive (408 after that). qinling-lite-serve only; put a "
        "buffering proxy in front of qinling-lite-api.",
    ),
    cfg.IntOpt(
        "body_timeout",
        default=20,
        min=1,
        help="Seconds from the end of a request's headers to the end of its body, plus "
        "one second per body_min_rate bytes received (408 after that): a client sending "
        "at least body_min_rate bytes per second is never cut off. qinling-lite-serve "
        "only.",
    ),
    cfg.IntOpt(
        "body_min_rate",
        default=16384,
        min=1,
        help="Bytes per second that extend body_timeout by one second.",
    ),
    cfg.IntOpt(
        "max_header_size",
        default=65536,
        min=1024,
        help="Largest request line plus headers of a request, in bytes (431 above it; "
        "qinling-lite-api: the largest single header line).",
    ),
    cfg.IntOpt(
        "max_webhook_body_size",
        default=1024 * 1024,
        min=1,
        help="Largest accepted webhook invocation body, in bytes (413 above it).",
    ),
    cfg.IntOpt(
        "max_function_versions",
        default=10,
        min=1,
        help="Most versions one function may have.",
    ),
    cfg.IntOpt(
        "sync_execution_margin",
        default=10,
        min=1,
        help="Seconds a synchronous execution request waits beyond the function timeout "
        "for the engine's answer.",
    ),
]

engine_group = cfg.OptGroup("engine", title="Engine options")
engine_opts = [
    cfg.StrOpt("topic", default="qinling_lite_engine", help="RPC topic of the engines."),
    cfg.StrOpt(
        "rpc_version_cap",
        regex=r"^1\.\d+$",
        help="Newest engine RPC version qinling-lite-api sends (the versions are listed "
        "in qinling_lite/rpc/engine_api.py). Unset, the newest this release knows. For a "
        "rolling upgrade set it to the version of the oldest engine still running, upgrade "
        "the engines, then unset it: meanwhile requests that need a newer version fall "
        "back to an older way where there is one, and otherwise answer 503 without "
        "reaching an engine.",
    ),
    cfg.StrOpt(
        "host",
        default=os.uname().nodename,
        sample_default="<hostname>",
        help="Name of this engine on the RPC topic.",
    ),
    cfg.StrOpt(
        "orchestrator",
        default="local",
        help="Where function workers run: the name of an entry point of "
        "qinling_lite.orchestrators (local: sandboxed local processes; kubernetes: pods in "
        "Kubernetes, with the kubernetes extra installed).",
    ),
    cfg.IntOpt(
        "execution_threads",
        default=32,
        min=1,
        help="Threads for the executions an engine starts itself: all of them in "
        "qinling-lite-serve, those of sweeps and jobs in qinling-lite-engine (executions "
        "arriving over RPC run on oslo.messaging's executor_thread_pool_size threads).",
    ),
    cfg.IntOpt(
        "worker_wait",
        default=30,
        min=1,
        help="Seconds an execution waits for a free worker before it goes back to pending "
        "for a later attempt (in error after 5 attempts).",
    ),
    cfg.IntOpt(
        "lease_time",
        default=30,
        min=3,
        help="Seconds an engine holds an execution it runs without renewing the claim; "
        "it renews every third of that. When an engine dies, another one takes its "
        "executions over once their leases have run out.",
    ),
    cfg.IntOpt(
        "graceful_shutdown_timeout",
        default=60,
        min=0,
        help="On SIGTERM, seconds qinling-lite-engine waits for its running executions "
        "before it exits anyway (other engines then take them over).",
    ),
    cfg.IntOpt(
        "pending_sweep_interval",
        default=10,
        min=1,
        help="Seconds between sweeps that hand this engine the executions no engine "
        "runs: still pending (their dispatch was lost, e.g. the broker was down) or "
        "held under a lease that ran out (their engine died).",
    ),
    cfg.IntOpt(
        "pending_grace",
        default=30,
        min=1,
        help="Seconds an execution may stay pending before a sweep re-dispatches it.",
    ),
    cfg.IntOpt(
        "job_check_interval",
        default=3,
        min=1,
        help="Seconds between checks for jobs that are due.",
    ),
    cfg.StrOpt(
        "job_catch_up",
        default="once",
        choices=[
            ("once", "a tick missed while no engine ran fires once when one is back"),
            ("skip", "a tick missed while no engine ran is skipped"),
        ],
        help="What happens to job ticks that came while every engine was down. Either "
        "way the next tick is the first one after now: an outage never causes a burst.",
    ),
    cfg.IntOpt(
        "job_missed_after",
        default=60,
        min=1,
        help="Seconds after its time a tick counts as missed (for job_catch_up = skip).",
    ),
    cfg.IntOpt(
        "worker_idle_expiry",
        default=3600,
        min=1,
        help="Seconds after which an idle worker bound to a function is released.",
    ),
]

storage_group = cfg.OptGroup("storage", title="Function package storage")
storage_opts = [
    cfg.StrOpt(
        "provider",
        default="file_system",
        help="Package store: the name of an entry point of qinling_lite.package_stores "
        "(file_system: a directory, file_system_dir).",
    ),
    cfg.StrOpt(
        "file_system_dir",
        default="$state_path/packages",
        help="Directory of the local package store.",
    ),
    cfg.IntOpt(
        "max_package_size",
        default=50 * 1024 * 1024,
        min=1,
        help="Largest accepted function package, in bytes (413 above it).",
    ),
    cfg.IntOpt(
        "max_package_uncompressed_size",
        default=256 * 1024 * 1024,
        min=1,
        max=1024 * 1024 * 1024,
        help="Largest total of the uncompressed sizes a function package declares for "
        "its files, in bytes (413 above it), checked on function create and update and "
        "on version create. The default holds a max_package_size package of code at a "
        "usual 5:1 compression. A worker extracts it for each function it loads: local "
        "workers into their work directory of [local_orchestrator] tmpfs_size. Runtime "
        "servers extract no more than 1 GiB, whatever this says.",
    ),
    cfg.IntOpt(
        "max_package_entries",
        default=10000,
        min=1,
        max=100000,
        help="Most entries (files and directories) in a function package (400 above "
        "it). Runtime servers extract no more than 100000, whatever this says.",
    ),
    cfg.IntOpt(
        "max_package_compression_ratio",
        default=100,
        min=1,
        help="Largest compression ratio (uncompressed to compressed size) of a function "
        "package's entries of 1 MiB or more (400 above it): such an entry is a ZIP bomb.",
    ),
]

resource_limits_group = cfg.OptGroup("resource_limits", title="Function resource limits")
resource_limits_opts = [
    cfg.IntOpt("default_cpu", default=100, help="Default cpu of a function, in millicpu."),
    cfg.IntOpt("min_cpu", default=100, help="Smallest cpu of a function, in millicpu."),
    cfg.IntOpt("max_cpu", default=300, help="Largest cpu of a function, in millicpu."),
    cfg.IntOpt(
        "default_memory",
        default=32 * 1024 * 1024,
        help="Default memory of a function, in bytes.",
    ),
    cfg.IntOpt("min_memory", default=32 * 1024 * 1024, help="Smallest memory, in bytes."),
    cfg.IntOpt("max_memory", default=128 * 1024 * 1024, help="Largest memory, in bytes."),
    cfg.IntOpt("default_timeout", default=5, help="Default timeout of a function, in seconds."),
    cfg.IntOpt("min_timeout", default=1, help="Smallest timeout, in seconds."),
    cfg.IntOpt("max_timeout", default=300, help="Largest timeout, in seconds."),
    cfg.IntOpt(
        "max_result_size",
        default=1024 * 1024,
        min=1024,
        help="Largest output of an execution, in bytes of its JSON: a function returning "
        "more fails, with the output 'Function output of N bytes exceeds the limit of M "
        "bytes.' Results are kept in the database and listed with the executions.",
    ),
]

local_group = cfg.OptGroup(
    "local_orchestrator", title="Local orchestrator (sandboxed local worker processes)"
)
local_opts = [
    cfg.IntOpt(
        "pool_size",
        default=3,
        min=0,
        help="Pre-warmed, unbound workers kept per runtime.",
    ),
    cfg.IntOpt(
        "max_workers_per_function",
        default=8,
        min=1,
        help="Most workers one function version may hold at once.",
    ),
    cfg.StrOpt(
        "sandbox",
        default="auto",
        choices=[
            ("auto", "bubblewrap when it is installed and works, else plain processes"),
            ("bwrap", "always bubblewrap; a runtime fails if it cannot start"),
            ("none", "plain processes with rlimits only (development only)"),
        ],
        help="How local workers are isolated.",
    ),
    cfg.ListOpt(
        "egress_endpoints",
        default=[],
        help="URLs (scheme://host[:port]) of the OpenStack APIs that bubblewrap-sandboxed "
        "functions may call through context['os_session'], e.g. Keystone's and Swift's "
        "endpoints. A sandboxed worker has no network: the engine tunnels these, and "
        "nothing else, through a proxy on a Unix socket. Workers without a sandbox have "
        "the host's network.",
    ),
    cfg.StrOpt(
        "python",
        help="Interpreter that runs the runtime server. Defaults to the base interpreter "
        "of the running Python (outside any virtualenv).",
    ),
    cfg.StrOpt(
        "work_dir",
        default="$state_path/workers",
        help="Directory holding one private directory per local worker.",
    ),
    cfg.IntOpt(
        "worker_start_timeout",
        default=30,
        min=1,
        help="Seconds a new worker has to answer its first ping.",
    ),
    cfg.IntOpt(
        "worker_uid_start",
        default=2_000_000_000,
        min=1,
        help="When the engine runs as root, each local worker runs as an unprivileged uid "
        "(and gid) of its own, taken from worker_uid_count ids starting here. Choose a "
        "range that no account, subuid range or container manager on the host uses.",
    ),
    cfg.IntOpt(
        "worker_uid_count",
        default=65536,
        min=1,
        help="How many uids the range of worker_uid_start holds; ids are reused least "
        "recently first.",
    ),
    cfg.IntOpt(
        "max_processes",
        default=64,
        min=4,
        help="Most processes and threads a worker's sandbox may hold together, the runtime "
        "server included (a cgroup's pids.max, and RLIMIT_NPROC of the worker's uid).",
    ),
    cfg.IntOpt(
        "tmpfs_size",
        default=128 * 1024 * 1024,
        min=1024 * 1024,
        help="Size in bytes of each of a bubblewrap worker's two file systems, its work "
        "directory (which holds the function package) and /tmp. Both are in memory: with "
        "cgroups, what is written there also counts against the worker's memory limit.",
    ),
    cfg.IntOpt(
        "egress_tunnels_per_worker",
        default=8,
        min=1,
        help="Most tunnels one sandboxed worker may hold open through the egress proxy.",
    ),
    cfg.IntOpt(
        "egress_tunnels",
        default=64,
        min=1,
        help="Most tunnels the egress proxy of one engine holds open for all its workers.",
    ),
]

kubernetes_group = cfg.OptGroup(
    "kubernetes", title="Kubernetes orchestrator (pods of the runtime images)"
)
kubernetes_opts = [
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

_GROUPS = [
    (None, default_opts),
    (api_group, api_opts),
    (engine_group, engine_opts),
    (storage_group, storage_opts),
    (resource_limits_group, resource_limits_opts),
    (local_group, local_opts),
    (kubernetes_group, kubernetes_opts),
]

for _group, _opts in _GROUPS:
    CONF.register_opts(_opts, group=_group)

TRUSTEE_GROUP = "trustee"
# The trustee logs in with a password, always scoped to a trust: no project options.
_TRUSTEE_LOGIN = (
    "auth_url",
    "user_id",
    "username",
    "user_domain_id",
    "user_domain_name",
    "password",
)


def _trustee_opts():
    """The service user that function owners' trusts delegate to, and its TLS settings.

    Trusts are used when ``username`` or ``user_id`` is set (and ``[api] auth_enable``).
    """
    login = [
        copy.copy(opt) for opt in ks_loading.get_auth_plugin_conf_options("password")
        if opt.dest in _TRUSTEE_LOGIN
    ]  # fmt: skip
    for opt in login:
        opt.required = False  # trusts are optional
    return login + ks_loading.get_session_conf_options()


CONF.register_opts(_trustee_opts(), group=TRUSTEE_GROUP)

logging.register_options(CONF)
CONF.register_opts(db_options.database_opts, group="database")


def set_lib_defaults():
    """qinling-lite's defaults for library options (also shown in the sample config)."""
    # oslo.db's own defaults keep 5 connections and close the up to 50 more on return:
    # with more threads than that at the database (API threads, engine executions), a
    # process kept connecting again (PyMySQL: about 35 ms of CPU each). The same 55 at
    # most, all kept.
    cfg.set_defaults(
        db_options.database_opts,
        connection="sqlite:///$state_path/qinling-lite.sqlite",
        max_pool_size=55,
        max_overflow=0,
    )


set_lib_defaults()


def list_opts():
    """Options for oslo-config-generator, per group."""
    return [
        ("DEFAULT", default_opts),
        *[(group.name, opts) for group, opts in _GROUPS if group is not None],
        (TRUSTEE_GROUP, _trustee_opts()),
    ]


def parse_args(argv, default_config_files=None):
    """Parse the command line and config files into CONF and set up logging."""
    CONF(
        argv,
        project="qinling-lite",
        default_config_files=default_config_files,
    )
    logging.setup(CONF, "qinling-lite")
