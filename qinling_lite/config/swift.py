"""Options of Swift-sourced functions, [swift]."""

from oslo_config import cfg

group = cfg.OptGroup("swift", title="Swift-sourced functions (code.source swift)")
opts = [
    cfg.StrOpt(
        "interface",
        default="public",
        choices=["public", "internal", "admin"],
        help="Interface of the object-store endpoint, in the caller's or the function "
        "owner's service catalog, through which the API checks, fetches and streams "
        "Swift-sourced functions and the engine fetches them.",
    ),
    cfg.StrOpt(
        "region_name",
        help="Region of that endpoint; any region when unset.",
    ),
]


def register_opts(conf):
    conf.register_opts(opts, group=group)
