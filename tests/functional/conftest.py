"""A real ``qinling-lite-serve`` process (API, engine, local workers) for functional tests.

The database is the backend named by ``QINLING_LITE_TEST_DB`` (SQLite by default).
"""

import contextlib
import os
import subprocess
import sys

import pytest
import requests

from benchmarks import deployments
from benchmarks.deployments import free_port, wait_for
from tests import cli as osc
from tests import db_backends
from tests import keystone as ks
from tests import swift as sw
from tests.packages import HELLO_WORLD, make_zip

SERVE = os.path.join(os.path.dirname(sys.executable), "qinling-lite-serve")


class Client(deployments.Client):
    """The REST API client, with the composite steps tests repeat."""

    def create_function(self, runtime_id, source=HELLO_WORLD, module="hello_world", **fields):
        data = {
            "runtime_id": runtime_id,
            "code": '{"source": "package"}',
            "entry": f"{module}.main",
            **{k: str(v) for k, v in fields.items()},
        }
        package = make_zip({f"{module}.py": source})
        response = self.post("/v1/functions", data=data, files={"package": ("f.zip", package)})
        assert response.status_code == 201, response.text
        return response.json()

    def run(self, function_id, input=None, sync=True):
        body = {"function_id": function_id, "sync": sync}
        if input is not None:
            body["input"] = input
        response = self.post("/v1/executions", json=body)
        assert response.status_code == 201, response.text
        return response.json()


@contextlib.contextmanager
def serving(data_dir, config):
    """Run ``qinling-lite-serve`` on a free port with ``config`` (INI text) and a fresh
    database of the selected backend; yield its description, stop it afterwards."""
    backend = db_backends.selected_backend()
    database = db_backends.create_database(backend)
    conf = data_dir / "qinling-lite.conf"
    conf.write_text(f"[database]\nconnection = {database}\n{config}")
    port = free_port()
    with open(data_dir / "serve.log", "wb") as log:
        process = subprocess.Popen(
            [SERVE, "--config-file", str(conf), "--data-dir", str(data_dir), "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"

    def up():
        if process.poll() is not None:
            raise RuntimeError(f"qinling-lite-serve exited: {(data_dir / 'serve.log').read_text()}")
        try:
            return requests.get(url + "/", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    try:
        assert wait_for(up, timeout=60, interval=0.1), "qinling-lite-serve did not start"
        yield {"url": url, "data_dir": data_dir, "process": process, "database": database}
    finally:
        process.terminate()
        process.wait(timeout=30)
        db_backends.drop_database(database)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """The embedded default on a free port, for the whole session."""
    config = (
        "[local_orchestrator]\npool_size = 2\n"
        "[engine]\npending_sweep_interval = 1\npending_grace = 1\n"
        "[api]\nmax_function_versions = 3\n"
    )
    with serving(tmp_path_factory.mktemp("data"), config) as description:
        yield description


@pytest.fixture(scope="session")
def openstack(request, tmp_path_factory):
    """The ``openstack`` executable; building its venv takes about 40 s the first time."""
    return osc.install(osc.venv_directory(request.config, tmp_path_factory))


@pytest.fixture(scope="session")
def client(server):
    return Client(server["url"])


@pytest.fixture(scope="session")
def runtime(client):
    return client.create_runtime()


@pytest.fixture(scope="session")
def keystone_venv(request, tmp_path_factory):
    """Keystone's own venv, built once (about a minute) and kept, see ``tests.keystone``."""
    return ks.install(ks.venv_directory(request.config, tmp_path_factory))


@pytest.fixture(scope="module")
def keystone(keystone_venv):
    """A real Keystone on a free port of 127.0.0.1, see ``tests.keystone``."""
    with ks.Keystone(keystone_venv) as server:
        yield server


@pytest.fixture(scope="session")
def swift_venv(request, tmp_path_factory):
    """Swift's own venv, built once (about half a minute) and kept, see ``tests.swift``."""
    return sw.install(sw.venv_directory(request.config, tmp_path_factory))


@pytest.fixture(scope="module")
def swift(swift_venv, keystone):
    """A real Swift on 127.0.0.1 in ``keystone``'s catalog, see ``tests.swift``."""
    with sw.Swift(swift_venv, keystone) as server:
        yield server
