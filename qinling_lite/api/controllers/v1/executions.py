"""``/v1/executions``: run functions, list and show executions, read their logs."""

import pecan
import webob
from oslo_log import log as logging
from pecan import rest
from wsme import types as wtypes

from qinling_lite import exceptions, function_input, status
from qinling_lite.api import errors, params, policy, types
from qinling_lite.db import aliases as aliases_db
from qinling_lite.db import api as db_api

LOG = logging.getLogger(__name__)

RUNNABLE = (status.AVAILABLE, status.UPGRADING)


def resolve_target(ctx, fields, rule):
    """The function version that ``function_alias`` or ``function_id`` and
    ``function_version`` in ``fields`` name: its execution target
    (``db.api.get_execution_target``), which ``ctx`` must be allowed ``rule`` on, and
    version number. An alias (a name in the caller's project) is resolved now, so later
    changes to it do not move what was resolved."""
    if fields.get("function_alias"):
        alias = aliases_db.get(fields["function_alias"], ctx.project_id)
        function_id, version = alias.function_id, alias.function_version
    elif fields.get("function_id"):
        function_id, version = fields["function_id"], fields.get("function_version") or 0
    else:
        raise exceptions.InputError("Either function_alias or function_id must be provided.")
    target = db_api.get_execution_target(function_id, ctx.scope, version)
    return policy.authorize(ctx, rule, target), version


def start(ctx, engine, target, version, values, sync, timeout_margin):
    """Record a pending execution and hand it to an engine.

    ``target`` is the function's execution target (``db.api.get_execution_target``).
    Shared by executions, webhooks and jobs. The row is committed before the engine
    hears of it; if the engine cannot be reached the row stays pending and is picked
    up later. A sync start waits for the outcome and returns the final row.
    """
    # During an image update the old workers still serve (Qinling answered 409).
    if target.runtime_id is not None and target.runtime_status not in RUNNABLE:
        raise exceptions.RuntimeNotAvailable(target.runtime_id)
    execution = db_api.create_execution(
        {
            **values,
            "function_id": target.function_id,
            "function_version": version,
            "project_id": target.project_id,
            "sync": sync,
        }
    )
    try:
        engine.create_execution(
            ctx, execution.id, sync=sync, timeout=target.timeout + timeout_margin
        )
    except Exception:
        LOG.exception(
            "Execution %s is recorded; the engine did not confirm it and a sweep will "
            "make sure it runs",
            execution.id,
        )
    return db_api.get_execution(execution.id) if sync else execution


class ExecutionLogController(rest.RestController):
    @pecan.expose()
    def get_all(self, execution_id):
        """The execution's log as text; 200 even when it is empty (Qinling answered 204)."""
        ctx = pecan.request.context
        execution = policy.authorize(
            ctx, "execution_log:get", db_api.get_execution(params.uuid(execution_id), ctx.scope)
        )
        response = webob.Response(content_type="text/plain", charset="UTF-8")
        if execution.logs:
            response.text = execution.logs
        else:
            # pecan turns any empty 200 into a 204, except a generator's.
            response.app_iter = (chunk for chunk in (b"",))
            response.content_length = 0
        return response


class ExecutionsController(rest.RestController):
    log = ExecutionLogController()

    @errors.wsexpose(types.Execution, body=types.Execution, status_code=201)
    def post(self, body):
        request = pecan.request
        ctx = request.context
        fields = body.to_values()
        target, version = resolve_target(ctx, fields, "execution:create")
        values = {
            "input": function_input.parse(fields.get("input")),
            "function_alias": fields.get("function_alias"),
        }
        if fields.get("description"):
            values["description"] = fields["description"]
        execution = start(
            ctx,
            request.engine,
            target,
            version,
            values,
            body.sync is not False,  # null: the default, true
            request.conf.api.sync_execution_margin,
        )
        return types.Execution.from_db(execution)

    @errors.wsexpose(
        types.Executions, wtypes.text, wtypes.text, wtypes.text, wtypes.text, wtypes.text
    )
    def get_all(
        self, function_id=None, status=None, description=None, all_projects=None, project_id=None
    ):
        project, filters = params.list_scope(
            pecan.request.context, "execution", all_projects, project_id
        )
        for key, value in (
            ("function_id", function_id),
            ("status", status),
            ("description", description),
        ):
            if value:
                filters[key] = value
        executions = db_api.list_executions(project, filters)
        return types.Executions(executions=[types.Execution.from_db(e) for e in executions])

    @errors.wsexpose(types.Execution, types.UUID)
    def get_one(self, id):
        ctx = pecan.request.context
        return types.Execution.from_db(
            policy.authorize(ctx, "execution:get", db_api.get_execution(id, ctx.scope))
        )

    @errors.wsexpose(None, types.UUID, status_code=204)
    def delete(self, id):
        ctx = pecan.request.context
        execution = policy.authorize(ctx, "execution:delete", db_api.get_execution(id, ctx.scope))
        db_api.delete_execution(execution.id, execution.project_id)
