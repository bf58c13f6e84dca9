"""Configuration of qinling-lite: one module per option group, all registered in CONF."""

from oslo_config import cfg
from oslo_db import options as db_options
from oslo_log import log as logging

from qinling_lite.config import opts, trustee
from qinling_lite.config.opts import list_opts, set_lib_defaults

__all__ = ["CONF", "TRUSTEE_GROUP", "list_opts", "parse_args", "set_lib_defaults"]

CONF = cfg.CONF
TRUSTEE_GROUP = trustee.GROUP

for module in opts.MODULES:
    module.register_opts(CONF)
logging.register_options(CONF)
CONF.register_opts(db_options.database_opts, group="database")
set_lib_defaults()


def parse_args(argv, default_config_files=None):
    """Parse the command line and config files into CONF and set up logging."""
    CONF(
        argv,
        project="qinling-lite",
        default_config_files=default_config_files,
    )
    logging.setup(CONF, "qinling-lite")
