"""The jobs service on SQLite with a fixed clock: schedules, updates, a tick's execution."""

import datetime

import pytest
from oslo_utils import timeutils

from qinling_lite import exceptions, status
from qinling_lite.services import jobs as jobs_service
from tests.unit.services import rows

NOON = datetime.datetime(2026, 11, 22, 12, 0, 0)


@pytest.fixture(autouse=True)
def clock():
    timeutils.set_time_override(NOON)
    yield
    timeutils.clear_time_override()


def _create(function, ctx=None, **values):
    return jobs_service.create(
        ctx or rows.caller(function.project_id),
        {"function_id": function.id, **values},
        rows.Authorizer(),
    )


def test_a_cron_job_starts_at_its_next_tick():
    job = _create(rows.function(), pattern="*/5 * * * *", function_input='{"a": 1}')
    assert (job.status, job.count) == (status.RUNNING, None)
    assert (
        job.next_execution_time == job.first_execution_time == NOON + datetime.timedelta(minutes=5)
    )


def test_a_one_shot_job_runs_once_at_its_time():
    job = _create(rows.function(), first_execution_time="2026-11-22T13:00:00Z")
    assert (job.count, job.next_execution_time) == (1, NOON + datetime.timedelta(hours=1))


@pytest.mark.parametrize(
    "values, message",
    [
        ({}, "pattern or first_execution_time must be specified"),
        ({"pattern": "* * * *"}, "pattern is not valid"),
        ({"pattern": "*/5 * * * *", "count": 0}, "count must be at least 1"),
        ({"first_execution_time": "2026-11-22T12:00:30Z"}, "at least 1 minute in the future"),
        ({"first_execution_time": "soon"}, "Invalid first_execution_time"),
        ({"first_execution_time": "2026-11-22T13:00:00Z", "count": 2}, "count must be 1"),
        ({"pattern": "*/5 * * * *", "status": "paused"}, "set by the service"),
    ],
)
def test_bad_schedules_are_refused(values, message):
    with pytest.raises(exceptions.InputError, match=message):
        _create(rows.function(), **values)


def test_another_projects_function_or_alias_cannot_be_scheduled():
    victim = rows.function(rows.P1)
    rows.alias("prod", victim)
    for fields in ({"function_id": victim.id}, {"function_alias": "prod"}):
        with pytest.raises(exceptions.NotFound):
            jobs_service.create(
                rows.caller(rows.P2), {**fields, "pattern": "* * * * *"}, rows.Authorizer()
            )


def test_pausing_and_resuming_moves_a_cron_job_to_its_next_tick_from_now():
    job = _create(rows.function(), pattern="0 * * * *")
    paused = jobs_service.update(job, {"status": status.PAUSED})
    timeutils.set_time_override(NOON + datetime.timedelta(hours=5, minutes=30))
    resumed = jobs_service.update(paused, {"status": status.RUNNING})
    assert resumed.next_execution_time == NOON + datetime.timedelta(hours=6)


def test_finished_jobs_and_type_changes_are_refused():
    cron = _create(rows.function(), pattern="0 * * * *")
    with pytest.raises(exceptions.InputError, match="job type"):
        jobs_service.update(cron, {"pattern": ""})
    with pytest.raises(exceptions.InputError, match="Invalid status"):
        jobs_service.update(cron, {"status": status.DONE})
    cancelled = jobs_service.update(cron, {"status": status.CANCELLED})
    with pytest.raises(exceptions.InputError, match="finished job"):
        jobs_service.update(cancelled, {"name": "again"})


def test_a_ticks_execution_resolves_the_alias_then_or_skips_the_tick():
    function = rows.function()
    rows.alias("prod", function)
    job = _create(function, function_alias="prod", pattern="* * * * *", function_input="text")
    assert job.function_id is None
    assert jobs_service.tick_execution(job) == {
        "function_id": function.id,
        "function_version": 0,
        "function_alias": "prod",
        "project_id": rows.P1,
        "sync": False,
        "input": "text",
        "description": f"Created by Job {job.id}",
    }
    job.function_alias = "gone"
    assert jobs_service.tick_execution(job) is None
