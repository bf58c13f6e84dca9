"""Options of the [DEFAULT] group."""

from oslo_config import cfg

opts = [
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


def register_opts(conf):
    conf.register_opts(opts)
