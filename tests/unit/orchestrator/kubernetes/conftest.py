"""Fixtures: Kubernetes orchestrators on the fake cluster of ``tests/unit/conftest.py``."""

import pytest

from qinling_lite import orchestrator


@pytest.fixture
def conf(kubernetes_conf):
    """CONF for a Kubernetes orchestrator talking to the fake API server."""
    return kubernetes_conf


@pytest.fixture
def make_orchestrator(conf, config_fixture):
    """Build orchestrators (``make(host)`` names the engine); stopped at the end."""
    built = []

    def make(host="engine-1"):
        config_fixture.config(group="engine", host=host)  # read when an orchestrator is built
        built.append(orchestrator.load(conf))
        return built[-1]

    yield make
    for orch in built:
        orch.stop()
