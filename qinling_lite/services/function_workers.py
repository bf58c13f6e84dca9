"""Admin operations on the warm workers of a function version: detach, scale, list.

``authorize(target)`` is the caller's policy check on the function found (its
``project_id``); it raises to refuse.
"""

from qinling_lite import context, exceptions
from qinling_lite.db import executions as executions_db
from qinling_lite.rpc import engine_api
from qinling_lite.services import executions as executions_service


def _target(
    ctx: context.RequestContext,
    function_id: str,
    version: int,
    authorize: executions_service.Authorize,
    scaled: bool = False,
) -> executions_db.ExecutionTarget:
    """The function (version), which the caller may act on.

    ``scaled``: the call adds or removes workers, which an image function (no runtime: a
    pod per execution) does not have.
    """
    target = executions_db.get_target(function_id, ctx.scope, version)
    authorize(target)
    if scaled and target.runtime_id is None:
        raise exceptions.InputError(
            f"Function {function_id} runs its image once per execution: it has no workers to scale."
        )
    return target


def detach(
    ctx: context.RequestContext,
    engine: engine_api.EngineClient,
    function_id: str,
    version: int,
    authorize: executions_service.Authorize,
) -> None:
    """Release every warm worker of the function version (they restart cold)."""
    _target(ctx, function_id, version, authorize)
    engine.release_function(ctx, function_id, version)


def scale_up(
    ctx: context.RequestContext,
    engine: engine_api.EngineClient,
    function_id: str,
    version: int,
    count: int,
    authorize: executions_service.Authorize,
) -> None:
    _target(ctx, function_id, version, authorize, scaled=True)
    engine.scale_up_function(ctx, function_id, version, count)


def scale_down(
    ctx: context.RequestContext,
    engine: engine_api.EngineClient,
    function_id: str,
    version: int,
    count: int,
    authorize: executions_service.Authorize,
) -> None:
    _target(ctx, function_id, version, authorize, scaled=True)
    engine.scale_down_function(ctx, function_id, version, count)


def list_names(
    ctx: context.RequestContext,
    engine: engine_api.EngineClient,
    function_id: str,
    version: int,
    authorize: executions_service.Authorize,
) -> list[str]:
    """Names of the function version's workers."""
    _target(ctx, function_id, version, authorize)
    return engine.get_function_workers(ctx, function_id, version)
