"""Webhooks: creating and changing them, and admitting and running their invocations."""

from collections.abc import Mapping
from typing import Any

from oslo_config import cfg

from qinling_lite import context, exceptions
from qinling_lite.db import models
from qinling_lite.db import webhooks as webhooks_db
from qinling_lite.services import executions as executions_service
from qinling_lite.services import webhook_auth

RATE_WINDOW = 60  # seconds: rate limits count invocations per minute


def _auth_changes(
    conf: cfg.ConfigOpts, values: Mapping[str, Any], current_auth: str | None = None
) -> dict[str, Any]:
    """The auth, secret and rate limit columns for ``values`` (a create or an update)."""
    changes: dict[str, Any] = {}
    name = values.get("auth")
    if name is not None and name != current_auth:
        changes["auth"] = name
        changes.update(webhook_auth.method(name).settings(conf))
    if values.get("rate_limit") is not None:
        changes["rate_limit"] = values["rate_limit"] or None  # 0: no limit
    return changes


def create(
    ctx: context.RequestContext,
    conf: cfg.ConfigOpts,
    values: Mapping[str, Any],
    authorize: executions_service.Authorize,
) -> models.Webhook:
    """A webhook of the function version ``values`` name (``authorize`` must allow it).

    A webhook of an alias keeps the alias only: it is resolved at every invocation.
    """
    values = {key: value for key, value in values.items() if key != "secret"}
    values.update(_auth_changes(conf, values))
    resolved = executions_service.resolve_target(ctx, values, authorize)
    if values.get("function_alias"):
        values.update(function_id=None, function_version=None)
    else:
        values["function_version"] = resolved.version
    values["project_id"] = resolved.target.project_id
    return webhooks_db.create(values)


def get(id: str, scope: str | None) -> models.Webhook:
    return webhooks_db.get(id, scope)


def list_all(scope: str | None, filters: Mapping[str, str]) -> list[models.Webhook]:
    return webhooks_db.list_all(scope, filters)


def update(
    ctx: context.RequestContext,
    conf: cfg.ConfigOpts,
    webhook: models.Webhook,
    changes: Mapping[str, Any],
    authorize: executions_service.Authorize,
) -> models.Webhook:
    """Apply ``changes`` (the fields given); the target they leave must be allowed by
    ``authorize``. Naming an alias drops the function; naming a function drops the alias."""
    changes = {key: value for key, value in changes.items() if key != "secret"}
    changes.update(_auth_changes(conf, changes, webhook.auth))
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
    executions_service.resolve_target(ctx, merged, authorize)
    if merged["function_id"] and merged["function_version"] is None:
        changes["function_version"] = 0
    return webhooks_db.update(webhook.id, changes, webhook.project_id)


def delete(webhook: models.Webhook) -> None:
    webhooks_db.delete(webhook.id, webhook.project_id)


def admit(webhook_id: str, invocation: webhook_auth.Invocation) -> webhooks_db.WebhookTarget:
    """The target of an invocation that passes the webhook's authentication (else 401,
    403) and its rate limit (else 429). A refused invocation records nothing; an
    admitted one counts against the limit."""
    target = webhooks_db.get_target(webhook_id)
    webhook_auth.method(target.auth).check(invocation, target)
    if target.rate_limit:
        window = int(invocation.received_at // RATE_WINDOW)
        if not webhooks_db.count_invocation(target.webhook_id, target.rate_limit, window):
            raise exceptions.TooManyRequests(
                f"Webhook {target.webhook_id} allows {target.rate_limit} invocations a minute.",
                retry_after=int((window + 1) * RATE_WINDOW - invocation.received_at) + 1,
            )
    return target


def invoke(
    ctx: context.RequestContext,
    engine: executions_service.Engine,
    target: webhooks_db.WebhookTarget,
    data: dict[str, Any],
) -> models.Execution:
    """Start an asynchronous execution of an admitted invocation with ``data`` as input."""
    return executions_service.start(
        ctx,
        engine,
        executions_service.Resolved(target.function, target.function_version),
        {
            "input": data,
            "description": f"Created by Webhook {target.webhook_id}",
            "function_alias": target.function_alias,
        },
        sync=False,
        timeout_margin=0,
    )
