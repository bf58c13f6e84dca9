"""``/v1/webhooks``: per-function URLs that run the function with the posted data."""

import functools
import json
import time

import pecan
import webob
from pecan import rest
from wsme import types as wtypes

from qinling_lite import exceptions
from qinling_lite.api import auth, decoding, errors, negotiation, params, policy, types
from qinling_lite.services import validation, webhook_auth
from qinling_lite.services import webhooks as webhooks_service

# The execution a synchronous webhook invocation ran, on its answers.
EXECUTION_ID_HEADER = "X-Qinling-Execution-Id"


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


def template_body(request):
    """The JSON object body a webhook with an input template maps (see
    ``webhooks_service.mapped_input``); 400 for a form or an empty body."""
    if not decoding.is_json(request, invoke=True) or not request.body.strip():
        raise exceptions.InputError("This webhook has an input_template: send a JSON body.")
    return decoding.json_object(request)


@functools.cache
def _sync_slots(limit):
    """This process's slots for synchronous invocations (``[webhook]
    max_sync_invocations``)."""
    return webhooks_service.SyncSlots(limit)


def _output_answer(request, execution):
    """200 with a successful execution's output: JSON, or the text itself when the
    output is a string and the caller prefers ``text/plain``."""
    output = execution.result["output"]
    offers = negotiation.acceptable(
        request.headers.get("Accept"), ["application/json", "text/plain"]
    )
    if isinstance(output, str) and offers and offers[0] == "text/plain":
        # A lone surrogate, which JSON can carry, has no UTF-8 form.
        body, content_type = output.encode(errors="replace"), "text/plain"
    else:
        body, content_type = json.dumps(output).encode(), "application/json"
    response = webob.Response(content_type=content_type, charset="UTF-8")
    # pecan turns any empty 200 into a 204, except a generator's.
    response.app_iter = (chunk for chunk in (body,))
    response.content_length = len(body)
    response.headers[EXECUTION_ID_HEADER] = execution.id
    return response


def _failure_answer(error):
    """The error answer of an invocation whose execution did not succeed: the API's
    error shape plus ``execution_id``, and the id in a header too."""
    response = errors.response(
        error.code, error.message, {**error.headers, EXECUTION_ID_HEADER: error.execution_id}
    )
    response.json_body = {**response.json_body, "execution_id": error.execution_id}
    return response


class WebhooksController(rest.RestController):
    _custom_actions = {"invoke": ["POST"]}

    @errors.wsexpose(types.Webhook, body=types.Webhook, status_code=201)
    def post(self, body):
        request = pecan.request
        ctx = request.context
        authorize = functools.partial(policy.authorize, ctx, "webhook:create")
        return _view(webhooks_service.create(ctx, request.conf, body.to_values(), authorize))

    @errors.wsexpose(types.Webhooks, *[wtypes.text] * 5)
    def get_all(
        self, all_projects=None, project_id=None, function_id=None, function_alias=None,
        description=None,
    ):  # fmt: skip
        project, filters = params.list_scope(
            pecan.request.context, "webhook", all_projects, project_id
        )
        filters.update(
            params.filters(
                function_id=function_id, function_alias=function_alias, description=description
            )
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
        # null leaves a field as it is, but clears input_template.
        changes = {
            k: v for k, v in body.to_values().items() if v is not None or k == "input_template"
        }
        authorize = functools.partial(policy.authorize, ctx, "webhook:update")
        return _view(webhooks_service.update(ctx, request.conf, webhook, changes, authorize))

    @errors.wsexpose(None, types.UUID, status_code=204)
    def delete(self, id):
        ctx = pecan.request.context
        webhook = webhooks_service.get(id, ctx.scope)
        webhooks_service.delete(policy.authorize(ctx, "webhook:delete", webhook))

    # Every answer is a response of its own: a synchronous webhook may answer its output
    # as text (406 to an Accept header that takes neither type, see ``negotiation``).
    @pecan.expose(content_type="text/plain")
    @pecan.expose("json")
    def invoke(self, id):
        """Run the webhook's function, once the webhook's own authentication and rate
        limit let the call through: 202 at once, or for a synchronous webhook the
        function's output when it has finished."""
        request = pecan.request
        conf = request.conf
        invocation = webhook_auth.Invocation(
            authenticated=auth.authenticated(request.environ),
            headers=request.headers,
            body=request.body,
            authorize=functools.partial(policy.authorize, request.context, "webhook:invoke"),
            received_at=time.time(),
        )
        target = webhooks_service.admit(conf, validation.uuid(id), invocation)
        if target.input_template is None:
            data = invocation_input(request)
        else:
            data = webhooks_service.mapped_input(
                conf, target.input_template, template_body(request)
            )
        if not target.sync:
            execution = webhooks_service.invoke(request.context, request.engine, target, data)
            return webob.Response(
                status=202,
                json_body={"execution_id": execution.id},
                content_type="application/json",
                charset="UTF-8",
            )
        with _sync_slots(conf.webhook.max_sync_invocations).hold():
            try:
                execution = webhooks_service.invoke_sync(
                    request.context,
                    request.engine,
                    target,
                    data,
                    timeout_margin=conf.api.sync_execution_margin,
                )
            except exceptions.InvocationFailed as e:
                return _failure_answer(e)
        return _output_answer(request, execution)
