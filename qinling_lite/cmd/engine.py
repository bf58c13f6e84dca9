"""``qinling-lite-engine``: an RPC server on the engine topic; run as many as needed."""

import logging as std_logging
import os
import signal
import sys
import threading
import time

from oslo_log import log as logging

from qinling_lite import config, drivers, exceptions
from qinling_lite.db import executions as executions_db
from qinling_lite.db import session as db_session
from qinling_lite.engine import service
from qinling_lite.metrics import collectors, exposition
from qinling_lite.rpc import transport

LOG = logging.getLogger(__name__)


def main(argv=None):
    conf = config.CONF
    config.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        db_session.setup()
        engine = service.EngineService(conf)
    except (exceptions.OrchestratorError, drivers.DriverError) as exc:
        # Workers cannot start here at all, or a configured driver (database,
        # orchestrator, package store) cannot load.
        sys.exit(f"qinling-lite-engine: {exc}")
    server = transport.get_server(transport.get_transport(), engine.manager)
    metrics_server = _serve_metrics(conf, engine) if conf.metrics.enabled else None
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stopping.set())
    signal.signal(signal.SIGINT, lambda signum, frame: stopping.set())
    engine.start()
    server.start()
    LOG.info("Engine %s listening on topic %s", conf.engine.host, conf.engine.topic)
    stopping.wait()
    timeout = conf.engine.graceful_shutdown_timeout
    LOG.info("Stopping: no new executions; finishing those in flight (up to %s s)", timeout)
    deadline = time.monotonic() + timeout
    engine.stop_taking_work()
    server.stop()
    waiter = threading.Thread(target=server.wait, daemon=True)
    waiter.start()
    waiter.join(timeout)
    if waiter.is_alive() or not engine.drain(max(0, deadline - time.monotonic())):
        LOG.warning("Executions still running; other engines take them over later")
        std_logging.shutdown()
        os._exit(0)  # the executor threads would keep a normal exit waiting
    engine.stop()
    if metrics_server is not None:
        metrics_server.shutdown()


def _serve_metrics(conf, engine):
    """This engine's metrics on ``[metrics] engine_host`` and ``engine_port``."""
    opts = conf.metrics
    scraped = exposition.registry(
        [
            collectors.Backlog(executions_db.list_stale),
            collectors.Workers(engine.orchestrator.worker_counts),
        ]
    )
    try:
        metrics_server = exposition.serve(opts.engine_host, opts.engine_port, scraped)
    except OSError as exc:
        engine.stop()
        sys.exit(f"qinling-lite-engine: [metrics] {opts.engine_host}:{opts.engine_port}: {exc}")
    host, port = metrics_server.server_address[:2]
    LOG.info("Engine metrics on http://%s:%s/metrics", host, port)
    return metrics_server
