"""An engine over a real database and package store, on the orchestrator a test's
``conf`` parameter names (both by default)."""

import pytest

from qinling_lite.engine import service as engine_service
from tests import db_backends


@pytest.fixture(params=["local", "kubernetes"])
def conf(request, tmp_path, config_fixture):
    """CONF for an engine on the orchestrator named by the parameter, with pools of one
    pre-warmed worker."""
    if request.param == "kubernetes":
        request.getfixturevalue("kubernetes_conf")
        request.getfixturevalue("cluster").launcher = request.getfixturevalue("launcher")
    config_fixture.config(state_path=str(tmp_path))
    config_fixture.config(group="local_orchestrator", pool_size=1)
    config_fixture.config(group="kubernetes", replicas=1)
    return config_fixture.conf


@pytest.fixture
def database(conf, tmp_path):
    with db_backends.migrated_sqlite(tmp_path):
        yield


@pytest.fixture
def engine(conf, database):
    service = engine_service.EngineService(conf)
    yield service
    service.stop()
