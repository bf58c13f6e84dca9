"""Asynchronous executions: their backlog and the retries of failed ones, [execution]."""

from oslo_config import cfg

group = cfg.OptGroup("execution", title="Asynchronous executions: backlog and retries")
opts = [
    cfg.IntOpt(
        "max_pending_executions",
        default=10000,
        min=0,
        help="Most pending executions (recorded, not yet running: all projects and "
        "functions) before a new asynchronous one is refused: a webhook invocation or "
        "POST /v1/executions with sync=false then answers 503 with Retry-After and "
        "records nothing. It bounds the backlog an alarm storm or a flood leaves, and "
        "the time its last execution waits, while never refusing a normal load: the "
        "default holds minutes of a busy deployment's arrivals. Admission counts up to "
        "this many rows of an index on each such request, so keep it within tens of "
        "thousands. Concurrent requests may overshoot it by as many as are admitted at "
        "once (API threads across processes). Job runs, retries and dead-letter "
        "executions are never refused, but count. 0: no limit.",
    ),
    cfg.IntOpt(
        "max_pending_per_function",
        default=2000,
        min=0,
        help="Most pending executions of one function (all its versions) before a new "
        "asynchronous one of it is refused with 429 and Retry-After (nothing recorded), "
        "so that one function's flood cannot fill max_pending_executions alone. Size it "
        "above the largest burst one function receives (e.g. the alarms one Aodh "
        "evaluation fires at its webhook) minus what its workers run meanwhile. 0: no "
        "limit.",
    ),
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
