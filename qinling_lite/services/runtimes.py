"""Runtimes: worker images whose pools the engines build, roll and remove."""

from collections.abc import Mapping
from typing import Any

from qinling_lite import context, exceptions, status
from qinling_lite.db import models
from qinling_lite.db import runtimes as runtimes_db
from qinling_lite.rpc import engine_api


def create(
    ctx: context.RequestContext, engine: engine_api.EngineClient, values: Mapping[str, Any]
) -> models.Runtime:
    """A new runtime, ``creating`` until an engine has built its pool."""
    if not values.get("image"):
        raise exceptions.InputError("Required param is missing. Required: {'image'}")
    runtime = runtimes_db.create(
        {**values, "project_id": ctx.project_id, "status": status.CREATING}
    )
    engine.create_runtime(ctx, runtime.id)
    return runtime


def update(
    ctx: context.RequestContext,
    engine: engine_api.EngineClient,
    runtime_id: str,
    values: Mapping[str, Any],
) -> models.Runtime:
    """Change a runtime. A new image is ``upgrading`` while the engines roll the workers
    to it (the row takes the image when they have); only an available runtime may get
    one. A null image changes nothing (a runtime always has one)."""
    changes = dict(values)
    runtime = runtimes_db.get(runtime_id, ctx.scope)
    image = changes.pop("image", None) or runtime.image
    if image != runtime.image:
        if runtime.status != status.AVAILABLE:
            raise exceptions.RuntimeNotAvailable(runtime_id)
        changes["status"] = status.UPGRADING
    updated = runtimes_db.update(runtime_id, changes)
    if image != runtime.image:
        try:
            engine.update_runtime(ctx, runtime_id, image)
        except exceptions.EngineUnavailable:
            runtimes_db.update_status(runtime_id, status.AVAILABLE)
            raise
    return updated


def delete(ctx: context.RequestContext, engine: engine_api.EngineClient, runtime_id: str) -> None:
    """Mark a runtime no function uses ``deleting``; the engines then remove its pool
    and the row."""
    runtimes_db.get(runtime_id, ctx.scope)
    runtimes_db.mark_deleting(runtime_id)
    engine.delete_runtime(ctx, runtime_id)


def pool_capacity(
    ctx: context.RequestContext, engine: engine_api.EngineClient, runtime_id: str
) -> dict[str, int]:
    """The capacity of the runtime's worker pool, as an engine reports it."""
    runtimes_db.get(runtime_id, ctx.scope)
    return engine.get_runtime_pool(ctx, runtime_id)
