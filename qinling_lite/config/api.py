"""Options of the API server, [api]."""

from oslo_config import cfg

group = cfg.OptGroup("api", title="API server options")
opts = [
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


def register_opts(conf):
    conf.register_opts(opts, group=group)
