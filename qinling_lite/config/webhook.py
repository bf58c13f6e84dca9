"""Options of webhook invocations, [webhook]."""

from oslo_config import cfg

group = cfg.OptGroup("webhook", title="Webhook invocations")
opts = [
    cfg.BoolOpt(
        "require_auth",
        default=False,
        help="Refuse anonymous webhooks, as Watcher's [api] enable_webhooks_auth does: "
        "every invocation must then authenticate with a Keystone token (auth 'token') or "
        "a signature (auth 'hmac'). Invoking a webhook whose auth is 'none' answers 401 "
        "and records nothing, and creating one, or updating one to 'none', answers 400. "
        "False keeps Qinling's behaviour: the webhook URL is the only secret. "
        "'qinling-lite-status upgrade check' lists the webhooks that turning it on "
        "would lock out.",
    ),
    cfg.IntOpt(
        "max_sync_invocations",
        default=4,
        min=1,
        help="Most invocations of synchronous webhooks one API process waits for at once; "
        "one more answers 503 with Retry-After and runs nothing. Each one holds an "
        "API thread for up to the function's timeout plus [api] sync_execution_margin: "
        "keep it below [api] api_threads, so that other requests still find a thread.",
    ),
]


def register_opts(conf):
    conf.register_opts(opts, group=group)
