"""``qinling-lite-engine``'s own metrics port."""

import socket
import types
import urllib.request

import pytest

from qinling_lite.cmd import engine as engine_cmd
from tests import db_backends


class FakeEngine:
    def __init__(self):
        self.orchestrator = types.SimpleNamespace(worker_counts=lambda: {"r-1": {"busy": 1}})
        self.stopped = False

    def stop(self):
        self.stopped = True


@pytest.fixture
def empty_database(tmp_path):
    with db_backends.migrated_sqlite(tmp_path):
        yield


def test_an_engine_serves_its_workers_on_its_port(config_fixture, empty_database):
    config_fixture.config(group="metrics", enabled=True, engine_port=0)
    server = engine_cmd._serve_metrics(config_fixture.conf, FakeEngine())
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/metrics"
        with urllib.request.urlopen(url, timeout=5) as answer:
            text = answer.read().decode()
    finally:
        server.shutdown()
        server.server_close()
    assert 'qinling_lite_workers{runtime="r-1",state="busy"} 1.0' in text
    assert "qinling_lite_executions_waiting 0.0" in text
    assert "qinling_lite_execution_takeovers_total" in text


def test_an_engine_whose_port_is_taken_says_so(config_fixture):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        config_fixture.config(group="metrics", engine_port=taken.getsockname()[1])
        engine = FakeEngine()
        with pytest.raises(SystemExit, match=r"\[metrics\] 127.0.0.1:\d+"):
            engine_cmd._serve_metrics(config_fixture.conf, engine)
    assert engine.stopped
