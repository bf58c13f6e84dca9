"""Runtime server processes, and a worker's outside, for the tests of the runtime server."""

import pytest

from qinling_lite.runtime.egress_forwarder import EgressForwarder
from tests.unit.runtime.fake_egress import EchoService, FakeEgress
from tests.unit.runtime.test_server import ServerProcess

# The endpoint that tunnels may reach: a name, as in a real catalog.
ALLOWED = ("swift.example", 8080)


@pytest.fixture
def start_worker(tmp_path):
    """``start_worker(*args, pass_fds=())``: a new runtime server process with these
    options; each must stop cleanly and print nothing."""
    workers = []

    def start(*extra_args, pass_fds=()):
        workers.append(ServerProcess(tmp_path, *extra_args, pass_fds=pass_fds))
        return workers[-1]

    yield start
    for worker in workers:
        assert worker.stop() == 0
        assert worker.stderr_path.read_bytes() == b""


@pytest.fixture
def worker(start_worker):
    """A runtime server process with the default options."""
    return start_worker()


@pytest.fixture
def echo():
    service = EchoService()
    yield service
    service.close()


@pytest.fixture
def egress(echo):
    """The egress proxy's end of a channel: tunnels to ALLOWED only, which is ``echo``."""
    peer = FakeEgress({ALLOWED: ("127.0.0.1", echo.port)})
    yield peer
    peer.close()


@pytest.fixture
def forwarder(egress):
    forwarder = EgressForwarder(egress.worker_end)
    yield forwarder
    forwarder.close()


@pytest.fixture
def proxy_env(forwarder, monkeypatch):
    """The standard proxy settings point at ``forwarder``, as the runtime server sets
    them."""
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, forwarder.url)
    return forwarder
