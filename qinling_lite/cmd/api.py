"""``qinling-lite-api``: the WSGI application under gunicorn, reaching engines over RPC."""

import os
import sys

from gunicorn.app import base

from qinling_lite import config, drivers, orchestrator, storage
from qinling_lite.metrics import multiproc

# gunicorn refuses a longer limit_request_line.
MAX_REQUEST_LINE = 8190


class _Gunicorn(base.BaseApplication):
    def __init__(self, options):
        self._options = options
        super().__init__()

    def load_config(self):
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self):
        from qinling_lite.api import wsgi  # imported in each worker: it reads the config

        return wsgi.application


def main(argv=None):
    conf = config.CONF
    config.parse_args(sys.argv[1:] if argv is None else argv)
    try:  # the drivers the API uses must load, before any worker tries
        orchestrator.orchestrator_class(conf)
        storage.store_class(conf)
    except drivers.DriverError as exc:
        sys.exit(f"qinling-lite-api: {exc}")
    if conf.config_file:
        os.environ["QINLING_LITE_CONFIG_FILE"] = conf.config_file[-1]
    if conf.metrics.enabled:  # before the workers import prometheus_client
        try:
            multiproc.prepare(conf.metrics.multiprocess_dir)
        except OSError as exc:
            sys.exit(f"qinling-lite-api: [metrics] multiprocess_dir: {exc}")
    _Gunicorn(
        {
            "bind": f"{conf.api.host}:{conf.api.port}",
            "workers": conf.api.api_workers,
            "threads": conf.api.api_threads,
            "worker_class": "gthread",
            # gthread reads a request in a worker thread: against slow clients, a
            # buffering proxy in front (see doc/source/install.rst); these bound the rest.
            "backlog": conf.api.backlog,
            "worker_connections": conf.api.max_connections,
            "keepalive": conf.api.client_idle_timeout,
            "limit_request_line": min(conf.api.max_header_size, MAX_REQUEST_LINE),
            "limit_request_field_size": conf.api.max_header_size,
            "control_socket_disable": True,
            "proc_name": "qinling-lite-api",
        }
    ).run()
