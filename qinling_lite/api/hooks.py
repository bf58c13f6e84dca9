"""Pecan hooks: the request context, the services controllers use, and error bodies."""

import pecan
import webob
from oslo_log import log as logging

from qinling_lite import context, exceptions
from qinling_lite.api import auth, decoding, errors, policy
from qinling_lite.identity import trustee

LOG = logging.getLogger(__name__)


class ContextHook(pecan.hooks.PecanHook):
    """The caller's context, from the identity keystonemiddleware validated.

    Without authentication (``[api] auth_enable = false``) every caller is an admin of
    project ``default``; with it, an unauthenticated caller of a public route has no
    project, and admin status comes from the roles (``context_is_admin``). Either way the
    context has the request's id (oslo.middleware's ``request_id``) and is the thread's
    while the request is handled, so that log lines carry that id.
    """

    def __init__(self, auth_enable):
        self._auth_enable = auth_enable

    def before(self, state):
        request = state.request
        if not self._auth_enable:
            ctx = context.RequestContext.anonymous_admin(request.environ)
        elif auth.authenticated(request.environ):
            ctx = context.RequestContext.from_environ(request.environ)
            ctx.is_admin = policy.is_admin(ctx)
        else:
            ctx = context.RequestContext.anonymous(request.environ)
        request.context = ctx
        context.set_current(ctx)

    def after(self, state):
        context.set_current(None)  # this thread's next request may not get this far


class ServicesHook(pecan.hooks.PecanHook):
    """Hands controllers the engine client, package storage and trustee of this process."""

    def __init__(self, engine_client, storage, conf):
        self._engine_client = engine_client
        self._storage = storage
        self._conf = conf
        self._trustee = trustee.Trustee(conf)

    def before(self, state):
        state.request.engine = self._engine_client
        state.request.storage = self._storage
        state.request.conf = self._conf
        state.request.trustee = self._trustee


class RequestBodyHook(pecan.hooks.PecanHook):
    """Checks bodies before routing (pecan parses form bodies while routing).

    Over the size limit -> 413: webhook invocations have their own, small limit;
    everything else may carry a function package plus its form fields. Then the body
    must decode (``decoding.check``): a JSON body is decoded here, once.
    """

    FORM_OVERHEAD = 64 * 1024

    def __init__(self, conf):
        self._webhook_limit = conf.api.max_webhook_body_size
        self._limit = conf.storage.max_package_size + self.FORM_OVERHEAD

    def limit_for(self, path):
        """The largest body accepted on ``path`` (the embedded server refuses above it too)."""
        return self._webhook_limit if path.endswith("/invoke") else self._limit

    def on_route(self, state):
        request = state.request
        limit = self.limit_for(request.path)
        if request.content_length is None and request.is_body_readable:
            # A chunked body has no length to check: read at most one byte more than
            # the limit, and keep what was read as the body.
            body = request.body_file_raw.read(limit + 1)
            if len(body) > limit:
                raise exceptions.PayloadTooLarge(limit)
            request.body = body
        elif (request.content_length or 0) > limit:
            raise exceptions.PayloadTooLarge(limit)
        decoding.check(request, invoke=request.path.endswith("/invoke"))


class ErrorHook(pecan.hooks.PecanHook):
    """JSON errors for plain pecan endpoints, and no internals leaked by any 500.

    WSME endpoints render their own errors, with the text of unexpected exceptions
    as the faultstring; ``after`` replaces that with a generic message.
    """

    def after(self, state):
        response = state.response
        if response.status_int == 500 and response.content_type == "application/json":
            response.json_body = errors.body(500, errors.INTERNAL_ERROR)

    def on_error(self, state, e):
        if isinstance(e, exceptions.QinlingLiteError):
            return errors.response(e.code, e.message, e.headers)
        if isinstance(e, webob.exc.HTTPException):
            return None
        LOG.exception("Unexpected error on %s %s", state.request.method, state.request.path)
        return errors.response(500, errors.INTERNAL_ERROR)
