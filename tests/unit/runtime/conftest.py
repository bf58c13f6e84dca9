"""Runtime server processes for the tests of the runtime server."""

import pytest

from tests.unit.runtime.test_server import ServerProcess


@pytest.fixture
def start_worker(tmp_path):
    """``start_worker(*args)``: a new runtime server process with these options; each
    must stop cleanly and print nothing."""
    workers = []

    def start(*extra_args):
        workers.append(ServerProcess(tmp_path, *extra_args))
        return workers[-1]

    yield start
    for worker in workers:
        assert worker.stop() == 0
        assert worker.stderr_path.read_bytes() == b""


@pytest.fixture
def worker(start_worker):
    """A runtime server process with the default options."""
    return start_worker()
