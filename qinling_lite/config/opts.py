"""The oslo.config entry points: options per group, and library defaults."""

from oslo_config import cfg
from oslo_db import options as db_options

from qinling_lite.config import (
    api,
    default,
    engine,
    execution,
    kubernetes,
    local_orchestrator,
    metrics,
    resource_limits,
    storage,
    swift,
    trustee,
    webhook,
)

# The groups with an OptGroup of their own, in the sample config's order.
_GROUP_MODULES = (
    api,
    engine,
    execution,
    storage,
    swift,
    resource_limits,
    local_orchestrator,
    kubernetes,
    webhook,
    metrics,
)
# Every module of options, in that order: [DEFAULT], those groups, then the trustee's.
MODULES = (default, *_GROUP_MODULES, trustee)


def list_opts():
    """Options for oslo-config-generator, per group."""
    return [
        ("DEFAULT", default.opts),
        *[(module.group.name, module.opts) for module in _GROUP_MODULES],
        (trustee.GROUP, trustee.list_opts()),
    ]


def set_lib_defaults():
    """qinling-lite's defaults for library options (also shown in the sample config)."""
    # oslo.db's own defaults keep 5 connections and close the up to 50 more on return:
    # with more threads than that at the database (API threads, engine executions), a
    # process kept connecting again (PyMySQL: about 35 ms of CPU each). The same 55 at
    # most, all kept.
    cfg.set_defaults(
        db_options.database_opts,
        connection="sqlite:///$state_path/qinling-lite.sqlite",
        max_pool_size=55,
        max_overflow=0,
    )
