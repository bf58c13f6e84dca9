"""The runtime server protocol client, against a real runtime server and a scripted one."""

import json
import os
import shutil
import socketserver
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from qinling_lite import exceptions
from qinling_lite.orchestrator import worker_client
from qinling_lite.orchestrator.local import sandbox
from tests.unit.orchestrator.conftest import HELLO_WORLD, make_zip, payload, spec, wait_for

IDLE_TIMEOUT = 0.2


@pytest.fixture
def socket_dir():
    path = tempfile.mkdtemp(prefix="ql-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def server(socket_dir):
    """A real runtime server closing idle connections after IDLE_TIMEOUT; its socket path."""
    path = os.path.join(socket_dir, "s")
    args = ["--unix-socket", path, "--workdir", os.path.join(socket_dir, "work")]
    process = subprocess.Popen(
        [sys.executable, "-I", "-S", str(sandbox.SERVER), *args, "--idle-timeout", "0.2"]
    )
    assert wait_for(lambda: os.path.exists(path))
    yield path
    process.kill()
    process.wait()


def test_ping_load_execute(server):
    client = worker_client.WorkerClient(server, IDLE_TIMEOUT)
    assert client.ping(5) == {"status": "ok", "function_id": None, "version": None}
    package = make_zip({"hello_world.py": HELLO_WORLD})
    assert client.load(spec(), package, 5) == {"loaded": True, "error": None}
    answer = client.execute(payload(name="client"), 5)
    assert (answer["success"], answer["output"]) == (True, "Hello, client")
    client.close()


@pytest.mark.parametrize("believed_idle_timeout", [IDLE_TIMEOUT, 60])
def test_requests_after_the_server_closed_an_idle_connection(server, believed_idle_timeout):
    """Known idle timeout: reconnect ahead of it; unknown: notice the closed connection."""
    client = worker_client.WorkerClient(server, believed_idle_timeout)
    client.ping(5)
    time.sleep(IDLE_TIMEOUT * 2)
    assert client.load(spec(), make_zip({"hello_world.py": HELLO_WORLD}), 5)["loaded"]
    time.sleep(IDLE_TIMEOUT * 2)
    assert client.execute(payload(), 5)["output"] == "Hello, World"
    client.close()


def test_refused_answer_is_a_worker_error(server):
    client = worker_client.WorkerClient(server, IDLE_TIMEOUT)
    with pytest.raises(exceptions.WorkerError, match="HTTP 400"):
        client.load(spec(), b"not a zip", 5)
    client.close()


def test_no_server_is_a_worker_error(socket_dir):
    client = worker_client.WorkerClient(os.path.join(socket_dir, "s"), IDLE_TIMEOUT)
    with pytest.raises(exceptions.WorkerError, match="FileNotFoundError"):
        client.ping(5)


class ScriptedServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """Reads HTTP requests and does what ``script`` says for each, in order.

    ``ok``: answer 200 JSON; ``drop``: close without answering; ``hang``: never answer;
    ``text``: answer 200 that is not JSON; ``error``: answer 500.
    """

    daemon_threads = True

    def __init__(self, path, script):
        self.script = list(script)
        self.received = []
        self.release = threading.Event()
        super().__init__(path, _ScriptedHandler)


class _ScriptedHandler(socketserver.StreamRequestHandler):
    def handle(self):
        while request_line := self.rfile.readline():
            length = 0
            while (header := self.rfile.readline()) not in (b"\r\n", b""):
                name, _, value = header.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            self.rfile.read(length)
            self.server.received.append(" ".join(request_line.decode().split()[:2]))
            action = self.server.script.pop(0)
            if action == "drop":
                return
            if action == "hang":
                self.server.release.wait()
                return
            status, body = {
                "ok": (200, json.dumps({"status": "ok"}).encode()),
                "text": (200, b"<html>"),
                "error": (500, b'{"error": "boom"}'),
            }[action]
            self.wfile.write(
                b"HTTP/1.1 %d X\r\nContent-Length: %d\r\n\r\n%s" % (status, len(body), body)
            )


@pytest.fixture
def scripted(socket_dir):
    """``scripted(*actions)``: a ScriptedServer and a client of it."""
    servers, clients = [], []

    def start(*script):
        server = ScriptedServer(os.path.join(socket_dir, "s"), script)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        clients.append(worker_client.WorkerClient(server.server_address, 60))
        return server, clients[-1]

    yield start
    for server, client in zip(servers, clients, strict=True):
        client.close()
        server.release.set()
        server.shutdown()
        server.server_close()


def test_an_execution_is_never_sent_twice(scripted):
    server, client = scripted("ok", "drop", "ok")
    client.ping(5)
    with pytest.raises(exceptions.WorkerError, match="/execute"):
        client.execute(payload(), 5)
    assert server.received == ["GET /ping", "POST /execute"]


def test_ping_is_retried_once_on_a_dropped_connection(scripted):
    server, client = scripted("ok", "drop", "ok", "drop", "drop")
    client.ping(5)
    assert client.ping(5) == {"status": "ok"}
    with pytest.raises(exceptions.WorkerError):
        client.ping(5)
    assert server.received == ["GET /ping"] * 5


@pytest.mark.parametrize(
    ("action", "message"),
    [("text", "HTTP 200: <html>"), ("error", "HTTP 500"), ("hang", "did not answer")],
)
def test_bad_answers_are_worker_errors(scripted, action, message):
    server, client = scripted(action)
    with pytest.raises(exceptions.WorkerError, match=message):
        client.execute(payload(), 0.3)
