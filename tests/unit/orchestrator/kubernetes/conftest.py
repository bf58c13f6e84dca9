"""Fixtures: Kubernetes orchestrators on the fake cluster of ``tests/unit/conftest.py``."""

import pytest

from qinling_lite import config, orchestrator

CONF = config.CONF


@pytest.fixture
def conf(kubernetes_conf):
    """CONF for a Kubernetes orchestrator talking to the fake API server."""
    return kubernetes_conf


@pytest.fixture
def make_orchestrator(conf):
    """Build orchestrators (``make(host)`` names the engine); stopped at the end."""
    built = []

    def make(host="engine-1"):
        CONF.set_override("host", host, "engine")
        try:
            built.append(orchestrator.load(conf))
        finally:
            CONF.clear_override("host", "engine")
        return built[-1]

    yield make
    for orch in built:
        orch.stop()
