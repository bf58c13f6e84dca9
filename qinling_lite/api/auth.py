"""Keystone authentication of API calls (keystonemiddleware ``auth_token``).

The middleware runs with ``delay_auth_decision``: it validates whatever token a request
carries and reports the outcome in ``X-Identity-Status``. ``_Gate`` then refuses
unauthenticated calls to every route but the version documents and webhook invocations,
with the API's JSON 401 (the middleware adds ``WWW-Authenticate``); a webhook that
requires a token checks the outcome itself.
"""

import re

from keystonemiddleware import auth_token

from qinling_lite.api import errors

PUBLIC_ROUTES = re.compile(r"^/(v1/?)?$|^/v1/openapi\.json$|^/v1/webhooks/[^/]+/invoke/?$")


def wrap(app, conf):
    """``app`` behind Keystone authentication, unless ``[api] auth_enable`` is off."""
    if not conf.api.auth_enable:
        return app
    return auth_token.AuthProtocol(
        _Gate(app), {"oslo_config_config": conf, "delay_auth_decision": "true"}
    )


def authenticated(environ):
    """Whether keystonemiddleware validated the request's token."""
    return environ.get("HTTP_X_IDENTITY_STATUS") == "Confirmed"


class _Gate:
    """Lets authenticated requests and public routes through; 401 for the rest."""

    def __init__(self, app):
        self._app = app

    def __call__(self, environ, start_response):
        if authenticated(environ) or PUBLIC_ROUTES.match(environ.get("PATH_INFO", "")):
            return self._app(environ, start_response)
        return errors.response(401, "Authentication required.")(environ, start_response)
