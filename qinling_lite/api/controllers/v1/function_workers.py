"""Admin calls on the warm workers of a function version: detach, scale, list."""

import pecan
from pecan import rest
from wsme import types as wtypes

from qinling_lite import exceptions
from qinling_lite.api import errors, params, policy, types
from qinling_lite.db import api as db_api


def _target(rule, function_id, version, scaled=False):
    """The caller's context, allowed ``rule`` on the function (version).

    ``scaled``: the call adds or removes workers, which an image function (no runtime: a
    pod per execution) does not have.
    """
    ctx = pecan.request.context
    policy.enforce(ctx, rule)
    target = db_api.get_execution_target(function_id, ctx.scope, version)
    policy.authorize(ctx, rule, target)
    if scaled and target.runtime_id is None:
        raise exceptions.InputError(
            f"Function {function_id} runs its image once per execution: it has no workers to scale."
        )
    return ctx


def detach(function_id, version):
    """Release every warm worker of the function version (they restart cold)."""
    ctx = _target("function:detach", function_id, version)
    pecan.request.engine.release_function(ctx, function_id, version)


def _count(count):
    if count is None:  # null in the body; WSME checks only that the key is there
        raise exceptions.InputError("count is required: an integer from 1.")
    return count


def scale_up(function_id, version, count):
    count = _count(count)
    ctx = _target("function:scale_up", function_id, version, scaled=True)
    pecan.request.engine.scale_up_function(ctx, function_id, version, count)


def scale_down(function_id, version, count):
    count = _count(count)
    ctx = _target("function:scale_down", function_id, version, scaled=True)
    pecan.request.engine.scale_down_function(ctx, function_id, version, count)


class WorkersController(rest.RestController):
    """``/v1/functions/{id}/workers?function_version=N``."""

    @errors.wsexpose(types.Workers, types.UUID, wtypes.text)
    def get_all(self, function_id, function_version=None):
        version = params.version_number(function_version or 0, minimum=0)
        ctx = _target("function_worker:get_all", function_id, version)
        names = pecan.request.engine.get_function_workers(ctx, function_id, version)
        return types.Workers(
            workers=[
                types.Worker(function_id=function_id, function_version=version, worker_name=name)
                for name in names
            ]
        )
