"""``/v1/webhooks``: per-function URLs that run the function with the posted data."""

import functools
import time

import pecan
from pecan import rest
from wsme import types as wtypes

from qinling_lite import exceptions
from qinling_lite.api import auth, decoding, errors, params, policy, types
from qinling_lite.services import validation, webhook_auth
from qinling_lite.services import webhooks as webhooks_service


def webhook_url(webhook_id):
    base = pecan.request.conf.qinling_endpoint or pecan.request.application_url
    return f"{base.rstrip('/')}/v1/webhooks/{webhook_id}/invoke"


def _view(webhook):
    return types.Webhook.from_db(webhook, webhook_url=webhook_url(webhook.id))


def _flatten(multidict):
    """A MultiDict as a plain dict; repeated keys become lists."""
    return {key: (values[0] if len(values) == 1 else values)
            for key in multidict
            for values in [multidict.getall(key)]}  # fmt: skip


def invocation_input(request):
    """The execution input of an invocation: query parameters, then the body's keys.

    The body is a JSON object (decoded by ``hooks.RequestBodyHook``, which checked its
    size too) or text form fields; an empty body adds nothing. The keys are passed as
    they are: the input is always the function's keyword arguments.
    """
    data = _flatten(request.GET)
    if request.content_type not in decoding.FORM_TYPES:
        data.update(decoding.json_object(request))
        return data
    if any(not isinstance(value, str) for value in request.POST.values()):
        raise exceptions.InputError("A webhook takes text form fields only, not files.")
    data.update(_flatten(request.POST))
    return data


class WebhooksController(rest.RestController):
    _custom_actions = {"invoke": ["POST"]}

    @errors.wsexpose(types.Webhook, body=types.Webhook, status_code=201)
    def post(self, body):
        request = pecan.request
        ctx = request.context
        authorize = functools.partial(policy.authorize, ctx, "webhook:create")
        return _view(webhooks_service.create(ctx, request.conf, body.to_values(), authorize))

    @errors.wsexpose(types.Webhooks, wtypes.text, wtypes.text)
    def get_all(self, all_projects=None, project_id=None):
        project, filters = params.list_scope(
            pecan.request.context, "webhook", all_projects, project_id
        )
        webhooks = webhooks_service.list_all(project, filters)
        return types.Webhooks(webhooks=[_view(w) for w in webhooks])

    @errors.wsexpose(types.Webhook, types.UUID)
    def get_one(self, id):
        ctx = pecan.request.context
        return _view(policy.authorize(ctx, "webhook:get", webhooks_service.get(id, ctx.scope)))

    @errors.wsexpose(types.Webhook, types.UUID, body=types.Webhook)
    def put(self, id, body):
        request = pecan.request
        ctx = request.context
        webhook = policy.authorize(ctx, "webhook:update", webhooks_service.get(id, ctx.scope))
        changes = {k: v for k, v in body.to_values().items() if v is not None}
        authorize = functools.partial(policy.authorize, ctx, "webhook:update")
        return _view(webhooks_service.update(ctx, request.conf, webhook, changes, authorize))

    @errors.wsexpose(None, types.UUID, status_code=204)
    def delete(self, id):
        ctx = pecan.request.context
        webhook = webhooks_service.get(id, ctx.scope)
        webhooks_service.delete(policy.authorize(ctx, "webhook:delete", webhook))

    @pecan.expose("json")
    def invoke(self, id):
        """Run the webhook's function asynchronously, once the webhook's own
        authentication and rate limit let the call through."""
        request = pecan.request
        invocation = webhook_auth.Invocation(
            authenticated=auth.authenticated(request.environ),
            headers=request.headers,
            body=request.body,
            authorize=functools.partial(policy.authorize, request.context, "webhook:invoke"),
            received_at=time.time(),
        )
        target = webhooks_service.admit(validation.uuid(id), invocation)
        execution = webhooks_service.invoke(
            request.context, request.engine, target, invocation_input(request)
        )
        pecan.response.status = 202
        return {"execution_id": execution.id}
