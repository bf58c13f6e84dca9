"""Attacks on a real ``qinling-lite-serve``: hostile functions, anonymous webhook callers
and hostile tenants, each asserting the defence (see ``doc/source/security.rst``)."""

import pytest

from tests.functional.conftest import Client, serving
from tests.security.hostile import ECHO


@pytest.fixture(scope="module")
def server_config():
    """The configuration (INI text) of a module's server; a module may override it."""
    return "[local_orchestrator]\npool_size = 1\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory, server_config):
    """The embedded default on a free port, for one module of attacks."""
    with serving(tmp_path_factory.mktemp("data"), server_config) as description:
        yield description


@pytest.fixture(scope="module")
def client(server):
    return Client(server["url"])


@pytest.fixture(scope="module")
def runtime(client):
    return client.create_runtime()


@pytest.fixture
def no_traceback_logged(server):
    """Whatever a test sends, the service log gains no traceback and no error."""
    log = server["data_dir"] / "serve.log"
    start = log.stat().st_size
    yield
    with open(log, "rb") as stream:
        stream.seek(start)
        added = stream.read().decode("utf-8", "replace")
    assert "Traceback" not in added, added
    assert " ERROR " not in added, added


@pytest.fixture(scope="module")
def target(client, runtime):
    """One of each resource for the attacks to aim at: a function with a version, the
    alias ``stable``, an anonymous webhook and a job that does not fire in the tests."""
    function = client.create_function(runtime["id"], source=ECHO, module="echo")
    fid = function["id"]
    assert client.post(f"/v1/functions/{fid}/versions", json={}).status_code == 201
    alias = client.post("/v1/aliases", json={"name": "stable", "function_id": fid})
    webhook = client.post("/v1/webhooks", json={"function_id": fid})
    job = client.post("/v1/jobs", json={"function_id": fid, "pattern": "0 0 1 1 *", "count": 3})
    for created in (alias, webhook, job):
        assert created.status_code == 201, created.text
    return {
        "runtime": runtime["id"],
        "function": fid,
        "webhook": webhook.json()["id"],
        "job": job.json()["id"],
    }
