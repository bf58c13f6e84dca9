"""Options of the engines, [engine]."""

import os

from oslo_config import cfg

group = cfg.OptGroup("engine", title="Engine options")
opts = [
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


def register_opts(conf):
    conf.register_opts(opts, group=group)
