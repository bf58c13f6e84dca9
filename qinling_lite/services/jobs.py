"""Jobs: a function run on a cron pattern or once, with the rules of their schedule.

The API creates and changes jobs here; the engines fire them (``engine.jobs``) with the
execution of a tick built here.
"""

import datetime
from collections.abc import Mapping
from typing import Any

from oslo_log import log as logging
from oslo_utils import timeutils

from qinling_lite import context, exceptions, function_input, schedule, status
from qinling_lite.db import aliases as aliases_db
from qinling_lite.db import jobs as jobs_db
from qinling_lite.db import models
from qinling_lite.services import executions as executions_service

LOG = logging.getLogger(__name__)

# How far ahead a job's (next) execution time must be, as in Qinling.
LEAD_TIME = datetime.timedelta(minutes=1)
# The statuses a caller may set.
USER_STATUSES = (status.RUNNING, status.PAUSED, status.CANCELLED)


def _check_ahead(time: datetime.datetime) -> datetime.datetime:
    if time < timeutils.utcnow() + LEAD_TIME:
        raise exceptions.InputError("Execution time must be at least 1 minute in the future.")
    return time


def _time(value: str, name: str) -> datetime.datetime:
    """An ISO 8601 time at least LEAD_TIME ahead, as naive UTC."""
    try:
        parsed = timeutils.normalize_time(timeutils.parse_isotime(value))
    except (ValueError, OverflowError):  # OverflowError: out of range once in UTC
        raise exceptions.InputError(f"Invalid {name}: {value!r}.") from None
    return _check_ahead(parsed)


def _schedule(values: Mapping[str, Any]) -> dict[str, Any]:
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


def create(
    ctx: context.RequestContext,
    values: Mapping[str, Any],
    authorize: executions_service.Authorize,
) -> models.Job:
    """A running job of the function version ``values`` name (``authorize`` must allow
    it). A job of an alias keeps the alias only: it is resolved at every tick."""
    values = dict(values)
    if "status" in values or "next_execution_time" in values:
        raise exceptions.InputError("status and next_execution_time are set by the service.")
    function_input.parse(values.get("function_input"))  # refused now, not at a tick
    resolved = executions_service.resolve_target(ctx, values, authorize)
    if values.get("function_alias"):
        values.update(function_id=None, function_version=0)
    else:
        values["function_version"] = resolved.version
    values.update(_schedule(values), project_id=resolved.target.project_id, status=status.RUNNING)
    return jobs_db.create(values)


def get(id: str, scope: str | None) -> models.Job:
    return jobs_db.get(id, scope)


def list_all(scope: str | None, filters: Mapping[str, str]) -> list[models.Job]:
    return jobs_db.list_all(scope, filters)


def update(job: models.Job, given: Mapping[str, Any]) -> models.Job:
    """Apply the fields ``given``: a name, an input, a status a caller may set, a new
    pattern (of a cron job) or next execution time. Resuming a cron job moves it to its
    next tick from now; a finished job cannot change."""
    changes = {key: given[key] for key in ("name", "function_input") if key in given}
    function_input.parse(changes.get("function_input"))
    if job.status in (status.DONE, status.CANCELLED):
        raise exceptions.InputError("Can not update a finished job.")
    if "pattern" in given and bool(given["pattern"]) != bool(job.pattern):
        raise exceptions.InputError("Can not change job type.")
    new_status = given.get("status", job.status)
    if new_status not in USER_STATUSES:
        raise exceptions.InputError("Invalid status.")
    changes["status"] = new_status
    resumed = job.status == status.PAUSED and new_status == status.RUNNING
    if given.get("pattern"):
        changes["pattern"] = schedule.validate(given["pattern"])
    if "next_execution_time" in given:
        changes["next_execution_time"] = _time(given["next_execution_time"], "next_execution_time")
    elif job.pattern and ("pattern" in changes or resumed):
        changes["next_execution_time"] = schedule.next_fire(
            changes.get("pattern", job.pattern), timeutils.utcnow()
        )
    elif resumed:
        _check_ahead(job.next_execution_time)
    return jobs_db.update(job.id, changes, job.project_id)


def delete(job: models.Job) -> None:
    jobs_db.delete(job.id, job.project_id)


def tick_execution(job: models.Job) -> dict[str, Any] | None:
    """The execution of one of the job's ticks, its alias resolved now; None if the
    alias is gone (the tick is skipped)."""
    function_id, version = job.function_id, job.function_version
    if job.function_alias:
        try:
            alias = aliases_db.get(job.function_alias, job.project_id)
        except exceptions.NotFound:
            LOG.warning("Job %s: alias %s is gone; tick skipped", job.id, job.function_alias)
            return None
        function_id, version = alias.function_id, alias.function_version
    return {
        "function_id": function_id,
        "function_version": version,
        "function_alias": job.function_alias,
        "project_id": job.project_id,
        "sync": False,
        "input": function_input.parse(job.function_input),
        "description": f"Created by Job {job.id}",
    }
