"""``/v1/jobs``: run a function on a cron pattern, or once at a given time."""

import functools

import pecan
from pecan import rest
from wsme import types as wtypes

from qinling_lite.api import errors, params, policy, types
from qinling_lite.services import jobs as jobs_service


def _given(body):
    """The fields a body sets: null means not given."""
    return {k: v for k, v in body.to_values().items() if v is not None}


class JobsController(rest.RestController):
    @errors.wsexpose(types.Job, body=types.Job, status_code=201)
    def post(self, body):
        ctx = pecan.request.context
        authorize = functools.partial(policy.authorize, ctx, "job:create")
        return types.Job.from_db(jobs_service.create(ctx, _given(body), authorize))

    @errors.wsexpose(types.Jobs, *[wtypes.text] * 5)
    def get_all(self, all_projects=None, project_id=None, name=None, status=None, function_id=None):
        project, filters = params.list_scope(pecan.request.context, "job", all_projects, project_id)
        filters.update(params.filters(name=name, status=status, function_id=function_id))
        jobs = jobs_service.list_all(project, filters)
        return types.Jobs(jobs=[types.Job.from_db(j) for j in jobs])

    @errors.wsexpose(types.Job, types.UUID)
    def get_one(self, id):
        ctx = pecan.request.context
        job = policy.authorize(ctx, "job:get", jobs_service.get(id, ctx.scope))
        return types.Job.from_db(job)

    @errors.wsexpose(types.Job, types.UUID, body=types.Job)
    def put(self, id, body):
        ctx = pecan.request.context
        job = policy.authorize(ctx, "job:update", jobs_service.get(id, ctx.scope))
        return types.Job.from_db(jobs_service.update(job, _given(body)))

    @errors.wsexpose(None, types.UUID, status_code=204)
    def delete(self, id):
        ctx = pecan.request.context
        job = jobs_service.get(id, ctx.scope)
        jobs_service.delete(policy.authorize(ctx, "job:delete", job))
