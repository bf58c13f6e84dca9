"""Attacks on a real ``qinling-lite-serve``: hostile functions, anonymous webhook callers
and hostile tenants, each asserting the defence (see ``doc/source/security.rst``)."""

import pytest

from tests.functional.conftest import Client, serving


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The embedded default on a free port, for one module of attacks."""
    config = "[local_orchestrator]\npool_size = 1\n"
    with serving(tmp_path_factory.mktemp("data"), config) as description:
        yield description


@pytest.fixture(scope="module")
def client(server):
    return Client(server["url"])


@pytest.fixture(scope="module")
def runtime(client):
    return client.create_runtime()
