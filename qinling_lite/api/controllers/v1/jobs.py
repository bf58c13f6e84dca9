"""``/v1/jobs``: run a function on a cron pattern, or once at a given time."""

import datetime

import pecan
from oslo_utils import timeutils
from pecan import rest
from wsme import types as wtypes

from qinling_lite import exceptions, function_input, schedule, status
from qinling_lite.api import errors, params, policy, types
from qinling_lite.api.controllers.v1 import executions
from qinling_lite.db import api as db_api

# How far ahead a job's (next) execution time must be, as in Qinling.
LEAD_TIME = datetime.timedelta(minutes=1)
USER_STATUSES = (status.RUNNING, status.PAUSED, status.CANCELLED)


def _time(value, name):
    """A time in the future by at least LEAD_TIME, as naive UTC."""
    try:
        parsed = timeutils.normalize_time(timeutils.parse_isotime(value))
    except (ValueError, OverflowError):  # OverflowError: out of range once in UTC
        raise exceptions.InputError(f"Invalid {name}: {value!r}.") from None
    if parsed < timeutils.utcnow() + LEAD_TIME:
        raise exceptions.InputError("Execution time must be at least 1 minute in the future.")
    return parsed


def _schedule(values):
    """``first_execution_time``, ``next_execution_time`` and ``count`` of a new job."""
    pattern, first = values.get("pattern"), values.get("first_execution_time")
    if not (pattern or first):
        raise exceptions.InputError("pattern or first_execution_time must be specified.")
    count = values.get("count")
    if count is not None and count < 1:
        raise exceptions.InputError("count must be at least 1.")
    first = _time(first, "first_execution_time") if first else None
    if not pattern:
        if count not in (None, 1):
            raise exceptions.InputError("A job without a pattern runs once: count must be 1.")
        return {"first_execution_time": first, "next_execution_time": first, "count": 1}
    schedule.validate(pattern)
    start = first - LEAD_TIME if first else timeutils.utcnow()
    next_time = schedule.next_fire(pattern, start)
    return {"first_execution_time": next_time, "next_execution_time": next_time, "count": count}


class JobsController(rest.RestController):
    @errors.wsexpose(types.Job, body=types.Job, status_code=201)
    def post(self, body):
        ctx = pecan.request.context
        values = {k: v for k, v in body.to_values().items() if v is not None}
        if "status" in values or "next_execution_time" in values:
            raise exceptions.InputError("status and next_execution_time are set by the service.")
        function_input.parse(values.get("function_input"))  # refused now, not at a tick
        target, version = executions.resolve_target(ctx, values, "job:create")
        if values.get("function_alias"):
            # Resolved at every tick: the alias may move to another version.
            values.update(function_id=None, function_version=0)
        else:
            values["function_version"] = version
        values.update(_schedule(values), project_id=target.project_id, status=status.RUNNING)
        return types.Job.from_db(db_api.create_job(values))

    @errors.wsexpose(types.Jobs, wtypes.text, wtypes.text)
    def get_all(self, all_projects=None, project_id=None):
        project, filters = params.list_scope(pecan.request.context, "job", all_projects, project_id)
        return types.Jobs(jobs=[types.Job.from_db(j) for j in db_api.list_jobs(project, filters)])

    @errors.wsexpose(types.Job, types.UUID)
    def get_one(self, id):
        ctx = pecan.request.context
        return types.Job.from_db(policy.authorize(ctx, "job:get", db_api.get_job(id, ctx.scope)))

    @errors.wsexpose(types.Job, types.UUID, body=types.Job)
    def put(self, id, body):
        ctx = pecan.request.context
        job = policy.authorize(ctx, "job:update", db_api.get_job(id, ctx.scope))
        given = {k: v for k, v in body.to_values().items() if v is not None}
        changes = {k: given[k] for k in ("name", "function_input") if k in given}
        function_input.parse(changes.get("function_input"))
        if job.status in (status.DONE, status.CANCELLED):
            raise exceptions.InputError("Can not update a finished job.")
        if "pattern" in given and bool(given["pattern"]) != bool(job.pattern):
            raise exceptions.InputError("Can not change job type.")
        new_status = given.get("status", job.status)
        if new_status not in USER_STATUSES:
            raise exceptions.InputError("Invalid status.")
        changes["status"] = new_status
        if given.get("pattern"):
            changes["pattern"] = schedule.validate(given["pattern"])
        if "next_execution_time" in given:
            changes["next_execution_time"] = _time(
                given["next_execution_time"], "next_execution_time"
            )
        elif job.pattern and (
            "pattern" in changes or (job.status == status.PAUSED and new_status == status.RUNNING)
        ):
            changes["next_execution_time"] = schedule.next_fire(
                changes.get("pattern", job.pattern), timeutils.utcnow()
            )
        elif job.status == status.PAUSED and new_status == status.RUNNING:
            _time(types.format_time(job.next_execution_time), "next_execution_time")
        return types.Job.from_db(db_api.update_job(id, changes, job.project_id))

    @errors.wsexpose(None, types.UUID, status_code=204)
    def delete(self, id):
        ctx = pecan.request.context
        job = policy.authorize(ctx, "job:delete", db_api.get_job(id, ctx.scope))
        db_api.delete_job(job.id, job.project_id)
