"""The runtimes and function workers services on SQLite, with a recording engine."""

import pytest

from qinling_lite import exceptions, status
from qinling_lite.db import functions as functions_db
from qinling_lite.db import runtimes as runtimes_db
from qinling_lite.services import function_workers as workers_service
from qinling_lite.services import runtimes as runtimes_service
from tests.unit.services import fakes, rows


def _available(**values):
    return runtimes_db.create(
        {"image": "python3", "project_id": rows.P1, "status": status.AVAILABLE, **values}
    )


def test_a_new_runtime_is_creating_until_an_engine_built_its_pool():
    engine = fakes.Engine()
    with pytest.raises(exceptions.InputError, match="Required: {'image'}"):
        runtimes_service.create(rows.admin(), engine, {"name": "python"})
    runtime = runtimes_service.create(rows.admin(), engine, {"image": "python3"})
    assert (runtime.status, runtime.project_id) == (status.CREATING, "admin")
    assert engine.calls == [("create_runtime", runtime.id)]


def test_a_new_image_rolls_the_workers_and_waits_for_them():
    runtime = _available()
    engine = fakes.Engine()
    updated = runtimes_service.update(rows.admin(), engine, runtime.id, {"image": "python3.12"})
    assert (updated.status, updated.image) == (status.UPGRADING, "python3")
    assert engine.calls == [("update_runtime", runtime.id, "python3.12")]

    with pytest.raises(exceptions.RuntimeNotAvailable):
        runtimes_service.update(rows.admin(), engine, runtime.id, {"image": "python3.13"})
    renamed = runtimes_service.update(rows.admin(), engine, runtime.id, {"name": "py"})
    assert (renamed.name, len(engine.calls)) == ("py", 1)


def test_an_image_update_no_engine_hears_of_leaves_the_runtime_available():
    runtime = _available()
    with pytest.raises(exceptions.EngineUnavailable):
        runtimes_service.update(
            rows.admin(), fakes.Engine(unavailable=True), runtime.id, {"image": "python3.12"}
        )
    assert runtimes_db.get(runtime.id).status == status.AVAILABLE


def test_a_runtime_in_use_is_not_deleted():
    function = rows.function()
    engine = fakes.Engine()
    with pytest.raises(exceptions.NotAllowed, match="still in use"):
        runtimes_service.delete(rows.admin(), engine, function.runtime_id)
    assert engine.calls == []

    functions_db.delete(function.id)
    runtimes_service.delete(rows.admin(), engine, function.runtime_id)
    assert runtimes_db.get(function.runtime_id).status == status.DELETING
    assert engine.calls == [("delete_runtime", function.runtime_id)]


def test_another_projects_private_runtime_is_not_found():
    private = _available(is_public=False)
    engine = fakes.Engine()
    with pytest.raises(exceptions.NotFound):
        runtimes_service.pool_capacity(rows.caller(rows.P2), engine, private.id)
    assert runtimes_service.pool_capacity(rows.caller(rows.P1), engine, private.id) == {
        "total": 2,
        "available": 1,
    }


def test_worker_calls_reach_the_engine_for_a_function_the_caller_may_use():
    function = rows.function()
    engine = fakes.Engine(workers=["worker-1"])
    caller = rows.caller()

    workers_service.detach(caller, engine, function.id, 0, rows.Authorizer())
    workers_service.scale_up(caller, engine, function.id, 0, 2, rows.Authorizer())
    workers_service.scale_down(caller, engine, function.id, 0, 1, rows.Authorizer())
    names = workers_service.list_names(caller, engine, function.id, 0, rows.Authorizer())

    assert names == ["worker-1"]
    assert engine.calls == [
        ("release_function", function.id, 0),
        ("scale_up_function", function.id, 0, 2),
        ("scale_down_function", function.id, 0, 1),
        ("get_function_workers", function.id, 0),
    ]


def test_worker_calls_are_refused_before_the_engine_hears_of_them():
    function = rows.function()
    engine = fakes.Engine()
    with pytest.raises(exceptions.NotAllowed):
        workers_service.detach(rows.caller(), engine, function.id, 0, rows.Authorizer(False))
    with pytest.raises(exceptions.NotFound):  # no such version
        workers_service.scale_up(rows.caller(), engine, function.id, 3, 1, rows.Authorizer())
    with pytest.raises(exceptions.NotFound):  # another project's function
        workers_service.detach(rows.caller(rows.P2), engine, function.id, 0, rows.Authorizer())

    image = functions_db.create(
        {
            "project_id": rows.P1,
            "code": {"source": "image", "image": "registry.example/fn:1"},
            "cpu": 100,
            "memory_size": 32 * 1024 * 1024,
            "timeout": 5,
        }
    )
    with pytest.raises(exceptions.InputError, match="no workers to scale"):
        workers_service.scale_up(rows.caller(), engine, image.id, 0, 1, rows.Authorizer())
    assert engine.calls == []
