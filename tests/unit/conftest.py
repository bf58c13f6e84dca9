"""Fixtures of a fake Kubernetes cluster, for the orchestrator's and the engine's tests.

The real ``kubernetes`` client talks to a fake API server over HTTP; every object it sent
is validated at teardown with kubernetes-validate, strict and offline.
"""

import shutil
import tempfile

import pytest

from qinling_lite import config
from tests.unit.orchestrator.kubernetes import fake_api, harness

CONF = config.CONF


@pytest.fixture
def launcher():
    directory = tempfile.mkdtemp(prefix="ql-k8s-")
    runner = harness.Launcher(directory)
    yield runner
    runner.stop_all()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def cluster(launcher):
    """A FakeCluster that runs the test images, and runtime servers for its pool pods
    only if the test sets ``cluster.launcher = launcher``.

    It outlives the orchestrators (whose pod deletions start replacements) and the
    launcher outlives it.
    """
    fake = fake_api.FakeCluster(images=harness.IMAGES)
    yield fake
    fake.close()
    for kind, manifest in fake.sent:
        harness.validate(kind, manifest)


@pytest.fixture
def kubernetes_conf(cluster, tmp_path):
    """CONF for a Kubernetes orchestrator talking to the fake API server."""
    api = fake_api.FakeApiServer(cluster)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(harness.KUBECONFIG.format(url=api.url))
    overrides = {
        "kubeconfig": str(kubeconfig),
        "replicas": 2,
        "poll_interval": 0.01,
        "pool_timeout": 2,
        "load_timeout": 10,
        "max_workers_per_function": 3,
    }
    for name, value in overrides.items():
        CONF.set_override(name, value, "kubernetes")
    CONF.set_override("orchestrator", "kubernetes", "engine")
    yield CONF
    for name in overrides:
        CONF.clear_override(name, "kubernetes")
    CONF.clear_override("orchestrator", "engine")
    api.close()
