"""``/v1/runtimes``: worker images and their pools."""

import pecan
from pecan import rest

from qinling_lite import exceptions, status
from qinling_lite.api import errors, policy, types
from qinling_lite.db import api as db_api


class RuntimePoolController(rest.RestController):
    @errors.wsexpose(types.RuntimePool, types.UUID)
    def get_all(self, runtime_id):
        request = pecan.request
        policy.enforce(request.context, "runtime_pool:get_all")
        db_api.get_runtime(runtime_id, request.context.scope)
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
        created = db_api.create_runtime(
            {**values, "project_id": ctx.project_id, "status": status.CREATING}
        )
        pecan.request.engine.create_runtime(ctx, created.id)
        return types.Runtime.from_db(created)

    @errors.wsexpose(types.Runtimes)
    def get_all(self):
        ctx = pecan.request.context
        policy.enforce(ctx, "runtime:get_all")
        runtimes = db_api.list_runtimes(ctx.scope)
        return types.Runtimes(runtimes=[types.Runtime.from_db(r) for r in runtimes])

    @errors.wsexpose(types.Runtime, types.UUID)
    def get_one(self, id):
        ctx = pecan.request.context
        return types.Runtime.from_db(
            policy.authorize(ctx, "runtime:get", db_api.get_runtime(id, ctx.scope))
        )

    @errors.wsexpose(types.Runtime, types.UUID, body=types.RuntimeUpdate)
    def put(self, id, update):
        ctx = pecan.request.context
        policy.enforce(ctx, "runtime:update")
        values = update.to_values()
        runtime = db_api.get_runtime(id, ctx.scope)
        image = values.pop("image", runtime.image)
        if image != runtime.image:
            if runtime.status != status.AVAILABLE:
                raise exceptions.RuntimeNotAvailable(id)
            values["status"] = status.UPGRADING
        updated = db_api.update_runtime(id, values)
        if image != runtime.image:
            # The engines roll the workers; the row takes the new image when they have.
            try:
                pecan.request.engine.update_runtime(ctx, id, image)
            except exceptions.EngineUnavailable:
                db_api.update_runtime_status(id, status.AVAILABLE)
                raise
        return types.Runtime.from_db(updated)

    @errors.wsexpose(None, types.UUID, status_code=204)
    def delete(self, id):
        policy.enforce(pecan.request.context, "runtime:delete")
        db_api.get_runtime(id, pecan.request.context.scope)
        db_api.mark_runtime_deleting(id)
        pecan.request.engine.delete_runtime(pecan.request.context, id)
