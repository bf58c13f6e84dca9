"""WSGI entry point for gunicorn, uWSGI or mod_wsgi: ``qinling_lite.api.wsgi:application``.

The config file comes from ``QINLING_LITE_CONFIG_FILE`` (or oslo.config's default
locations, e.g. ``/etc/qinling-lite/qinling-lite.conf``); the engines are reached
over oslo.messaging.
"""

import os

from qinling_lite import config, orchestrator, storage
from qinling_lite.api import app
from qinling_lite.db import session as db_session
from qinling_lite.rpc import engine_api, transport


def init_application():
    config_file = os.environ.get("QINLING_LITE_CONFIG_FILE")
    config.parse_args([], default_config_files=[config_file] if config_file else None)
    db_session.setup()
    orchestrator.orchestrator_class(config.CONF)  # fails here, not on a request, if unknown
    engine_client = engine_api.RPCEngineClient(
        transport.get_transport(), call_threads=config.CONF.api.api_threads
    )
    return app.setup_app(config.CONF, engine_client, storage.load(config.CONF))


application = init_application()
