"""Fixtures: the real kubernetes client against a fake API server, manifests validated.

Every object the orchestrator sends is validated at teardown with kubernetes-validate,
strict and offline, against the oldest and a recent supported Kubernetes version.
"""

import contextlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

import kubernetes_validate
import pytest

from qinling_lite import config, orchestrator
from qinling_lite.orchestrator.local import sandbox as local_sandbox
from qinling_lite.runtime import server
from tests.unit.orchestrator.kubernetes import fake_api

CONF = config.CONF
KUBERNETES_VERSIONS = ["1.30", "1.35"]
KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster: {{server: "{url}"}}
users:
- name: engine
  user: {{token: fake-token}}
contexts:
- name: fake
  context: {{cluster: fake, user: engine}}
current-context: fake
"""


class Launcher:
    """Runs a real runtime server process per fake pod, with the pod's container args."""

    def __init__(self, directory):
        self._directory = directory
        self._processes = {}

    def start(self, name, args):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        values = {
            "--host": "127.0.0.1",
            "--port": str(port),
            "--workdir": os.path.join(self._directory, name),
        }
        argv = list(args)
        for index, option in enumerate(args[:-1]):
            argv[index + 1] = values.get(option, argv[index + 1])
        process = subprocess.Popen(
            [local_sandbox.default_python(), "-I", "-S", server.__file__, *argv],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._processes[name] = process
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)):
                return port
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"runtime server of pod {name} did not start")
            time.sleep(0.005)

    def stop(self, name):
        process = self._processes.pop(name, None)
        if process:
            process.kill()
            process.wait()

    def running(self):
        return set(self._processes)

    def stop_all(self):
        for name in list(self._processes):
            self.stop(name)


@pytest.fixture
def launcher():
    directory = tempfile.mkdtemp(prefix="ql-k8s-")
    runner = Launcher(directory)
    yield runner
    runner.stop_all()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def cluster(launcher):
    """A FakeCluster, without processes unless the test sets ``cluster.launcher = launcher``.

    It outlives the orchestrators (whose pod deletions start replacements) and the
    launcher outlives it.
    """
    fake = fake_api.FakeCluster()
    yield fake
    for kind, manifest in fake.sent:
        validate(kind, manifest)


_VALIDATED = set()  # shapes of the manifests validated in this session


def validate(kind, manifest):
    """Validate ``manifest``, strict, for every version in KUBERNETES_VERSIONS.

    Manifests differing only in metadata strings (names, versions, label values) have
    the same shape and are validated once per session: validation takes ~80 ms.
    """
    shape = json.dumps(_shape(manifest), sort_keys=True)
    if shape in _VALIDATED:
        return
    for version in KUBERNETES_VERSIONS:
        try:
            kubernetes_validate.validate(manifest, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{kind} manifest invalid for {version}: {exc.message} at {exc.path}")
    _VALIDATED.add(shape)


def _shape(manifest):
    metadata = {
        key: {name: "" for name in value} if isinstance(value, dict) else type(value).__name__
        for key, value in manifest.get("metadata", {}).items()
    }
    return {**manifest, "metadata": metadata}


@pytest.fixture
def conf(cluster, tmp_path):
    """CONF for a Kubernetes orchestrator talking to the fake API server."""
    api = fake_api.FakeApiServer(cluster)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG.format(url=api.url))
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
