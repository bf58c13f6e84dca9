"""``/v1/runtimes``: worker images and their pools."""

import pecan
from pecan import rest

from qinling_lite import exceptions, status
from qinling_lite.api import errors, policy, types
from qinling_lite.db import runtimes as runtimes_db


class RuntimePoolController(rest.RestController):
    @errors.wsexpose(types.RuntimePool, types.UUID)
    def get_all(self, runtime_id):
        request = pecan.request
        policy.enforce(request.context, "runtime_pool:get_all")
        runtimes_db.get(runtime_id, request.context.scope)
        capacity = request.engine.get_runtime_pool(request.context, runtime_id)
        return types.RuntimePool(name=runtime_id, capacity=capacity)


class RuntimesController(rest.RestController):
    pool = RuntimePoolController()

    @errors.wsexpose(types.Runtime, body=types.Runtime, status_code=201)
    def post(self, runtime):
        policy.enforce(pecan.request.context, "runtime:create")
        values = runtime.to_values()
        if not values.get("image"):
            raise exceptions.InputError("Required param is missing. Required: {'image'}")
        ctx = pecan.request.context
        created = runtimes_db.create(
            {**values, "project_id": ctx.project_id, "status": status.CREATING}
        )
        pecan.request.engine.create_runtime(ctx, created.id)
        return types.Runtime.from_db(created)

    @errors.wsexpose(types.Runtimes)
    def get_all(self):
        ctx = pecan.request.context
        policy.enforce(ctx, "runtime:get_all")
        runtimes = runtimes_db.list_all(ctx.scope)
        return types.Runtimes(runtimes=[types.Runtime.from_db(r) for r in runtimes])

    @errors.wsexpose(types.Runtime, types.UUID)
    def get_one(self, id):
        ctx = pecan.request.context
        return types.Runtime.from_db(
            policy.authorize(ctx, "runtime:get", runtimes_db.get(id, ctx.scope))
        )

    @errors.wsexpose(types.Runtime, types.UUID, body=types.RuntimeUpdate)
    def put(self, id, update):
        ctx = pecan.request.context
        policy.enforce(ctx, "runtime:update")
        values = update.to_values()
        runtime = runtimes_db.get(id, ctx.scope)
        image = values.pop("image", runtime.image)
        if image != runtime.image:
            if runtime.status != status.AVAILABLE:
                raise exceptions.RuntimeNotAvailable(id)
            values["status"] = status.UPGRADING
        updated = runtimes_db.update(id, values)
        if image != runtime.image:
            # The engines roll the workers; the row takes the new image when they have.
            try:
                pecan.request.engine.update_runtime(ctx, id, image)
            except exceptions.EngineUnavailable:
                runtimes_db.update_status(id, status.AVAILABLE)
                raise
        return types.Runtime.from_db(updated)

    @errors.wsexpose(None, types.UUID, status_code=204)
    def delete(self, id):
        policy.enforce(pecan.request.context, "runtime:delete")
        runtimes_db.get(id, pecan.request.context.scope)
        runtimes_db.mark_deleting(id)
        pecan.request.engine.delete_runtime(pecan.request.context, id)
