"""The engine over a real database and package store, on each orchestrator.

The tests that run executions run on the local orchestrator and on the Kubernetes one
(the fake cluster of ``tests/unit/conftest.py``, whose pods run real runtime servers):
both are held to one contract.
"""

import io
import threading
import time
import zipfile

import pytest

from qinling_lite import exceptions, function_input, status, storage
from qinling_lite.db import executions as executions_db
from qinling_lite.db import functions as functions_db
from qinling_lite.db import runtimes as runtimes_db
from qinling_lite.engine import executions, manager, periodic, retries
from qinling_lite.engine import service as engine_service
from qinling_lite.rpc import engine_api
from qinling_lite.runtime import protocol
from tests.unit.orchestrator.kubernetes import harness

HELLO = (
    "def main(name='World', **kwargs):\n"
    "    print('hello from', name)\n"
    "    return 'Hello, %s' % name\n"
)


local_only = pytest.mark.parametrize("conf", ["local"], indirect=True)
kubernetes_only = pytest.mark.parametrize("conf", ["kubernetes"], indirect=True)


def _function(conf, source=HELLO, runtime_status=status.AVAILABLE):
    runtime = runtimes_db.create({"image": "python3", "project_id": "p1", "status": runtime_status})
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("hello.py", source)
    package.seek(0)
    function_id = "11111111-2222-3333-4444-555555555555"
    md5 = storage.load(conf).store("p1", function_id, package)
    return runtime, functions_db.create(
        {
            "id": function_id,
            "project_id": "p1",
            "runtime_id": runtime.id,
            "code": {"source": "package", "md5sum": md5},
            "entry": "hello.main",
            "cpu": 100,
            "memory_size": 32 * 1024 * 1024,
            "timeout": 5,
        }
    )


def _image_function(image, timeout=5):
    return functions_db.create(
        {
            "project_id": "p1",
            "code": {"source": "image", "image": image},
            "cpu": 100,
            "memory_size": 32 * 1024 * 1024,
            "timeout": timeout,
        }
    )


def _pending(function, **values):
    return executions_db.create(
        {"function_id": function.id, "project_id": function.project_id, **values}
    )


def test_create_runtime_makes_it_available(engine):
    runtime = runtimes_db.create({"image": "python3", "project_id": "p1"})
    engine.manager.create_runtime(None, runtime.id)
    assert runtimes_db.get(runtime.id).status == status.AVAILABLE
    assert engine.manager.get_runtime_pool(None, runtime.id) == {"total": 1, "available": 1}


@local_only
def test_an_engine_whose_workers_cannot_start_says_why_at_once(conf, database, config_fixture):
    config_fixture.config(group="local_orchestrator", python="/nonexistent/python3")
    with pytest.raises(exceptions.OrchestratorError, match="/nonexistent/python3"):
        engine_service.EngineService(conf)


def test_run_records_one_outcome(engine, conf):
    runtime, function = _function(conf)
    engine.manager.start_pool(runtime)
    execution = _pending(function, input={"name": "Engine"})

    outcome = engine.manager.create_execution(None, execution.id)
    assert outcome["status"] == status.SUCCESS
    assert outcome["result"]["output"] == "Hello, Engine"

    stored = executions_db.get(execution.id)
    assert stored.status == status.SUCCESS
    assert stored.result == outcome["result"]
    assert "hello from Engine" in stored.logs
    assert functions_db.get(function.id).count == 1
    # Anyone asking again (a re-dispatch, another engine) runs nothing.
    assert engine.manager.create_execution(None, execution.id) is None
    assert functions_db.get(function.id).count == 1


def test_concurrent_dispatches_of_one_execution_run_it_once(engine, conf):
    runtime, function = _function(conf)
    engine.manager.start_pool(runtime)
    execution = _pending(function)
    results = []
    threads = [
        threading.Thread(
            target=lambda: results.append(engine.manager.create_execution(None, execution.id))
        )
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r is None for r in results) == [False, True, True, True]


