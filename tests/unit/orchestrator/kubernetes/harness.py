"""The fake Kubernetes cluster as tests use it: runtime server processes for its pool
pods, programs standing in for test images, the kubeconfig that points the real client
at it, and strict offline schema validation of what the orchestrator sent.
"""

import contextlib
import functools
import json
import os
import socket
import subprocess
import time

import kubernetes_validate
import pytest
from kubernetes_validate import utils as kubernetes_validate_utils

from qinling_lite.orchestrator.local import sandbox as local_sandbox
from tests import runtime_server

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

# Test images: what the fake kubelet runs for them (Python source, argv = container args).
ECHO = "registry.example/qinling-test/echo:1"
EXIT = "registry.example/qinling-test/exit:1"
SLEEP = "registry.example/qinling-test/sleep:1"
IMAGES = {
    ECHO: "import json, sys\nprint('args:', json.dumps(sys.argv[1:]))\n",
    EXIT: "import sys\nprint('exiting with', sys.argv[1])\nsys.exit(int(sys.argv[1]))\n",
    SLEEP: "import sys, time\nprint('sleeping', flush=True)\ntime.sleep(float(sys.argv[1]))\n",
}


class Launcher:
    """Runs a real runtime server process per fake pod, with the pod's container args."""

    def __init__(self, directory):
        self._directory = directory
        self._processes = {}
        self._command = runtime_server.command(directory, local_sandbox.default_python())

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
            [*self._command, *argv],
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


_VALIDATED = set()  # shapes of the manifests validated in this session
# kubernetes-validate reads and parses its schemas on every call (1.5 MB of definitions
# per version, ~10 ms); they do not change, so each is read once per session.
# tests/unit/orchestrator/kubernetes/test_manifests.py checks that this takes effect.
kubernetes_validate_utils.schema_contents = functools.cache(
    kubernetes_validate_utils.schema_contents
)


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
