"""``qinling-lite-engine``: an RPC server on the engine topic; run as many as needed."""

import logging as std_logging
import os
import signal
import sys
import threading
import time

from oslo_log import log as logging

from qinling_lite import config, drivers, exceptions
from qinling_lite.db import session as db_session
from qinling_lite.engine import service
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