def test_an_execution_of_a_deleted_function_ends_in_error(engine, conf):
    runtime, function = _function(conf)
    execution = _pending(function, function_id="99999999-2222-3333-4444-555555555555")
    outcome = engine.manager.create_execution(None, execution.id)
    assert outcome["status"] == status.ERROR
    assert outcome["result"]["output"].startswith("Function not found")
    assert executions_db.get(execution.id).status == status.ERROR


def test_the_answer_is_the_outcome_as_recorded(engine, conf):
    """What the API builds a sync answer from without reading the row back."""
    runtime, function = _function(conf)
    engine.manager.start_pool(runtime)
    execution = _pending(function)
    outcome = engine.manager.create_execution(None, execution.id)
    stored = executions_db.get(execution.id)
    assert outcome == {
        "status": stored.status,
        "result": stored.result,
        "updated_at": stored.updated_at.isoformat(),
    }


def test_a_missing_package_ends_in_error(engine, conf):
    runtime, function = _function(conf)
    engine.manager.start_pool(runtime)
    storage.load(conf).delete_all(function.project_id, function.id)
    outcome = engine.manager.create_execution(None, _pending(function).id)
    assert outcome["status"] == status.ERROR
    assert outcome["result"]["output"].startswith("Package not found")


def test_runner_failure_of_the_function_is_failed_not_error(engine, conf):
    runtime, function = _function(conf, source="def main(**kwargs):\n    raise KeyError('k')\n")
    engine.manager.start_pool(runtime)
    runner = executions.ExecutionRunner(
        engine.orchestrator,
        storage.load(conf),
        worker_wait=5,
        engine_id="e-2",
        lease=30,
        retry_policy=retries.Policy(conf),
    )
    outcome = runner.run(_pending(function).id)
    assert outcome["status"] == status.FAILED
    assert outcome["result"]["output"] == "'k'"


def test_release_function_drops_its_warm_workers(engine, conf):
    runtime, function = _function(conf)
    engine.manager.start_pool(runtime)
    engine.manager.create_execution(None, _pending(function).id)
    assert engine.orchestrator.list_workers(function.id, 0)
    engine.manager.release_function(None, function.id)
    assert engine.orchestrator.list_workers(function.id, 0) == []


@kubernetes_only
def test_an_image_function_runs_once_per_execution_with_its_input_as_arguments(engine, cluster):
    echo = _image_function(harness.ECHO)
    for raw, args in [("a 'b c'", '["a", "b c"]'), ('{"name": "x"}', '["{\\"name\\": \\"x\\"}"]')]:
        execution = _pending(echo, input=function_input.parse(raw))
        outcome = engine.manager.create_execution(None, execution.id)
        assert outcome["status"] == status.SUCCESS
        assert outcome["result"]["output"] is None
        assert executions_db.get(execution.id).logs == f"args: {args}\n"
    assert functions_db.get(echo.id).count == 2

    failing = _pending(_image_function(harness.EXIT), input="7")
    outcome = engine.manager.create_execution(None, failing.id)
    assert (outcome["status"], outcome["result"]["output"]) == (status.FAILED, "Exit code 7.")

    slow = _pending(_image_function(harness.SLEEP, timeout=1), input="30")
    outcome = engine.manager.create_execution(None, slow.id)
    assert outcome["status"] == status.FAILED
    assert outcome["result"] == {"duration": 1, "output": "Function execution timeout."}

    missing = _pending(_image_function("registry.example/qinling-test/missing:1"))
    outcome = engine.manager.create_execution(None, missing.id)
    assert outcome["status"] == status.ERROR
    assert "ErrImagePull" in outcome["result"]["output"]
    assert cluster.pods() == []


def test_an_image_function_input_that_is_no_argument_list_ends_in_error(engine):
    execution = _pending(_image_function(harness.ECHO), input="'open")
    outcome = engine.manager.create_execution(None, execution.id)
    assert outcome["status"] == status.ERROR
    assert outcome["result"]["output"].startswith("The input is not a valid argument list")


