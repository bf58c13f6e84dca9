"""Admin calls on the warm workers of a function version: detach, scale, list."""

import pecan
from pecan import rest
from wsme import types as wtypes

from qinling_lite import exceptions
from qinling_lite.api import errors, params, policy, types
from qinling_lite.services import function_workers as workers_service


def _allowed(rule):
    """The caller's context, allowed ``rule`` in its project, and the check of ``rule``
    on the function the service finds."""
    ctx = pecan.request.context
    policy.enforce(ctx, rule)
    return ctx, lambda target: policy.authorize(ctx, rule, target)


def _count(count):
    if count is None:  # null in the body; WSME checks only that the key is there
        raise exceptions.InputError("count is required: an integer from 1.")
    return count


def detach(function_id, version):
    ctx, authorize = _allowed("function:detach")
    workers_service.detach(ctx, pecan.request.engine, function_id, version, authorize)


def scale_up(function_id, version, count):
    count = _count(count)
    ctx, authorize = _allowed("function:scale_up")
    workers_service.scale_up(ctx, pecan.request.engine, function_id, version, count, authorize)


def scale_down(function_id, version, count):
    count = _count(count)
    ctx, authorize = _allowed("function:scale_down")
    workers_service.scale_down(ctx, pecan.request.engine, function_id, version, count, authorize)


class WorkersController(rest.RestController):
    """``/v1/functions/{id}/workers?function_version=N``."""

    @errors.wsexpose(types.Workers, types.UUID, wtypes.text)
    def get_all(self, function_id, function_version=None):
        version = params.version_number(function_version or 0, minimum=0)
        ctx, authorize = _allowed("function_worker:get_all")
        names = workers_service.list_names(
            ctx, pecan.request.engine, function_id, version, authorize
        )
        return types.Workers(
            workers=[
                types.Worker(function_id=function_id, function_version=version, worker_name=name)
                for name in names
            ]
        )
