"""The WSGI application: pecan, its hooks, and the JSON error middleware."""

import pecan

from qinling_lite.api import auth, decoding, errors, hooks, pecan_argspec
from qinling_lite.api.controllers import root


def setup_app(conf, engine_client, storage):
    """Build the API application around an engine client and a package store."""
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
    return errors.JsonErrorMiddleware(auth.wrap(app, conf))