@local_only
def test_the_local_orchestrator_refuses_image_functions(engine):
    outcome = engine.manager.create_execution(None, _pending(_image_function(harness.ECHO)).id)
    assert outcome["status"] == status.ERROR
    assert "need the Kubernetes orchestrator" in outcome["result"]["output"]


def test_image_functions_have_no_workers_to_scale(engine):
    function = _image_function(harness.ECHO)
    with pytest.raises(exceptions.NotAllowed, match="runs an image"):
        engine.manager.scale_up_function(None, function.id, 0, 1)
    engine.manager.release_function(None, function.id)
    assert engine.manager.get_function_workers(None, function.id, 0) == []


def test_delete_runtime_removes_pool_and_row(engine):
    runtime = runtimes_db.create({"image": "python3", "project_id": "p1"})
    engine.manager.create_runtime(None, runtime.id)
    engine.manager.delete_runtime(None, runtime.id)
    assert engine.manager.get_runtime_pool(None, runtime.id) == {"total": 0, "available": 0}
    assert runtimes_db.list_all() == []


def test_manager_declares_the_rpc_target():
    assert manager.EngineManager.target.version == engine_api.RPC_API_VERSION


def test_periodic_task_repeats_survives_errors_and_stops():
    calls = []

    def tick():
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise RuntimeError("first tick fails")

    task = periodic.PeriodicTask(0.01, tick)
    task.start()
    deadline = time.monotonic() + 5
    while len(calls) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    task.stop()
    stopped_at = len(calls)
    time.sleep(0.05)
    assert stopped_at >= 3
    assert len(calls) == stopped_at


TOO_LARGE = protocol.OUTPUT_TOO_LARGE


def test_an_output_over_the_configured_cap_fails_and_is_not_kept(conf, database, config_fixture):
    """The cap of ``[resource_limits] max_result_size`` reaches the worker with each
    execution: the runtime server refuses the output, on either orchestrator."""
    config_fixture.config(group="resource_limits", max_result_size=2048)
    service = engine_service.EngineService(conf)
    try:
        source = "def main(size, **kwargs):\n    return 'x' * size\n"
        runtime, function = _function(conf, source=source)
        service.manager.start_pool(runtime)
        for size, expected in [
            (2046, (status.SUCCESS, "x" * 2046)),
            (2047, (status.FAILED, TOO_LARGE % (2049, 2048))),
        ]:
            execution = _pending(function, input={"size": size})
            outcome = service.manager.create_execution(None, execution.id)
            assert (outcome["status"], outcome["result"]["output"]) == expected
            assert executions_db.get(execution.id).result["output"] == expected[1]
    finally:
        service.stop()


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ({"success": True, "output": "x" * 98}, (status.SUCCESS, "x" * 98)),
        ({"success": True, "output": "x" * 99}, (status.FAILED, TOO_LARGE % (101, 100))),
        ({"success": False, "output": ["\u00e9"] * 10}, (status.FAILED, ["\u00e9"] * 10)),
        ({"success": True, "output": ["\u00e9"] * 11}, (status.FAILED, TOO_LARGE % (110, 100))),
    ],
)
def test_the_engine_keeps_no_output_over_the_cap_whatever_the_worker_says(reply, expected):
    """A runtime server of an older release does not cap outputs: the engine does."""
    outcome, result, logs = executions._outcome({**reply, "duration": 0.5, "logs": "l"}, 100)
    assert (outcome, result["output"]) == expected
    assert (result["duration"], logs) == (0.5, "l")


@kubernetes_only
def test_an_image_function_s_output_is_capped_too(engine, conf):
    runner = executions.ExecutionRunner(
        engine.orchestrator,
        storage.load(conf),
        worker_wait=5,
        engine_id="e-2",
        lease=30,
        retry_policy=retries.Policy(conf),
        max_result_size=8,
    )
    outcome = runner.run(_pending(_image_function(harness.EXIT), input="7").id)
    assert outcome["status"] == status.FAILED
    assert outcome["result"]["output"] == TOO_LARGE % (len('"Exit code 7."'), 8)
