"""Job firing with a controlled clock: each tick once, counts, pauses, missed ticks."""

import datetime
import threading

import pytest
from oslo_utils import timeutils

from qinling_lite import status
from qinling_lite.db import aliases as aliases_db
from qinling_lite.db import executions as executions_db
from qinling_lite.db import functions as functions_db
from qinling_lite.db import jobs as jobs_db
from qinling_lite.db import runtimes as runtimes_db
from qinling_lite.engine import jobs
from tests import db_backends

NOON = datetime.datetime(2026, 11, 22, 12, 0, 0)


@pytest.fixture(autouse=True)
def database(tmp_path):
    with db_backends.migrated_sqlite(tmp_path):
        yield


@pytest.fixture
def clock():
    timeutils.set_time_override(NOON)
    yield lambda **delta: timeutils.set_time_override(NOON + datetime.timedelta(**delta))
    timeutils.clear_time_override()


@pytest.fixture
def function():
    runtime = runtimes_db.create({"image": "python3", "project_id": "p1"})
    return functions_db.create(
        {
            "runtime_id": runtime.id,
            "project_id": "p1",
            "code": {"source": "package", "md5sum": "x"},
            "entry": "a.b",
            "cpu": 100,
            "memory_size": 32 * 1024 * 1024,
            "timeout": 5,
        }
    )


def _job(function, **values):
    defaults = {
        "project_id": "p1",
        "function_id": function.id,
        "status": status.RUNNING,
        "pattern": "*/5 * * * *",
        "next_execution_time": NOON + datetime.timedelta(minutes=5),
        "function_input": '{"name": "cron"}',
    }
    return jobs_db.create({**defaults, **values})


def _scheduler(catch_up="once"):
    fired = []
    return jobs.JobScheduler(fired.append, catch_up, missed_after=60), fired


def test_a_cron_job_fires_at_its_time_and_moves_to_the_next(clock, function):
    job = _job(function)
    scheduler, fired = _scheduler()
    clock(minutes=4)
    scheduler.fire_due()
    assert fired == []

    clock(minutes=5, seconds=1)
    scheduler.fire_due()
    scheduler.fire_due()  # the same tick again: nothing more
    assert len(fired) == 1
    execution = executions_db.get(fired[0])
    assert execution.description == f"Created by Job {job.id}"
    assert (execution.status, execution.sync, execution.input) == (
        status.PENDING,
        False,
        {"name": "cron"},
    )
    assert jobs_db.get(job.id).next_execution_time == NOON + datetime.timedelta(minutes=10)


def test_two_engines_fire_each_tick_once(clock, function):
    _job(function)
    engines = [_scheduler(), _scheduler()]
    fired = []
    for minute in (5, 10, 15):
        clock(minutes=minute, seconds=1)
        barrier = threading.Barrier(len(engines))

        def fire(scheduler, barrier=barrier):
            barrier.wait()
            scheduler.fire_due()

        threads = [threading.Thread(target=fire, args=(s,)) for s, _ in engines]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    for _, ids in engines:
        fired += ids
    assert len(fired) == 3
    assert len(executions_db.list_all(None)) == 3


def test_count_runs_out_and_the_job_is_done(clock, function):
    job = _job(function, count=2)
    scheduler, fired = _scheduler()
    for minute in (5, 10, 15, 20):
        clock(minutes=minute, seconds=1)
        scheduler.fire_due()
    assert len(fired) == 2
    done = jobs_db.get(job.id)
    assert (done.status, done.count) == (status.DONE, 0)


def test_a_one_shot_job_fires_once(clock, function):
    job = _job(function, pattern=None, count=1)
    scheduler, fired = _scheduler()
    clock(minutes=6)
    scheduler.fire_due()
    clock(minutes=20)
    scheduler.fire_due()
    assert len(fired) == 1
    assert jobs_db.get(job.id).status == status.DONE


def test_a_paused_job_does_not_fire(clock, function):
    _job(function, status=status.PAUSED)
    scheduler, fired = _scheduler()
    clock(minutes=30)
    scheduler.fire_due()
    assert fired == []


@pytest.mark.parametrize(("catch_up", "executions"), [("once", 1), ("skip", 0)])
def test_ticks_missed_during_an_outage_never_burst(clock, function, catch_up, executions):
    job = _job(function)
    scheduler, fired = _scheduler(catch_up)
    clock(hours=1, minutes=2)  # twelve ticks came while no engine ran
    scheduler.fire_due()
    scheduler.fire_due()
    assert len(fired) == executions
    next_time = jobs_db.get(job.id).next_execution_time
    assert next_time == NOON + datetime.timedelta(hours=1, minutes=5)


def test_an_alias_is_resolved_at_each_tick(clock, function):
    aliases_db.create(
        {"name": "live", "function_id": function.id, "function_version": 0, "project_id": "p1"}
    )
    _job(function, function_id=None, function_alias="live")
    scheduler, fired = _scheduler()
    clock(minutes=5, seconds=1)
    scheduler.fire_due()
    execution = executions_db.get(fired[0])
    assert (execution.function_id, execution.function_alias) == (function.id, "live")
