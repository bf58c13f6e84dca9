"""What the engine counts: finished executions, takeovers, its workers per runtime."""

import datetime

from oslo_utils import timeutils

from qinling_lite import status
from qinling_lite.db import executions as executions_db
from qinling_lite.metrics import definitions
from tests.functional.conftest import wait_for
from tests.unit.engine.test_engine import _function, _pending
from tests.unit.orchestrator.conftest import spec
from tests.unit.orchestrator.test_bindings import Host, package


def sample(name, **labels):
    return definitions.REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_finished_execution_is_counted_by_status_and_trigger(engine, conf):
    runtime, function = _function(conf)
    engine.manager.start_pool(runtime)
    execution = _pending(function, description="Created by Webhook w-1")
    succeeded = sample("qinling_lite_executions_total", status="success", trigger="webhook")
    runs = sample("qinling_lite_execution_run_seconds_count")

    assert engine.manager.create_execution(None, execution.id)["status"] == status.SUCCESS
    after = sample("qinling_lite_executions_total", status="success", trigger="webhook")
    assert after == succeeded + 1
    assert sample("qinling_lite_execution_run_seconds_count") == runs + 1
    counts = engine.orchestrator.worker_counts()[runtime.id]
    assert (counts["idle"], counts["busy"]) == (1, 0)


def test_an_execution_the_engine_could_not_run_is_not_timed(engine, conf):
    runtime, function = _function(conf, runtime_status=status.AVAILABLE)
    execution = _pending(function)
    executions_db.delete(execution.id)  # gone before the claim: nothing is counted
    errors = sample("qinling_lite_executions_total", status="error", trigger="api")
    assert engine.manager.create_execution(None, execution.id) is None
    assert sample("qinling_lite_executions_total", status="error", trigger="api") == errors


def test_only_executions_under_an_expired_lease_are_takeovers(engine, conf, config_fixture):
    config_fixture.config(group="engine", pending_grace=1)
    runtime, function = _function(conf)
    engine.manager.start_pool(runtime)
    orphaned = _pending(function)
    executions_db.claim(orphaned.id, "dead-engine", lease=-1)  # its lease ran out
    lost = _pending(function)  # pending, its dispatch lost: no takeover
    takeovers = sample("qinling_lite_execution_takeovers_total")
    timeutils.set_time_override(timeutils.utcnow() + datetime.timedelta(seconds=2))
    try:
        engine._take_over_stale()
    finally:
        timeutils.clear_time_override()

    def finished():
        return all(executions_db.get(e.id).status == status.SUCCESS for e in (orphaned, lost))

    assert wait_for(finished, timeout=10, interval=0.05)
    assert sample("qinling_lite_execution_takeovers_total") == takeovers + 1


def test_bound_workers_are_counted_per_runtime_idle_or_busy():
    host = Host(cap=3)
    first = host.bindings.acquire(spec(runtime_id="r-1"), package, 1)
    host.bindings.acquire(spec(runtime_id="r-1"), package, 1)
    host.bindings.acquire(spec(function_id="f2", runtime_id="r-2"), package, 1)
    host.bindings.release(first)
    assert host.bindings.counts() == {"r-1": {"idle": 1, "busy": 1}, "r-2": {"idle": 0, "busy": 1}}
