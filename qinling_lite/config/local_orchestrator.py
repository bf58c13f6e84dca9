"""Options of the local orchestrator, [local_orchestrator]."""

from oslo_config import cfg

group = cfg.OptGroup(
    "local_orchestrator", title="Local orchestrator (sandboxed local worker processes)"
)
opts = [
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
    cfg.DictOpt(
        "runtime_environments",
        default={},
        help="Python runtimes with libraries, as image:directory pairs, e.g. "
        "python3-openstack:/var/lib/qinling-lite/runtime-environments/openstack. The "
        "workers of a runtime whose image is a key here can import the libraries of that "
        "directory, a virtualenv made with the workers' interpreter (see python) by "
        "'qinling-lite-manage runtime-environment build DIRECTORY'; its site-packages is "
        "mounted read-only into their sandbox. Workers of other images have the standard "
        "library only. Image names here cannot contain ':'. Each directory is checked "
        "when the engine starts.",
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


def register_opts(conf):
    conf.register_opts(opts, group=group)
