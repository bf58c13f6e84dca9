"""Options of the Prometheus metrics, [metrics]."""

from oslo_config import cfg

group = cfg.OptGroup("metrics", title="Prometheus metrics")
opts = [
    cfg.BoolOpt(
        "enabled",
        default=False,
        help="Expose Prometheus metrics: GET /metrics on the API (qinling-lite-serve, "
        "qinling-lite-api), without authentication, and an HTTP port of its own on each "
        "qinling-lite-engine (engine_host, engine_port). The metrics carry no project or "
        "function ids, but runtime ids and execution counts: keep /metrics away from "
        "the public, e.g. at the load balancer.",
    ),
    cfg.HostAddressOpt(
        "engine_host",
        default="127.0.0.1",
        help="Address qinling-lite-engine serves its metrics on.",
    ),
    cfg.PortOpt(
        "engine_port",
        default=9180,
        help="Port qinling-lite-engine serves its metrics on (any path answers). Engines "
        "on one host each need their own. 0: a free port, written to the engine's log.",
    ),
    cfg.StrOpt(
        "multiprocess_dir",
        default="$state_path/metrics",
        help="Directory where the worker processes of qinling-lite-api write their "
        "metrics, so that /metrics, answered by one of them, shows the sum "
        "(prometheus-client's multiprocess mode). Emptied when qinling-lite-api starts; "
        "must not be shared with another qinling-lite-api.",
    ),
]


def register_opts(conf):
    conf.register_opts(opts, group=group)
