"""The runtime server's own log (its stderr) names each execution that came with the
request id of an API request, and only a well-formed id."""

import pytest

from tests.unit.runtime.test_server import ServerProcess, loaded

REQUEST_ID = "req-0f5d2f6a-3c3e-4a8b-9a53-1b2c3d4e5f60"


@pytest.fixture
def server(tmp_path):
    process = ServerProcess(tmp_path)
    yield process
    assert process.stop() == 0


def test_an_execution_with_a_request_id_is_logged(server):
    loaded(server, "def main(context, **kwargs):\n    print('from the function')\n")
    server.execute(execution_id="e-1", context={"request_id": REQUEST_ID})
    server.execute(execution_id="e-2", context={})  # run by a sweep: no request
    server.execute(execution_id="e-3", context={"request_id": "req-x\nforged line"})
    assert server.stop() == 0
    (line,) = server.stderr_path.read_text().splitlines()
    assert line.endswith(f" Running execution e-1 request_id={REQUEST_ID}")
