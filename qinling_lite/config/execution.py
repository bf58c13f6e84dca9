"""Retries of failed asynchronous executions, [execution]."""

from oslo_config import cfg

group = cfg.OptGroup("execution", title="Execution retry options")
opts = [
    cfg.IntOpt(
        "default_retry_attempts",
        default=0,
        min=0,
        help="Retries of a failed asynchronous execution (webhook, job, or API with "
        "sync=false) of a function whose retry_attempts is null. 0 keeps Qinling's "
        "behaviour: a failed execution is final. Sync executions never retry.",
    ),
    cfg.IntOpt(
        "max_retry_attempts",
        default=5,
        min=0,
        help="Most retries a function may ask for (its retry_attempts); more is refused "
        "with 400. Lowering it also caps the functions that asked for more.",
    ),
    cfg.FloatOpt(
        "retry_backoff_base",
        default=10.0,
        min=0,
        help="Seconds of backoff before the first retry. Retry n waits a random time "
        "between half and all of min(retry_backoff_max, retry_backoff_base * 2 ** (n - 1)) "
        "after the previous attempt ended (full jitter, halved).",
    ),
    cfg.FloatOpt(
        "retry_backoff_max",
        default=300.0,
        min=0,
        help="Longest backoff before a retry, in seconds.",
    ),
    cfg.FloatOpt(
        "retry_check_interval",
        default=1.0,
        min=0.1,
        help="Seconds between an engine's checks for retries whose backoff is over; any "
        "engine runs a due retry, a claim keeps it to one.",
    ),
]


def register_opts(conf):
    conf.register_opts(opts, group=group)
