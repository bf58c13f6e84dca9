"""Webhooks: creating and changing them, and admitting and running their invocations.

An invocation of an asynchronous webhook (Qinling's kind) is answered as soon as its
execution is recorded; one of a synchronous webhook (``sync``) waits for the function and
answers its output, or raises an ``InvocationFailed`` naming the execution.
"""

import contextlib
import json
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from oslo_config import cfg

from qinling_lite import context, exceptions, status
from qinling_lite.db import models
from qinling_lite.db import webhooks as webhooks_db
from qinling_lite.runtime import protocol
from qinling_lite.services import executions as executions_service
from qinling_lite.services import input_templates, webhook_auth

RATE_WINDOW = 60  # seconds: rate limits count invocations per minute
# Seconds a synchronous invocation refused for want of capacity is told to wait.
BUSY_RETRY_AFTER = 5


def _auth_changes(
    conf: cfg.ConfigOpts, values: Mapping[str, Any], current_auth: str | None = None
) -> dict[str, Any]:
    """The auth, secret and rate limit columns for ``values`` (a create or an update);
    InputError for an auth method this deployment does not offer."""
    changes: dict[str, Any] = {}
    name = values.get("auth")
    if name is not None:
        method = webhook_auth.method(name)
        method.check_offered(conf)
        if name != current_auth:
            changes["auth"] = name
            changes.update(method.settings())
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
    Without ``auth`` (Qinling's clients) it is ``none``; without ``sync``, asynchronous.
    """
    values = {key: value for key, value in values.items() if key != "secret"}
    values["auth"] = values.get("auth") or webhook_auth.NoAuth.name
    values["sync"] = bool(values.get("sync"))
    values["input_template"] = input_templates.validate(values.get("input_template"))
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
    if "input_template" in changes:  # None clears it
        changes["input_template"] = input_templates.validate(changes["input_template"])
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


def admit(
    conf: cfg.ConfigOpts, webhook_id: str, invocation: webhook_auth.Invocation
) -> webhooks_db.WebhookTarget:
    """The target of an invocation that passes the webhook's authentication (else 401,
    403; always 401 for an anonymous webhook under ``[webhook] require_auth``), for an
    asynchronous webhook the backlog limits (else 429 or 503, see
    ``executions_service.admit_async``), and its rate limit (else 429). A refused
    invocation records nothing and does not count against the rate limit; an admitted
    one counts."""
    target = webhooks_db.get_target(webhook_id)
    method = webhook_auth.method(target.auth)
    if conf.webhook.require_auth and not method.authenticates:
        raise exceptions.NotAuthorized(
            "This deployment requires webhook callers to authenticate ([webhook] "
            "require_auth): the webhook's owner must switch it to token or hmac auth."
        )
    method.check(invocation, target)
    if not target.sync:
        executions_service.admit_async(conf, target.function.function_id)
    if target.rate_limit:
        window = int(invocation.received_at // RATE_WINDOW)
        if not webhooks_db.count_invocation(target.webhook_id, target.rate_limit, window):
            raise exceptions.TooManyRequests(
                f"Webhook {target.webhook_id} allows {target.rate_limit} invocations a minute.",
                retry_after=int((window + 1) * RATE_WINDOW - invocation.received_at) + 1,
            )
    return target


def mapped_input(conf: cfg.ConfigOpts, template: Mapping[str, str], body: Any) -> dict[str, Any]:
    """The input of an admitted invocation of a webhook with an input template: what
    ``template`` maps the JSON ``body`` to. InputError (nothing recorded) if an entry is not
    in the body, or if the input, as compact JSON, is larger than a webhook body may be
    (a template can repeat a large part of the body)."""
    data = input_templates.apply(template, body)
    limit = conf.api.max_webhook_body_size
    if len(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()) > limit:
        raise exceptions.InputError(
            f"input_template maps the body to an input of more than {limit} bytes "
            "([api] max_webhook_body_size)."
        )
    return data


def invoke(
    ctx: context.RequestContext,
    engine: executions_service.Engine,
    target: webhooks_db.WebhookTarget,
    data: dict[str, Any],
) -> models.Execution:
    """Start an asynchronous execution of an admitted invocation with ``data`` as input."""
    return executions_service.start(
        ctx, engine, _resolved(target), _values(target, data), sync=False, timeout_margin=0
    )


def invoke_sync(
    ctx: context.RequestContext,
    engine: executions_service.Engine,
    target: webhooks_db.WebhookTarget,
    data: dict[str, Any],
    timeout_margin: float,
) -> models.Execution:
    """Run an execution of an admitted invocation with ``data`` as input and wait for it,
    up to the function's timeout plus ``timeout_margin`` seconds: the execution if it
    succeeded. Else InvocationFailed: FunctionFailed (502), FunctionTimedOut (504) or
    ExecutionUnfinished (503: it could not run, or it will still run but has not finished
    in time). Busy (503) if the function's runtime cannot take it now: nothing recorded.
    """
    try:
        execution = executions_service.start(
            ctx,
            engine,
            _resolved(target),
            _values(target, data),
            sync=True,
            timeout_margin=timeout_margin,
        )
    except exceptions.RuntimeNotAvailable as e:
        raise exceptions.Busy(
            f"{e.message} Try again later.", retry_after=BUSY_RETRY_AFTER
        ) from None
    if execution.status == status.SUCCESS:
        return execution
    output = (execution.result or {}).get("output")
    if execution.status == status.FAILED and output == protocol.TIMEOUT_OUTPUT:
        raise exceptions.FunctionTimedOut(
            f"The function did not finish within its timeout of {target.function.timeout} "
            f"s (execution {execution.id}).",
            execution.id,
        )
    if execution.status == status.FAILED:
        raise exceptions.FunctionFailed(
            f"The function failed (execution {execution.id}): {_reason(output)}", execution.id
        )
    if execution.status == status.ERROR:
        raise exceptions.ExecutionUnfinished(
            f"Execution {execution.id} could not run: {_reason(output)}", execution.id
        )
    raise exceptions.ExecutionUnfinished(
        f"Execution {execution.id} did not finish in time; it is recorded and will still "
        f"run: see GET /v1/executions/{execution.id}.",
        execution.id,
        retry_after=BUSY_RETRY_AFTER,
    )


def _resolved(target: webhooks_db.WebhookTarget) -> executions_service.Resolved:
    return executions_service.Resolved(target.function, target.function_version)


def _values(target: webhooks_db.WebhookTarget, data: dict[str, Any]) -> dict[str, Any]:
    """The execution columns of an invocation of ``target`` with ``data`` as input."""
    return {
        "input": data,
        "description": f"Created by Webhook {target.webhook_id}",
        "function_alias": target.function_alias,
    }


def _reason(output: Any) -> str:
    """A failed execution's output as text."""
    if output is None:
        return "no output."
    return output if isinstance(output, str) else json.dumps(output)


class SyncSlots:
    """The synchronous invocations one API process waits for at once: at most ``limit``,
    so that they cannot take every thread of the API."""

    def __init__(self, limit: int) -> None:
        self._free = threading.BoundedSemaphore(limit)

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """A slot for the block; Busy (503) at once if none is free."""
        if not self._free.acquire(blocking=False):
            raise exceptions.Busy(
                "Too many synchronous webhook invocations are running; try again later.",
                retry_after=BUSY_RETRY_AFTER,
            )
        try:
            yield
        finally:
            self._free.release()
