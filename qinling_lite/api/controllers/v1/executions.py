"""``/v1/executions``: run functions, list and show executions, read their logs."""

import functools

import pecan
import webob
from pecan import rest
from wsme import types as wtypes

from qinling_lite import exceptions, function_input
from qinling_lite.api import errors, params, policy, types
from qinling_lite.services import executions as executions_service
from qinling_lite.services import validation


def _admit_async(conf, function_id):
    """``executions_service.admit_async``, its refusal's Retry-After on the answer: WSME
    renders the error, without the exception's headers."""
    try:
        executions_service.admit_async(conf, function_id)
    except (exceptions.TooManyRequests, exceptions.Busy) as e:
        pecan.response.headers.update(e.headers)
        raise


class ExecutionLogController(rest.RestController):
    @pecan.expose(content_type="text/plain")
    def get_all(self, execution_id):
        """The execution's log as text; 200 even when it is empty (Qinling answered 204).

        Served as ``text/plain`` only: to ``Accept: text/plain``, ``text/*``, ``*/*``, no
        ``Accept``, or a list that admits text (python-qinlingclient sends ``*/*``)."""
        ctx = pecan.request.context
        execution = policy.authorize(
            ctx,
            "execution_log:get",
            executions_service.get(validation.uuid(execution_id), ctx.scope),
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
        resolved = executions_service.resolve_target(
            ctx, fields, functools.partial(policy.authorize, ctx, "execution:create")
        )
        values = {
            "input": function_input.parse(fields.get("input")),
            "function_alias": fields.get("function_alias"),
        }
        if fields.get("description"):
            values["description"] = fields["description"]
        sync = body.sync is not False  # null: the default, true
        if not sync:
            _admit_async(request.conf, resolved.target.function_id)
        execution = executions_service.start(
            ctx,
            request.engine,
            resolved,
            values,
            sync=sync,
            timeout_margin=request.conf.api.sync_execution_margin,
        )
        return types.Execution.from_db(execution)

    @errors.wsexpose(types.Executions, *[wtypes.text] * 7)
    def get_all(
        self,
        function_id=None,
        status=None,
        description=None,
        all_projects=None,
        project_id=None,
        retry_of=None,
        dead_letter_of=None,
    ):
        """Executions, filtered; ``retry_of`` finds the retry of an execution and
        ``dead_letter_of`` the dead-letter execution that reports it."""
        project, filters = params.list_scope(
            pecan.request.context, "execution", all_projects, project_id
        )
        for key, value in (
            ("function_id", function_id),
            ("status", status),
            ("description", description),
            ("retry_of", retry_of),
            ("dead_letter_of", dead_letter_of),
        ):
            if value:
                filters[key] = value
        executions = executions_service.list_all(project, filters)
        return types.Executions(executions=[types.Execution.from_db(e) for e in executions])

    @errors.wsexpose(types.Execution, types.UUID)
    def get_one(self, id):
        ctx = pecan.request.context
        return types.Execution.from_db(
            policy.authorize(ctx, "execution:get", executions_service.get(id, ctx.scope))
        )

    @errors.wsexpose(None, types.UUID, status_code=204)
    def delete(self, id):
        ctx = pecan.request.context
        execution = executions_service.get(id, ctx.scope)
        executions_service.delete(policy.authorize(ctx, "execution:delete", execution))
