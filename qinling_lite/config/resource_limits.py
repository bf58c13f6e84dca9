"""Limits on functions' resources, [resource_limits]."""

from oslo_config import cfg

group = cfg.OptGroup("resource_limits", title="Function resource limits")
opts = [
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


def register_opts(conf):
    conf.register_opts(opts, group=group)
