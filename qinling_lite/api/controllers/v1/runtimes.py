"""``/v1/runtimes``: worker images and their pools."""

import pecan
from pecan import rest
from wsme import types as wtypes

from qinling_lite.api import errors, params, policy, types
from qinling_lite.db import runtimes as runtimes_db
from qinling_lite.services import runtimes as runtimes_service


class RuntimePoolController(rest.RestController):
    @errors.wsexpose(types.RuntimePool, types.UUID)
    def get_all(self, runtime_id):
        request = pecan.request
        policy.enforce(request.context, "runtime_pool:get_all")
        capacity = runtimes_service.pool_capacity(request.context, request.engine, runtime_id)
        return types.RuntimePool(name=runtime_id, capacity=capacity)


class RuntimesController(rest.RestController):
    pool = RuntimePoolController()

    @errors.wsexpose(types.Runtime, body=types.Runtime, status_code=201)
    def post(self, runtime):
        request = pecan.request
        policy.enforce(request.context, "runtime:create")
        created = runtimes_service.create(request.context, request.engine, runtime.to_values())
        return types.Runtime.from_db(created)

    @errors.wsexpose(types.Runtimes, wtypes.text, wtypes.text, wtypes.text)
    def get_all(self, name=None, image=None, status=None):
        ctx = pecan.request.context
        policy.enforce(ctx, "runtime:get_all")
        filters = params.filters(name=name, image=image, status=status)
        runtimes = runtimes_db.list_all(ctx.scope, filters)
        return types.Runtimes(runtimes=[types.Runtime.from_db(r) for r in runtimes])

    @errors.wsexpose(types.Runtime, types.UUID)
    def get_one(self, id):
        ctx = pecan.request.context
        return types.Runtime.from_db(
            policy.authorize_runtime(ctx, "runtime:get", runtimes_db.get(id, ctx.scope))
        )

    @errors.wsexpose(types.Runtime, types.UUID, body=types.RuntimeUpdate)
    def put(self, id, update):
        request = pecan.request
        policy.enforce(request.context, "runtime:update")
        updated = runtimes_service.update(request.context, request.engine, id, update.to_values())
        return types.Runtime.from_db(updated)

    @errors.wsexpose(None, types.UUID, status_code=204)
    def delete(self, id):
        request = pecan.request
        policy.enforce(request.context, "runtime:delete")
        runtimes_service.delete(request.context, request.engine, id)
