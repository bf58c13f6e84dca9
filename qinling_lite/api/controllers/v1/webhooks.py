"""``/v1/webhooks``: per-function URLs that run the function with the posted data."""

import pecan
from pecan import rest
from wsme import types as wtypes

from qinling_lite import exceptions
from qinling_lite.api import decoding, errors, params, policy, types, webhook_auth
from qinling_lite.api.controllers.v1 import executions
from qinling_lite.db import api as db_api


def webhook_url(webhook_id):
    base = pecan.request.conf.qinling_endpoint or pecan.request.application_url
    return f"{base.rstrip('/')}/v1/webhooks/{webhook_id}/invoke"


def _view(webhook):
    return types.Webhook.from_db(webhook, webhook_url=webhook_url(webhook.id))


def _auth_changes(values, current=None):
    """The auth, secret and rate limit columns for ``values`` (a create or an update)."""
    changes = {}
    mode = values.get("auth")
    if mode is not None and mode != getattr(current, "auth", None):
        if mode == "token" and not pecan.request.conf.api.auth_enable:
            raise exceptions.InputError(
                "Token webhooks need Keystone authentication ([api] auth_enable)."
            )
        changes["auth"] = mode
        changes["secret"] = webhook_auth.new_secret() if mode == "hmac" else None
    if values.get("rate_limit") is not None:
        changes["rate_limit"] = values["rate_limit"] or None  # 0: no limit
    return changes


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
        ctx = pecan.request.context
        values = body.to_values()
        values.pop("secret", None)
        values.update(_auth_changes(values))
        target, version = executions.resolve_target(ctx, values, "webhook:create")
        if values.get("function_alias"):
            # Resolved at every invocation: the alias may move to another version.
            values.update(function_id=None, function_version=None)
        else:
            values["function_version"] = version
        values["project_id"] = target.project_id
        return _view(db_api.create_webhook(values))

    @errors.wsexpose(types.Webhooks, wtypes.text, wtypes.text)
    def get_all(self, all_projects=None, project_id=None):
        project, filters = params.list_scope(
            pecan.request.context, "webhook", all_projects, project_id
        )
        webhooks = db_api.list_webhooks(project, filters)
        return types.Webhooks(webhooks=[_view(w) for w in webhooks])

    @errors.wsexpose(types.Webhook, types.UUID)
    def get_one(self, id):
        ctx = pecan.request.context
        return _view(policy.authorize(ctx, "webhook:get", db_api.get_webhook(id, ctx.scope)))

    @errors.wsexpose(types.Webhook, types.UUID, body=types.Webhook)
    def put(self, id, body):
        ctx = pecan.request.context
        webhook = policy.authorize(ctx, "webhook:update", db_api.get_webhook(id, ctx.scope))
        changes = {k: v for k, v in body.to_values().items() if v is not None}
        changes.pop("secret", None)
        changes.update(_auth_changes(changes, webhook))
        alias = changes.get("function_alias")
        if alias and alias != webhook.function_alias:
            changes.update(function_id=None, function_version=None)
        elif {"function_id", "function_version"} & set(changes):
            changes["function_alias"] = None
        merged = {
            "function_id": webhook.function_id,
            "function_version": webhook.function_version,
            "function_alias": webhook.function_alias,
            **changes,
        }
        executions.resolve_target(ctx, merged, "webhook:update")
        if merged["function_id"] and merged["function_version"] is None:
            changes["function_version"] = 0
        return _view(db_api.update_webhook(id, changes, webhook.project_id))

    @errors.wsexpose(None, types.UUID, status_code=204)
    def delete(self, id):
        ctx = pecan.request.context
        webhook = policy.authorize(ctx, "webhook:delete", db_api.get_webhook(id, ctx.scope))
        db_api.delete_webhook(webhook.id, webhook.project_id)

    @pecan.expose("json")
    def invoke(self, id):
        """Run the webhook's function asynchronously, once the webhook's own
        authentication and rate limit (``webhook_auth``) let the call through."""
        request = pecan.request
        target = db_api.get_webhook_target(params.uuid(id))
        webhook_auth.check(request, target)
        data = invocation_input(request)
        execution = executions.start(
            request.context,
            request.engine,
            target,
            target.function_version,
            {
                "input": data,
                "description": f"Created by Webhook {target.webhook_id}",
                "function_alias": target.function_alias,
            },
            sync=False,
            timeout_margin=0,
        )
        pecan.response.status = 202
        return {"execution_id": execution.id}
