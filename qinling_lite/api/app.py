"""The WSGI application: pecan, its hooks, and the middleware around them.

From the outside in: oslo.middleware's ``request_id`` gives every request an id (the
request context's ``request_id``) and every answer, errors included, the header
``X-OpenStack-Request-Id``; ``/healthcheck`` is oslo.middleware's ``healthcheck``,
answered before authentication (its ``[healthcheck]`` options, details off by default);
then, with ``[metrics] enabled``, ``/metrics`` (also before authentication) and the
count of webhook invocations' answers by status code; then the JSON error middleware,
Keystone authentication (``auth.wrap``) and pecan.
"""

import re

import pecan
from oslo_middleware import healthcheck, request_id

from qinling_lite.api import auth, decoding, errors, hooks, pecan_argspec
from qinling_lite.api.controllers import root
from qinling_lite.db import executions as executions_db
from qinling_lite.metrics import collectors, exposition, multiproc

HEALTHCHECK_PATH = "/healthcheck"
WEBHOOK_INVOCATION = re.compile(r"/v1/webhooks/[^/]+/invoke/?")


def setup_app(conf, engine_client, storage, metric_collectors=()):
    """Build the API application around an engine client and a package store.

    ``metric_collectors``: more scrape-time metrics for ``/metrics`` (the embedded
    engine's workers in ``qinling-lite-serve``).
    """
    pecan_argspec.install()
    app = pecan.make_app(
        root.RootController(),
        hooks=[
            hooks.RequestBodyHook(conf),
            hooks.ContextHook(conf.api.auth_enable),
            hooks.ServicesHook(engine_client, storage, conf),
            hooks.ErrorHook(),
        ],
        force_canonical=False,
        guess_content_type_from_ext=False,
        request_cls=decoding.Request,
    )
    api = errors.JsonErrorMiddleware(auth.wrap(app, conf))
    if conf.metrics.enabled:
        scraped = exposition.registry(
            [collectors.Backlog(executions_db.list_stale), *metric_collectors],
            multiprocess_dir=multiproc.directory(),
        )
        api = exposition.Middleware(api, scraped, WEBHOOK_INVOCATION.fullmatch)
    return request_id.RequestId(_Healthcheck(api, conf))


class _Healthcheck:
    """``/healthcheck`` to oslo.middleware's healthcheck, anything else to ``api``.

    A request the healthcheck ignores (from outside ``[healthcheck]
    allowed_source_ranges``, or proxied with ``ignore_proxied_requests``) goes to ``api``
    too, which does not know the path.
    """

    def __init__(self, api, conf):
        self._api = api
        self._healthcheck = healthcheck.Healthcheck(api, conf)

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == HEALTHCHECK_PATH:
            return self._healthcheck(environ, start_response)
        return self._api(environ, start_response)
