"""The engine's execution path with the Kubernetes orchestrator (fake API, real workers)."""

import pytest

from qinling_lite import status
from qinling_lite.db import runtimes as runtimes_db
from qinling_lite.engine import service as engine_service
from tests import db_backends
from tests.unit.engine.test_engine import _function, _pending


@pytest.fixture
def engine(conf, cluster, launcher, tmp_path, config_fixture):
    cluster.launcher = launcher
    config_fixture.config(state_path=str(tmp_path))
    with db_backends.migrated_sqlite(tmp_path):
        service = engine_service.EngineService(conf)
        yield service
        service.stop()


def test_runtime_and_execution_through_pods(engine, conf, cluster):
    runtime, function = _function(conf)
    engine.manager.create_runtime(None, runtime.id)
    assert runtimes_db.get(runtime.id).status == status.AVAILABLE
    assert engine.manager.get_runtime_pool(None, runtime.id) == {"total": 2, "available": 2}

    outcome = engine.manager.create_execution(None, _pending(function, input={"name": "Pod"}).id)
    assert outcome["status"] == status.SUCCESS
    assert outcome["result"]["output"] == "Hello, Pod"
    (pod,) = cluster.pods(selector=f"qinling-lite/function={function.id}")
    assert engine.orchestrator.list_workers(function.id, 0) == [pod["metadata"]["name"]]

    engine.manager.release_function(None, function.id)
    assert engine.orchestrator.list_workers(function.id, 0) == []
    engine.orchestrator.delete_pool(runtime.id)
    assert cluster.pods() == []


def test_a_failed_image_update_keeps_the_runtime_on_its_image(
    engine, conf, cluster, config_fixture
):
    config_fixture.config(group="kubernetes", pool_timeout=0.3)
    cluster.bad_images.add("broken")
    runtime, _ = _function(conf)
    engine.manager.create_runtime(None, runtime.id)
    engine.manager.update_runtime(None, runtime.id, "broken")
    updated = runtimes_db.get(runtime.id)
    assert (updated.status, updated.image) == (status.AVAILABLE, "python3")
    assert "rolled back" in updated.status_reason
